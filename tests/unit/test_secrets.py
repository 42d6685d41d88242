"""Shared secrets (faramesh_cloud/secrets.py): where each comes from, in order; a process that
may not make its own (``serve``) refuses with one line naming the setting; a malformed one is
refused naming the setting; ``secrets init`` writes a directory every process can share."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from faramesh_cloud.cli.secrets import default_services, shared_files, write_secrets
from faramesh_cloud.compliance.report.sign import document_key
from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.notifications.destinations import notifications_key
from faramesh_cloud.registry.keys import KeySource, RegistryKeyError
from faramesh_cloud.rpc.internal_pki import InternalTlsError, service_credentials
from faramesh_cloud.runtime.web import web_secret
from faramesh_cloud.secrets import (
    SECRETS,
    SecretInvalid,
    SecretMissing,
    preflight,
    resolve_secret,
)
from faramesh_cloud.signing.keys import platform_signing_key, public_raw


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shared") / "secrets"
    write_secrets(directory)
    return directory


def test_resolution_order_is_inline_then_file_then_secrets_dir_then_data_dir(tmp_path: Path, shared: Path) -> None:
    data = tmp_path / "data"
    made = resolve_secret(Settings(data_dir=data), "web_secret")
    assert (data / "keys" / "web-secret").read_bytes() == made  # embedded: made once in the data dir
    from_dir = resolve_secret(Settings(data_dir=data, secrets_dir=shared), "web_secret")
    assert from_dir == (shared / "web-secret").read_bytes().strip() != made
    own = tmp_path / "mine"
    own.write_text("f" * 40 + "\n")
    from_file = Settings(data_dir=data, secrets_dir=shared, web_secret_file=own)
    assert resolve_secret(from_file, "web_secret") == b"f" * 40
    inline = Settings.load({"FARAMESH_CLOUD_WEB_SECRET": "i" * 40, "FARAMESH_CLOUD_SECRETS_DIR": str(shared)},
                           data_dir=data)
    assert resolve_secret(inline, "web_secret") == b"i" * 40


def test_a_process_that_may_not_make_secrets_refuses_in_one_line_naming_the_setting(tmp_path: Path) -> None:
    serve = Settings(data_dir=tmp_path, secrets_in_data_dir=False)
    with pytest.raises(SecretMissing) as missing:
        resolve_secret(serve, "notifications_key")
    message = str(missing.value)
    assert "\n" not in message
    assert "notifications_key (FARAMESH_CLOUD_NOTIFICATIONS_KEY[_FILE])" in message
    assert "replicas must share it" in message and "FARAMESH_CLOUD_SECRETS_DIR" in message
    assert not (tmp_path / "keys").exists()  # nothing made for this process alone
    with pytest.raises(SecretMissing, match=r"no web_secret .*, platform_signing_key .* configured"):
        preflight(serve, ["web_secret", "platform_signing_key"])
    with pytest.raises(SecretMissing, match="registry_signing_key"):
        KeySource.for_settings(serve)
    with pytest.raises(InternalTlsError, match=r"internal_tls_ca.*`serve` makes none"):
        service_credentials(serve, "gateway")


def test_two_processes_on_one_secrets_dir_hold_the_same_secrets(tmp_path: Path, shared: Path) -> None:
    one = Settings(data_dir=tmp_path / "one", secrets_dir=shared, secrets_in_data_dir=False)
    two = Settings(data_dir=tmp_path / "two", secrets_dir=shared, secrets_in_data_dir=False)
    assert web_secret(one) == web_secret(two)
    assert notifications_key(one) == notifications_key(two) and len(notifications_key(one)) == 32
    assert public_raw(platform_signing_key(one).public_key()) == public_raw(platform_signing_key(two).public_key())
    assert document_key(one).cert_pem == document_key(two).cert_pem
    assert KeySource.for_settings(one).current().public_key == KeySource.for_settings(two).current().public_key
    assert KeySource.for_settings(one).current().key_id == "cloud-registry-ed25519-1"
    with pytest.raises(RegistryKeyError, match=r"rotate by adding registry-ed25519-<n\+1>\.key"):
        KeySource.for_settings(one).rotate()
    gateway = service_credentials(one, "gateway")
    assert gateway.ca == service_credentials(two, "fleet").ca == (shared / "internal-ca.pem").read_bytes()
    assert not (tmp_path / "one").exists() and not (tmp_path / "two").exists()


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("platform_signing_key", b"not a key", "is not an unencrypted PEM private key"),
    ("web_secret", b"short", "is 5 characters; use at least 32"),
    ("notifications_key", b"x" * 31, "is not a 32-byte key"),
    ("report_signing_cert", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
     "is not a PEM X.509 certificate"),
])
def test_a_malformed_secret_is_refused_naming_its_setting(tmp_path: Path, name: str, content: bytes,
                                                          problem: str) -> None:
    path = tmp_path / "secret"
    path.write_bytes(content)
    settings = Settings(data_dir=tmp_path, **{f"{name}_file": path})  # type: ignore[arg-type]
    with pytest.raises(SecretInvalid) as refused:
        resolve_secret(settings, name)
    assert str(refused.value).startswith(f"{name} ({path}) {problem}")
    assert "\n" not in str(refused.value)


def test_the_wrong_key_type_and_a_certificate_of_another_key_are_refused(tmp_path: Path, shared: Path) -> None:
    p256 = shared / SECRETS["report_signing_key"].file
    with pytest.raises(SecretInvalid, match=r"platform_signing_key .* is not an Ed25519 private key"):
        resolve_secret(Settings(data_dir=tmp_path, platform_signing_key_file=p256), "platform_signing_key")
    other = tmp_path / "other"
    write_secrets(other, services=["gateway"])
    mixed = Settings(data_dir=tmp_path, secrets_dir=shared,
                     report_signing_cert_file=other / SECRETS["report_signing_cert"].file)
    with pytest.raises(SecretInvalid, match="report_signing_cert is not the certificate of report_signing_key"):
        document_key(mixed)


def test_a_32_byte_key_may_be_given_inline_as_base64(tmp_path: Path) -> None:
    key = os.urandom(32)
    settings = Settings.load({"FARAMESH_CLOUD_NOTIFICATIONS_KEY": base64.b64encode(key).decode()}, data_dir=tmp_path)
    assert notifications_key(settings) == key


def test_inline_and_file_forms_of_one_secret_are_refused_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set web_secret or web_secret_file, not both"):
        Settings.load({"FARAMESH_CLOUD_WEB_SECRET": "x" * 40, "FARAMESH_CLOUD_WEB_SECRET_FILE": "/x"})


def test_secrets_init_writes_every_secret_once_private_and_never_overwrites(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    names = write_secrets(directory, ca_key=tmp_path / "ca-key.pem")
    assert sorted(names) == sorted(shared_files(default_services()))
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)  # flat: kubectl --from-file=DIR
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in directory.iterdir())
    assert directory.stat().st_mode & 0o777 == 0o700
    assert not any("ca-key" in n for n in names) and (tmp_path / "ca-key.pem").exists()
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(FileExistsError, match="secrets are never replaced"):
        write_secrets(directory)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    settings = Settings(data_dir=tmp_path / "d", secrets_dir=directory, secrets_in_data_dir=False)
    preflight(settings, SECRETS)  # every one written is usable
    for service in default_services():
        assert service_credentials(settings, service).service == service


def test_the_secrets_init_command_writes_the_directory_and_refuses_a_second_run(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from faramesh_cloud.cli.main import cli

    directory = tmp_path / "secrets"
    first = CliRunner().invoke(cli, ["secrets", "init", str(directory)])
    assert first.exit_code == 0, first.output
    assert f"kubectl create secret generic faramesh-cloud --from-file={directory}" in first.output
    assert (directory / "web-secret").exists() and (directory / "internal-gateway-key.pem").exists()
    again = CliRunner().invoke(cli, ["secrets", "init", str(directory)])
    assert again.exit_code == 2 and "secrets are never replaced" in again.output


def test_a_sync_tls_pair_is_checked_for_pem_and_for_belonging_together(tmp_path: Path) -> None:
    from faramesh_cloud.tls import ensure_self_signed, tls_pair_problem

    cert, key = ensure_self_signed(tmp_path / "one")
    _, other = ensure_self_signed(tmp_path / "two")
    assert tls_pair_problem(cert.read_bytes(), key.read_bytes()) is None
    assert tls_pair_problem(cert.read_bytes(), other.read_bytes()) == "the key does not belong to the certificate"
    assert tls_pair_problem(b"garbage", key.read_bytes()) == "the certificate is not PEM"
    assert tls_pair_problem(cert.read_bytes(), b"garbage") == "the key is not an unencrypted PEM private key"


def test_a_secrets_dir_that_is_not_a_directory_is_refused_not_replaced_by_the_data_dir(tmp_path: Path) -> None:
    typo = Settings(data_dir=tmp_path / "data", secrets_dir=tmp_path / "secrest")  # under `up`, too
    with pytest.raises(SecretInvalid, match=r"^secrets_dir=.*secrest is not a directory"):
        resolve_secret(typo, "web_secret")
    with pytest.raises(SecretInvalid, match="is not a directory"):
        preflight(typo, ["web_secret"])
    assert not (tmp_path / "data").exists()
