"""Dependency rules (pyproject [tool.importlinter]) hold, checked by import-linter.

Services live in services/<name> but install as faramesh_cloud.<name>; import-linter walks
the file system, so the test assembles the installed layout in a temp dir first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def assemble(target: Path) -> Path:
    package = target / "faramesh_cloud"
    shutil.copytree(ROOT / "faramesh_cloud", package, ignore=shutil.ignore_patterns("__pycache__"))
    for service in sorted((ROOT / "services").iterdir()):
        if (service / "__init__.py").is_file():
            shutil.copytree(service, package / service.name, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_import_linter_contracts_hold(tmp_path: Path) -> None:
    tree = assemble(tmp_path)
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency: pip install -e '.[test]'"
    result = subprocess.run(
        [lint, str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
