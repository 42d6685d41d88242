"""The Dockerfile builds the image the chart runs. No container engine exists on the test
machines, so it is not built here; these checks keep it and the chart from drifting apart:
the user the chart runs as, the data dir the chart mounts, the entry point its command
assumes, and every source tree the package's setup.py installs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.chart import of_kind, rendered_set, values_of

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(name + " ")]


def test_the_image_runs_as_the_user_the_chart_requires() -> None:
    pod = values_of(("values.yaml",))["podSecurityContext"]
    assert _instructions("USER") == [f"{pod['runAsUser']}:{pod['runAsGroup']}"]


def test_the_image_data_dir_is_the_one_the_chart_mounts() -> None:
    (config,) = of_kind(rendered_set("default"), "ConfigMap")
    data_dir = config["data"]["FARAMESH_CLOUD_DATA_DIR"]
    (env,) = _instructions("ENV")
    assert f"FARAMESH_CLOUD_DATA_DIR={data_dir}" in env.split()
    for deployment in of_kind(rendered_set("default"), "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert data_dir in {m["mountPath"] for m in container["volumeMounts"]}
        assert container["command"][:2] == ["faramesh-cloud", "serve"]


def test_the_image_copies_every_tree_the_package_installs() -> None:
    copied = {part.rstrip("/").removeprefix("./") for line in _instructions("COPY") for part in line.split()[:-1]}
    setup = (ROOT / "setup.py").read_text()
    needed = {"faramesh_cloud", "services", "pyproject.toml", "setup.py", "README.md"}
    needed |= {m.split("/")[0] for m in re.findall(r'"(gen/python)/', setup)}
    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not needed & set(ignored)
