"""Every environment variable the chart sets is one the product reads: a FARAMESH_CLOUD_* name is
a field of faramesh_cloud.config.Settings (or, until its package lands on main, one of the
PENDING names the issue-16 design fixes), anything else is a standard OTEL_* variable. And what the
chart sets is accepted by Settings itself: each Deployment's environment, with its secrets filled
in, loads and validates."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from faramesh_cloud.config import ENV_PREFIX, Settings
from faramesh_cloud.events import topics as t
from tests.deploy.chart import VALUE_SETS, of_kind, render, rendered_set, values_of

FIELDS = {f.name for f in dataclasses.fields(Settings)}

# Settings fields of issue #16's other packages (names fixed by the shared design) that are not on
# main yet: each must become a real field when its package merges, then leave this list.
PENDING: dict[str, str] = {}
# The standard OpenTelemetry SDK variables the chart may set (the exporter is configured by them alone).
OTEL = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"}

# What a Secret the chart refers to would hold (the shapes the operators write).
SECRET_SAMPLES = {"FARAMESH_CLOUD_POSTGRES_URL": "postgresql://app:pw@faramesh-pg-rw:5432/app",
                  "FARAMESH_CLOUD_CLICKHOUSE_DSN": "https://faramesh:pw@clickhouse-faramesh:8443/faramesh",
                  "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL": "postgresql://dir:pw@directory-rw:5432/directory"}


def _environments(value_set: str) -> dict[str, dict[str, str]]:
    """service -> the environment its container starts with (ConfigMap, then its own env)."""
    return _environments_of(rendered_set(value_set))


def _environments_of(objects: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    (config,) = of_kind(objects, "ConfigMap")
    out = {}
    for deployment in of_kind(objects, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == [config["metadata"]["name"]]
        env: dict[str, Any] = dict(config["data"])
        for item in container["env"]:
            env[item["name"]] = item["value"] if "value" in item else SECRET_SAMPLES[item["name"]]
        out[deployment["metadata"]["labels"]["app.kubernetes.io/component"]] = env
    return out


def test_the_pending_names_are_not_fields_yet() -> None:
    """A pending name that became a field leaves the list (so the list only ever shrinks)."""
    assert sorted(FIELDS & set(PENDING)) == [], "now on main: remove from PENDING"


def _not_read(env: dict[str, str]) -> list[str]:
    """The names in ``env`` nothing reads: no Settings field (nor pending one), no standard OTEL_*."""
    return [name for name in env
            if (name.removeprefix(ENV_PREFIX).lower() not in FIELDS | set(PENDING)
                if name.startswith(ENV_PREFIX) else name not in OTEL)]


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_variable_the_chart_sets_is_a_settings_field(value_set: str) -> None:
    for service, env in _environments(value_set).items():
        assert _not_read(env) == [], service


def test_a_misspelt_extra_variable_is_named() -> None:
    """The check above can fail: extraEnv passes the schema's name pattern, not this."""
    (config,) = of_kind(render({"extraEnv": {"FARAMESH_CLOUD_DISCONECT_AFTER_S": "60", "OTEL_FOO": "1"}}),
                        "ConfigMap")
    assert _not_read(config["data"]) == ["FARAMESH_CLOUD_DISCONECT_AFTER_S", "OTEL_FOO"]


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_settings_accept_what_the_chart_sets(value_set: str) -> None:
    for service, env in _environments(value_set).items():
        settings = Settings.load(env=env)  # raises ConfigError naming the setting
        assert settings.mode == "distributed", service
        assert settings.health_host == "0.0.0.0" and settings.health_port == 8090
        assert settings.internal_dial_address("fleet") == "faramesh-cloud-fleet:8451"
        assert str(settings.internal_tls_cert) == f"/etc/faramesh-cloud/secrets/internal-{service}.pem"
        assert settings.ingest_http_url == "http://faramesh-cloud-ingest:8081"
        assert settings.registry_http_url == "http://faramesh-cloud-registry:8082"
        # kafka.partitions reaches every service as the counts KafkaLog creates topics with
        assert settings.kafka_partition_counts == values_of(VALUE_SETS[value_set]).get("kafka", {}).get("partitions", {})


def test_the_kafka_partitions_the_chart_renders_load_through_settings() -> None:
    partitions = {t.DPR_RECORDS: 32, t.SYNC_ITEMS: 6, t.DEAD_LETTERS: 3}
    for service, env in _environments_of(render({"kafka": {"partitions": partitions}})).items():
        settings = Settings.load(env=env)  # validates: an unknown topic or a bad count is refused
        assert settings.kafka_partition_counts == partitions, service
