"""The probes a `serve` process answers (runtime/health.py): what /livez and /readyz say for
each phase of the process and state of its services (the HTTP side, on a real `serve`
process: tests/integration/test_serve_health.py)."""

from __future__ import annotations

import pytest

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.runtime.health import Health, health_server
from faramesh_cloud.runtime.service import ServiceInfo


class _Running:
    """A service as the runtime sees it: a name and the state its info() reports."""

    def __init__(self, name: str, state: str = "running") -> None:
        self.name, self.state = name, state

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def info(self) -> ServiceInfo:
        return ServiceInfo(self.name, "role", "address", self.state)


def _ask(health: Health, path: str) -> tuple[int, dict[str, object]]:
    return {"/livez": health.live, "/readyz": health.ready}[path]()


def test_ready_only_while_running_with_every_service_running() -> None:
    services: list[_Running] = []
    health = Health(services)  # type: ignore[arg-type]
    assert _ask(health, "/readyz") == (503, {"status": "starting", "services": {}})
    assert _ask(health, "/livez") == (200, {"status": "alive", "services": {}})
    services.append(_Running("audit-index", "starting"))
    health.phase = "running"
    assert (_ask(health, "/readyz"))[0] == 503  # a service still starting
    services[0].state = "running"
    assert _ask(health, "/readyz") == (200, {"status": "ready", "services": {"audit-index": "running"}})
    health.phase = "stopping"
    assert _ask(health, "/readyz") == (503, {"status": "stopping", "services": {"audit-index": "running"}})


def test_a_failed_service_fails_both_probes() -> None:
    health = Health([_Running("approvals", "failed: relay died")])  # type: ignore[list-item]
    health.phase = "running"
    assert _ask(health, "/livez") == (503, {"status": "failed", "services": {"approvals": "failed: relay died"}})
    assert (_ask(health, "/readyz"))[0] == 503


def test_health_port_setting() -> None:
    assert Settings.load(env={}).health_port == 8090
    assert health_server(Settings.load(env={"FARAMESH_CLOUD_HEALTH_PORT": "0"}), Health([])) is None
    with pytest.raises(ConfigError, match="health_port=70000 is not a TCP port"):
        Settings.load(env={"FARAMESH_CLOUD_HEALTH_PORT": "70000"})
