"""Dependency rules, checked by import-linter.

The static contracts live in pyproject ([tool.importlinter]). The ones that name services
are built here from the tree, so a new ``services/<name>`` is covered by construction:

* every service reaches another only through that one's gRPC client (``*.client``), never
  its tables, stores or queries (an independence contract over all of them);
* only the composition root (``runtime``, and the CLI that starts it) imports concrete
  adapters: every service and every kernel package is forbidden them;
* the kernel (every package under ``faramesh_cloud/`` that is not the runtime, the CLI or
  the simulator) depends on no service, nor on the runtime or the CLI.

Services live in services/<name> but install as faramesh_cloud.<name>; import-linter walks
the file system, so the test assembles the installed layout in a temp dir first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOT_KERNEL = {"runtime", "cli", "simulator"}
CONCRETE_ADAPTERS = [
    "faramesh_cloud.log.postgres", "faramesh_cloud.log.kafka", "faramesh_cloud.log.kafka_common",
    "faramesh_cloud.log.kafka_consumer", "faramesh_cloud.log.kafka_offsets", "faramesh_cloud.log.kafka_registry",
    "faramesh_cloud.log.memory", "faramesh_cloud.olap.chdb", "faramesh_cloud.olap.clickhouse",
    "faramesh_cloud.sql.embedded", "faramesh_cloud.blobstore.files", "faramesh_cloud.blobstore.s3",
    "faramesh_cloud.directory.postgres", "faramesh_cloud.directory.memory",
]


def services() -> list[str]:
    return sorted(d.name for d in (ROOT / "services").iterdir() if (d / "__init__.py").is_file())


def kernel() -> list[str]:
    return sorted(d.name for d in (ROOT / "faramesh_cloud").iterdir()
                  if (d / "__init__.py").is_file() and d.name not in NOT_KERNEL)


def generated_contracts() -> list[dict[str, Any]]:
    svc = [f"faramesh_cloud.{name}" for name in services()]
    core = [f"faramesh_cloud.{name}" for name in kernel()]
    return [
        {"name": "Services reach each other only through their gRPC clients, never their tables",
         "type": "independence", "modules": svc, "unmatched_ignore_imports_alerting": "none",
         "ignore_imports": ["faramesh_cloud.* -> faramesh_cloud.*.client"]},
        {"name": "Only the composition root imports concrete adapters", "type": "forbidden",
         "source_modules": sorted(set(svc + core) - {"faramesh_cloud.log", "faramesh_cloud.olap",
                                                      "faramesh_cloud.sql"}),
         "forbidden_modules": CONCRETE_ADAPTERS},
        {"name": "The kernel does not depend on services, the runtime or the CLI", "type": "forbidden",
         "source_modules": core,
         "forbidden_modules": [*svc, "faramesh_cloud.runtime", "faramesh_cloud.cli"]},
    ]


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def config_text() -> str:
    static = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[tool.importlinter]"]
    lines += [f"{k} = {_toml(v)}" for k, v in static.items() if k != "contracts"]
    for contract in [*static["contracts"], *generated_contracts()]:
        lines.append("\n[[tool.importlinter.contracts]]")
        lines += [f"{k} = {_toml(v)}" for k, v in contract.items()]
    return "\n".join(lines) + "\n"


def assemble(target: Path) -> Path:
    package = target / "faramesh_cloud"
    shutil.copytree(ROOT / "faramesh_cloud", package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in services():
        shutil.copytree(ROOT / "services" / name, package / name, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_every_service_and_kernel_package_is_in_the_generated_contracts() -> None:
    contracts = {c["name"]: c for c in generated_contracts()}
    independent = contracts["Services reach each other only through their gRPC clients, never their tables"]
    assert independent["modules"] == [f"faramesh_cloud.{s}" for s in services()]
    assert {"faramesh_cloud.gateway", "faramesh_cloud.audit_index", "faramesh_cloud.notifications"} <= set(
        independent["modules"])
    assert "faramesh_cloud.outbox" in contracts["The kernel does not depend on services, the runtime or the CLI"][
        "source_modules"]


def test_import_linter_contracts_hold(tmp_path: Path) -> None:
    tree = assemble(tmp_path / "tree")
    config = tmp_path / "importlinter.toml"
    config.write_text(config_text())
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency: pip install -e '.[test]'"
    result = subprocess.run(
        [lint, str(config), "--no-cache"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


# One writer per table: a service's tables are those its migrations create; SQL anywhere else
# (another service, the kernel, the runtime) that names one of them is a violation.
_CREATES = re.compile(r"CREATE (?:TABLE|VIEW)(?: IF NOT EXISTS)?\s+([a-z_][a-z0-9_]*)", re.I)


def owned_tables() -> dict[str, str]:
    owned: dict[str, str] = {}
    for name in services():
        for sql in sorted((ROOT / "services" / name).rglob("*.sql")):
            for match in _CREATES.finditer(sql.read_text()):
                owned.setdefault(match.group(1).lower(), name)
    return owned


# A table named after one of these keywords; the name is captured in a lookahead, so the
# next keyword is searched for right after the whitespace ("TABLE FROM t" names "from" and "t").
_NAMING = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE)\s+(?=(\w+))", re.I)


def tables_named(text: str) -> set[str]:
    """Every word that follows FROM, JOIN, INTO, UPDATE, TABLE or TRUNCATE in ``text``, lower-cased
    (one pass over the text, however many tables there are)."""
    return {m.group(1).lower() for m in _NAMING.finditer(text)}


def test_no_module_touches_another_services_tables() -> None:
    owned = owned_tables()
    assert owned["approvals"] == "approvals" and owned["audit_alerts"] == "audit_index"
    assert "audit_alerts" in tables_named("SELECT 1 FROM audit_alerts WHERE ...")  # the check can fire
    assert tables_named("select 1 from Audit_Alerts a join approvals_x b") == {"audit_alerts", "approvals_x"}
    found = []
    for path in [*(ROOT / "faramesh_cloud").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        rel = path.relative_to(ROOT)
        mine = rel.parts[1] if rel.parts[0] == "services" else None
        named = tables_named(path.read_text())
        found += [f"{rel}: {table} (owned by {owner})" for table, owner in owned.items()
                  if owner != mine and table in named]
    assert found == []


def test_every_topic_is_in_the_architectures_table_of_writers_and_readers() -> None:
    """ARCHITECTURE.md "Topics: who writes, who reads" has one row per topic of the catalogue,
    and none for a topic that no longer exists (a newcomer reads the table, not the code)."""
    from faramesh_cloud.events.topics import DEFAULT_PARTITIONS

    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split("## Topics: who writes, who reads", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_.0-9]+)` \| ([^|]+) \|", section, re.M)}
    assert set(rows) == set(DEFAULT_PARTITIONS), (
        f"missing: {sorted(set(DEFAULT_PARTITIONS) - set(rows))}, stale: {sorted(set(rows) - set(DEFAULT_PARTITIONS))}")
    assert all(writer.strip() for writer in rows.values())


def test_every_internal_grpc_service_is_in_the_architectures_table() -> None:
    """Each gRPC service under proto/faramesh_cloud_api/<service>/v1 but the public sync API
    has its row (served by, port index, callers) in ARCHITECTURE.md "Internal APIs"."""
    declared = {f"faramesh_cloud_api.{proto.parts[-3]}.v1.{name}"
                for proto in (ROOT / "proto" / "faramesh_cloud_api").glob("*/v1/*.proto")
                if proto.parts[-3] != "sync"
                for name in re.findall(r"^service (\w+) \{", proto.read_text(), re.M)}
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split("## Internal APIs", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(faramesh_cloud_api\.[\w.]+)` \|", section, re.M))
    assert declared and declared == listed, f"missing: {sorted(declared - listed)}, stale: {sorted(listed - declared)}"
