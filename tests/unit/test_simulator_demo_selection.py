"""`up` runs the demo fleet only when asked (`--demo`); `serve` can still name it."""

from __future__ import annotations

from faramesh_cloud.config import Settings
from faramesh_cloud.runtime.services import SERVICES, enabled_services


def test_up_runs_the_demo_fleet_only_with_demo() -> None:
    assert "demo" in SERVICES
    assert "demo" not in enabled_services(Settings(demo=False))
    with_demo = enabled_services(Settings(demo=True))
    assert with_demo[-1] == "demo" or with_demo.index("demo") > with_demo.index("gateway")
    assert set(with_demo) - set(enabled_services(Settings(demo=False))) == {"demo"}
