"""Where internal APIs listen and where callers dial them: one index per service in
``INTERNAL_APIS``, a bind host apart from the advertised host, and a per-service advertised
address (``FARAMESH_CLOUD_<SERVICE>_ADDRESS``) so distributed mode can put each service
behind its own name. The runtime's wiring uses exactly these (approvals, fleet)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from faramesh_cloud.config import INTERNAL_APIS, ConfigError, Settings, address_setting

README = Path(__file__).resolve().parents[2] / "README.md"
INTERNAL_TLS_DOC = Path(__file__).resolve().parents[2] / "docs" / "internal-tls.md"


def test_every_service_has_its_own_port_and_its_own_address_setting() -> None:
    assert INTERNAL_APIS["approvals"] == 0  # as before: ingest's DaemonControl clients dial base + 0
    assert sorted(INTERNAL_APIS.values()) == list(range(len(INTERNAL_APIS)))  # one port each, no gaps
    assert {"approvals", "fleet", "audit-index", "notifications", "compliance", "registry"} <= set(INTERNAL_APIS)
    fields = {f.name for f in dataclasses.fields(Settings)}
    for service in INTERNAL_APIS:
        assert address_setting(service) in fields, service
    assert address_setting("audit-index") == "audit_index_address"


def test_by_default_a_service_binds_and_is_dialled_on_the_internal_host() -> None:
    settings = Settings.load(env={})
    for service, index in INTERNAL_APIS.items():
        expected = f"127.0.0.1:{8450 + index}"
        assert settings.internal_bind_address(service) == settings.internal_dial_address(service) == expected
    moved = Settings.load(env={"FARAMESH_CLOUD_INTERNAL_HOST": "10.0.0.7",
                               "FARAMESH_CLOUD_INTERNAL_BASE_PORT": "61000"})
    assert moved.internal_bind_address("fleet") == moved.internal_dial_address("fleet") == "10.0.0.7:61001"


def test_bind_and_advertised_addresses_are_set_apart() -> None:
    settings = Settings.load(env={
        "FARAMESH_CLOUD_INTERNAL_BIND_HOST": "0.0.0.0",
        "FARAMESH_CLOUD_INTERNAL_HOST": "cloud.internal",
        "FARAMESH_CLOUD_FLEET_ADDRESS": "fleet.cloud.svc:7001",
        "FARAMESH_CLOUD_AUDIT_INDEX_ADDRESS": "[fd00::5]:7002",
    })
    assert settings.internal_bind_address("fleet") == "0.0.0.0:8451"  # where this process listens
    assert settings.internal_dial_address("fleet") == "fleet.cloud.svc:7001"  # where callers reach it
    assert settings.internal_dial_address("audit-index") == "[fd00::5]:7002"
    assert settings.internal_dial_address("approvals") == "cloud.internal:8450"  # not overridden
    v6 = Settings.load(env={"FARAMESH_CLOUD_INTERNAL_BIND_HOST": "::"})
    assert v6.internal_bind_address("approvals") == "[::]:8450"


@pytest.mark.parametrize(("env", "says"), [
    ({"FARAMESH_CLOUD_FLEET_ADDRESS": "fleet.internal"}, "fleet_address='fleet.internal' is not an address to dial"),
    ({"FARAMESH_CLOUD_APPROVALS_ADDRESS": "approvals:port"}, "write host:port"),
    ({"FARAMESH_CLOUD_REGISTRY_ADDRESS": ":7000"}, "registry_address"),
    ({"FARAMESH_CLOUD_FLEET_ADDRESS": "fleet:70000"}, "not an address to dial"),
    ({"FARAMESH_CLOUD_INTERNAL_BASE_PORT": "65534"}, "leaves no room for the internal APIs"),
])
def test_bad_addresses_are_refused_with_what_to_write(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace("(", r"\(")):
        Settings.load(env=env)


def test_a_service_without_an_internal_api_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'gateway' has no internal API; the services that do: approvals, fleet"):
        Settings().internal_dial_address("gateway")


def test_the_runtime_binds_and_dials_with_these_settings(tmp_path: Path) -> None:
    from faramesh_cloud.runtime import approvals_wiring, fleet_wiring, notifications_wiring

    settings = Settings.load(env={"FARAMESH_CLOUD_INTERNAL_BIND_HOST": "0.0.0.0",
                                  "FARAMESH_CLOUD_APPROVALS_ADDRESS": "approvals.svc:9000",
                                  "FARAMESH_CLOUD_FLEET_ADDRESS": "fleet.svc:9001",
                                  "FARAMESH_CLOUD_NOTIFICATIONS_ADDRESS": "notifications.svc:9003"}, data_dir=tmp_path)
    control = approvals_wiring.daemon_control(settings)
    assert getattr(control, "_address") == "approvals.svc:9000"  # noqa: B009
    # A gateway without the fleet service in its process reads it over gRPC, at its advertised address.
    reads = fleet_wiring.fleet_reads(settings, [])
    assert type(reads).__name__ == "FleetQueryClient" and getattr(reads, "address") == "fleet.svc:9001"  # noqa: B009
    # ... and notifications likewise: a client, no service of its own (no sealing key made here).
    port = notifications_wiring.gateway_port(settings, [])
    assert type(port).__name__ == "NotificationsClient" and getattr(port, "address") == "notifications.svc:9003"  # noqa: B009
    assert not (tmp_path / "keys").exists()
    assert settings.internal_bind_address("notifications") == "0.0.0.0:8453"
    # And the approvals service's people-facing API likewise, with the same advertised address.
    port = approvals_wiring.approvals_port(settings, [])
    assert type(port).__name__ == "ApprovalsApiClient" and getattr(port, "address") == "approvals.svc:9000"  # noqa: B009


def test_the_settings_are_documented() -> None:
    readme = " ".join(README.read_text().split())
    doc = " ".join(INTERNAL_TLS_DOC.read_text().split())
    for text in (readme, doc):
        assert "FARAMESH_CLOUD_INTERNAL_BIND_HOST" in text
        assert "FARAMESH_CLOUD_FLEET_ADDRESS" in text
    for service in INTERNAL_APIS:
        assert f"FARAMESH_CLOUD_{address_setting(service).upper()}" in doc, service


def test_the_default_internal_ports_are_outside_the_ephemeral_ranges() -> None:
    """A port in an ephemeral range may be the local end of any outgoing connection on the
    host (PostgreSQL, Kafka, a webhook), so ``up`` would fail now and then with "in use"."""
    settings = Settings.load(env={})
    ports = [settings.internal_base_port + index for index in INTERNAL_APIS.values()]
    assert all(port < 32768 for port in ports)  # Linux's default 32768-60999, IANA's 49152-65535
    assert not {settings.http_port, settings.sync_port} & set(ports)


def test_where_serve_gateway_forwards_the_daemon_feeds() -> None:
    assert Settings().ingest_http_url == "http://127.0.0.1:8081"
    # a bind-all listener is reached on loopback from the same host
    assert Settings.load(env={"FARAMESH_CLOUD_INGEST_HTTP_HOST": "0.0.0.0",
                              "FARAMESH_CLOUD_INGEST_HTTP_PORT": "9001"}).ingest_http_url == "http://127.0.0.1:9001"
    assert Settings.load(env={"FARAMESH_CLOUD_INGEST_HTTP_HOST": "fd00::7"}).ingest_http_url == "http://[fd00::7]:8081"
    moved = Settings.load(env={"FARAMESH_CLOUD_INGEST_HTTP_ADDRESS": "ingest.cloud.svc:7081"})
    assert moved.ingest_http_url == "http://ingest.cloud.svc:7081"
    for env, says in (({"FARAMESH_CLOUD_INGEST_HTTP_ADDRESS": "ingest.cloud.svc"}, "ingest_http_address="),
                      ({"FARAMESH_CLOUD_INGEST_HTTP_PORT": "70000"}, "ingest_http_port=70000 is not a TCP port")):
        with pytest.raises(ConfigError, match=says):
            Settings.load(env=env)


def test_ingests_http_settings_are_documented() -> None:
    text = README.read_text()
    for name in ("ingest_http_host", "ingest_http_port", "ingest_http_address"):
        assert f"`{name}`" in text, name
