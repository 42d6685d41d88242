"""The internal CA and per-service certificates (rpc/internal_pki.py): made once in the data
dir with private modes, one CA however many processes start at once, renewed before they
expire, and an operator's files checked with messages that say what to fix."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.rpc.internal_pki import (
    CERT_LIFETIME,
    InternalTlsError,
    ServiceCredentials,
    embedded,
    from_files,
    service_credentials,
    services_named,
)
from faramesh_cloud.rpc.internal_tls import caller_services


def _cert(tls: ServiceCredentials) -> x509.Certificate:
    return x509.load_pem_x509_certificate(tls.cert)


def _ca(tls: ServiceCredentials) -> x509.Certificate:
    return x509.load_pem_x509_certificate(tls.ca)


def test_embedded_mode_makes_a_ca_and_one_private_certificate_per_service_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ingest = service_credentials(settings, "ingest")
    folder = tmp_path / "data" / "tls" / "internal"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "ca-key.pem", "ca.pem", "ingest-key.pem", "ingest.pem"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for key in ("ca-key.pem", "ingest-key.pem"):
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600

    cert = _cert(ingest)
    cert.verify_directly_issued_by(_ca(ingest))
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://faramesh-cloud/service/ingest"]
    assert sans.get_values_for_type(x509.DNSName) == ["ingest.internal.faramesh-cloud"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usage)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    key = serialization.load_pem_private_key(ingest.key, password=None)
    assert key.public_key() == cert.public_key()

    assert service_credentials(settings, "ingest") == ingest  # made once, then reused
    approvals = service_credentials(settings, "approvals")
    assert approvals.ca == ingest.ca and approvals.cert != ingest.cert
    assert services_named(_cert(approvals)) == {"approvals"}


def test_processes_starting_at_once_share_one_ca_and_matching_pairs(tmp_path: Path) -> None:
    folder = tmp_path / "internal"
    services = ["ingest", "approvals", "fleet", "gateway"] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda s: embedded(folder, s), services))
    assert len({m.ca for m in made}) == 1
    for tls in made:
        assert tls == embedded(folder, tls.service)  # every caller got the pair that stayed
        _cert(tls).verify_directly_issued_by(_ca(tls))
        assert serialization.load_pem_private_key(tls.key, password=None).public_key() == _cert(tls).public_key()


def test_a_certificate_near_its_end_is_reissued_from_the_same_ca(tmp_path: Path) -> None:
    folder = tmp_path / "internal"
    long_ago = dt.datetime.now(dt.UTC) - CERT_LIFETIME + dt.timedelta(days=10)  # expires in 10 days
    old = embedded(folder, "ingest", now=long_ago)
    new = embedded(folder, "ingest")
    assert new.ca == old.ca and new.cert != old.cert and new.key != old.key
    assert _cert(new).not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=300)
    assert embedded(folder, "ingest") == new


def test_a_key_left_beside_another_certificate_is_replaced_by_a_matching_pair(tmp_path: Path) -> None:
    folder = tmp_path / "internal"
    embedded(folder, "ingest")
    embedded(folder, "approvals")
    shutil.copy(folder / "approvals-key.pem", folder / "ingest-key.pem")  # as a crash between writes could
    mended = embedded(folder, "ingest")
    assert serialization.load_pem_private_key(mended.key, password=None).public_key() == _cert(mended).public_key()


def _operator_files(tmp_path: Path, service: str) -> tuple[Path, Path, Path]:
    """An operator's CA and a certificate for ``service`` (made here the embedded way)."""
    folder = tmp_path / "operator"
    embedded(folder, service)
    return folder / "ca.pem", folder / f"{service}.pem", folder / f"{service}-key.pem"


def test_distributed_mode_uses_the_operators_files(tmp_path: Path) -> None:
    ca, cert, key = _operator_files(tmp_path, "approvals")
    settings = Settings.load(env={"FARAMESH_CLOUD_INTERNAL_TLS_CA": str(ca), "FARAMESH_CLOUD_INTERNAL_TLS_CERT": str(cert),
                                  "FARAMESH_CLOUD_INTERNAL_TLS_KEY": str(key)}, data_dir=tmp_path / "data")
    tls = service_credentials(settings, "approvals")
    assert (tls.ca, tls.cert, tls.key) == (ca.read_bytes(), cert.read_bytes(), key.read_bytes())
    assert not (tmp_path / "data" / "tls").exists()  # nothing generated


def test_the_operators_files_are_checked_with_a_message_saying_what_to_fix(tmp_path: Path) -> None:
    ca, cert, key = _operator_files(tmp_path, "approvals")
    _, _, other_key = _operator_files(tmp_path / "b", "ingest")
    foreign_ca = tmp_path / "foreign"
    embedded(foreign_ca, "approvals")

    with pytest.raises(InternalTlsError, match=r"cannot read the internal certificate's key .*nope\.pem"):
        from_files(ca, cert, tmp_path / "nope.pem", "approvals")
    with pytest.raises(InternalTlsError, match="does not belong to the certificate"):
        from_files(ca, cert, other_key, "approvals")
    with pytest.raises(InternalTlsError, match="was not issued by the internal CA"):
        from_files(foreign_ca / "ca.pem", cert, key, "approvals")
    with pytest.raises(InternalTlsError, match=r"does not name the ingest service; .*spiffe://faramesh-cloud/service/ingest"):
        from_files(ca, cert, key, "ingest")
    with pytest.raises(InternalTlsError, match="is not valid now"):
        from_files(ca, cert, key, "approvals", now=dt.datetime.now(dt.UTC) + CERT_LIFETIME * 2)
    assert isinstance(InternalTlsError("x"), ConfigError)  # the CLI prints it as one line, exit 2


def test_internal_tls_paths_are_all_or_none() -> None:
    with pytest.raises(ConfigError, match="set all of internal_tls_ca, internal_tls_cert and internal_tls_key"):
        Settings.load(env={"FARAMESH_CLOUD_INTERNAL_TLS_CA": "/etc/ca.pem"})


def test_the_caller_is_named_by_its_verified_certificate_only() -> None:
    sans = [b"spiffe://faramesh-cloud/service/ingest", b"ingest.internal.faramesh-cloud"]
    assert caller_services({"transport_security_type": [b"ssl"], "x509_subject_alternative_name": sans}) == {"ingest"}
    # A DNS name alone, or a URI alone, names the service too.
    assert caller_services({"transport_security_type": [b"ssl"],
                            "x509_subject_alternative_name": [b"Fleet.Internal.Faramesh-Cloud"]}) == {"fleet"}
    # Names of other trust domains, other suffixes, paths and the common name do not.
    assert caller_services({"transport_security_type": [b"ssl"], "x509_common_name": [b"ingest"],
                            "x509_subject_alternative_name": [
                                b"spiffe://evil.example/service/ingest", b"ingest.internal.faramesh-cloud.evil.com",
                                b"spiffe://faramesh-cloud/service/ingest/extra", b"a.b.internal.faramesh-cloud"]}) == set()
    # Without TLS there is no caller at all.
    assert caller_services({"x509_subject_alternative_name": sans}) == set()
    assert caller_services({}) == set()
