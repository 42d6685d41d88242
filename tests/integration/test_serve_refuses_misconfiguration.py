"""A `faramesh-cloud serve NAME` process with a secret nobody configured, a malformed one,
no internal TLS material, or Kafka replication its cluster cannot honour refuses to start with
ONE line naming the setting and why (exit 2), and makes nothing in its data dir: a replica that
made its own secret would disagree with the others."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.kafka import KafkaBroker
from tests.fixtures.secrets import SharedSecrets
from tests.ports import free_internal_base

pytestmark = [pytest.mark.integration]


def _refused(service: str, data_dir: Path, env: dict[str, str]) -> str:
    """Run `serve SERVICE`; it must exit 2 with one line on stderr, which is returned."""
    done = subprocess.run([sys.executable, "-m", "faramesh_cloud", "serve", service, "--data-dir", str(data_dir)],
                          env={**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base()), **env},
                          capture_output=True, timeout=120, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, (done.returncode, err[-2000:], done.stdout.decode()[-2000:])
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err.strip()


def _copy(shared: SharedSecrets, to: Path, *, drop: str = "") -> Path:
    shutil.copytree(shared.dir, to)
    for path in to.iterdir():
        if drop and path.name.startswith(drop):
            path.unlink()
    return to


def test_serve_gateway_without_shared_secrets_names_them_and_makes_none(tmp_path: Path) -> None:
    line = _refused("gateway", tmp_path / "d", {})
    assert line.startswith("error: no web_secret (FARAMESH_CLOUD_WEB_SECRET[_FILE]), platform_signing_key "
                           "(FARAMESH_CLOUD_PLATFORM_SIGNING_KEY[_FILE]) configured; replicas must share them"), line
    assert "FARAMESH_CLOUD_SECRETS_DIR" in line and "secrets init" in line
    assert not (tmp_path / "d" / "keys").exists()


def test_serve_registry_with_a_malformed_key_names_the_setting(tmp_path: Path, shared_secrets: SharedSecrets) -> None:
    secrets = _copy(shared_secrets, tmp_path / "secrets")
    (secrets / "registry-ed25519-1.key").write_text("not key material")
    line = _refused("registry", tmp_path / "d", {"FARAMESH_CLOUD_SECRETS_DIR": str(secrets)})
    assert line.startswith(f"error: registry_signing_key {secrets / 'registry-ed25519-1.key'}: registry key material "
                           "is a PKCS#8 PEM"), line


def test_serve_notifications_with_an_unreadable_key_file_names_the_setting(tmp_path: Path,
                                                                          shared_secrets: SharedSecrets) -> None:
    line = _refused("notifications", tmp_path / "d", {**shared_secrets.env,
                                                      "FARAMESH_CLOUD_NOTIFICATIONS_KEY_FILE": str(tmp_path / "no")})
    assert line.startswith(f"error: notifications_key: cannot read {tmp_path / 'no'} (No such file or directory)")


def test_serve_without_internal_tls_material_names_the_settings(tmp_path: Path,
                                                                shared_secrets: SharedSecrets) -> None:
    secrets = _copy(shared_secrets, tmp_path / "secrets", drop="internal-")
    line = _refused("ingest", tmp_path / "d", {"FARAMESH_CLOUD_SECRETS_DIR": str(secrets)})
    assert line.startswith("error: no internal_tls_ca, internal_tls_cert, internal_tls_key "
                           "(FARAMESH_CLOUD_INTERNAL_TLS_*) configured; services in other processes must trust one "
                           "CA"), line
    assert not (tmp_path / "d" / "tls").exists()


@pytest.mark.postgres
@pytest.mark.kafka
def test_serve_on_a_one_broker_cluster_refuses_three_replicas_saying_why(
        tmp_path: Path, pg_url: str, kafka_broker: KafkaBroker, shared_secrets: SharedSecrets) -> None:
    line = _refused("ingest", tmp_path / "d", {**shared_secrets.env, "FARAMESH_CLOUD_POSTGRES_URL": pg_url,
                                               "FARAMESH_CLOUD_KAFKA_BOOTSTRAP": kafka_broker.bootstrap})
    assert line == (f"error: kafka_replication_factor=3 but the cluster at {kafka_broker.bootstrap} has 1 broker: no "
                    "topic can be created; add brokers or lower it (kafka_single_broker=true and "
                    "kafka_replication_factor=1 for one dev/test broker)")


@pytest.mark.postgres
def test_serve_ingest_with_a_sync_certificate_of_another_key_names_the_settings(
        tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets) -> None:
    from faramesh_cloud.tls import ensure_self_signed

    cert, _ = ensure_self_signed(tmp_path / "one")
    _, other_key = ensure_self_signed(tmp_path / "two")
    line = _refused("ingest", tmp_path / "d", {**shared_secrets.env, "FARAMESH_CLOUD_POSTGRES_URL": pg_url,
                                               "FARAMESH_CLOUD_TLS_CERT": str(cert),
                                               "FARAMESH_CLOUD_TLS_KEY": str(other_key)})
    assert line == (f"error: tls_cert {cert} / tls_key {other_key}: the key does not belong to the certificate; give "
                    "the sync channel's PEM certificate and its unencrypted PEM key (FARAMESH_CLOUD_TLS_CERT / _KEY)")


def test_serve_ingest_without_a_sync_certificate_names_the_settings(tmp_path: Path,
                                                                    shared_secrets: SharedSecrets) -> None:
    # Under `up` a self-signed pair is made; replicas that each made one would present different
    # certificates to the same daemons.
    line = _refused("ingest", tmp_path / "d", {"FARAMESH_CLOUD_SECRETS_DIR": str(shared_secrets.dir)})
    assert line == ("error: no tls_cert / tls_key (FARAMESH_CLOUD_TLS_CERT / _KEY) configured; every serve ingest "
                    "replica must present the one sync certificate the daemons trust")
    assert not (tmp_path / "d" / "tls").exists()
