"""Certificates for Cloud's internal gRPC APIs (service to service, mutual TLS).

Every service has its own certificate, issued by an internal CA, naming the service in its
subject alternative names twice: the URI ``spiffe://faramesh-cloud/service/<name>`` and the
DNS name ``<name>.internal.faramesh-cloud``. A server checks the caller's name against an
allow-list (``internal_tls.CallerPolicy``); a client checks the server's DNS name, so both
ends know whom they talk to. Only the internal CA is trusted on these channels, never the
system roots.

Where the material comes from (:func:`service_credentials`):

* **Embedded** (``Settings.internal_tls_ca`` unset): a CA and one certificate per service are
  made in ``<data_dir>/tls/internal/`` the first time a service asks for its own, and reused:
  ``ca.pem`` and ``ca-key.pem``, ``<name>.pem`` and ``<name>-key.pem``. The folder is 0700,
  every file 0600, and the whole check-and-create runs under an exclusive ``flock`` of
  ``.lock``, so processes starting at once make one CA, and a certificate and its key are
  always a pair. A service certificate that expires within :data:`RENEW_BEFORE`, or that the
  folder's CA did not issue, is re-issued (the CA is never replaced).
* **Shared secrets** (those three unset, ``Settings.secrets_dir`` holding ``internal-ca.pem``):
  ``internal-<name>.pem`` and ``internal-<name>-key.pem`` of that directory (what
  ``faramesh-cloud secrets init DIR`` writes), checked as below. A ``serve`` process
  (``secrets_in_data_dir`` off) with neither refuses to start rather than make a CA of its own.
* **Distributed** (``internal_tls_ca``, ``internal_tls_cert``, ``internal_tls_key`` set):
  the operator's files, checked at start-up (readable, the key fits the certificate, the
  CA issued it, not expired, it names the service) with a message saying what to fix. A
  process running several services presents the same certificate for each, so it names
  each of them.

Pure file and X.509 work (``cryptography``); no gRPC here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from faramesh_cloud.config import ConfigError, Settings

TRUST_DOMAIN: Final = "faramesh-cloud"
SPIFFE_PREFIX: Final = f"spiffe://{TRUST_DOMAIN}/service/"
DNS_SUFFIX: Final = f".internal.{TRUST_DOMAIN}"
CA_LIFETIME: Final = dt.timedelta(days=3650)
CERT_LIFETIME: Final = dt.timedelta(days=397)
RENEW_BEFORE: Final = dt.timedelta(days=30)
EMBEDDED_DIR: Final = Path("tls") / "internal"  # under the data dir
SHARED_CA: Final = "internal-ca.pem"  # in Settings.secrets_dir, beside internal-<service>[-key].pem

_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


class InternalTlsError(ConfigError):
    """Internal TLS material is missing or unusable; the message says which file and what to do
    (a ``ConfigError``: the CLI prints it as one line and exits 2)."""


def spiffe_id(service: str) -> str:
    return SPIFFE_PREFIX + _checked(service)


def dns_name(service: str) -> str:
    return _checked(service) + DNS_SUFFIX


def _checked(service: str) -> str:
    if not _NAME.fullmatch(service):
        raise ValueError(f"{service!r} is not a service name (lower-case letters, digits and '-')")
    return service


def service_of_uri(uri: str) -> str | None:
    """The service a URI SAN names, or None when it names none of ours."""
    if uri.startswith(SPIFFE_PREFIX) and _NAME.fullmatch(uri[len(SPIFFE_PREFIX):]):
        return uri[len(SPIFFE_PREFIX):]
    return None


def service_of_dns(name: str) -> str | None:
    """The service a DNS SAN names, or None when it names none of ours."""
    name = name.lower()
    if name.endswith(DNS_SUFFIX) and _NAME.fullmatch(name[: -len(DNS_SUFFIX)]):
        return name[: -len(DNS_SUFFIX)]
    return None


def services_named(cert: x509.Certificate) -> frozenset[str]:
    """The Cloud services a certificate names in its subject alternative names."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset()
    found = {service_of_uri(u) for u in sans.get_values_for_type(x509.UniformResourceIdentifier)}
    found |= {service_of_dns(d) for d in sans.get_values_for_type(x509.DNSName)}
    return frozenset(s for s in found if s is not None)


@dataclass(frozen=True, slots=True)
class ServiceCredentials:
    """One service's internal TLS material (PEM): the CA it trusts, its certificate and key."""

    service: str
    ca: bytes
    cert: bytes
    key: bytes


def shared_files(directory: Path, service: str) -> tuple[Path, Path, Path]:
    """The CA, certificate and key of ``service`` in a shared-secrets directory (``secrets init``)."""
    return directory / SHARED_CA, directory / f"internal-{service}.pem", directory / f"internal-{service}-key.pem"


def service_credentials(settings: Settings, service: str) -> ServiceCredentials:
    """``service``'s material as ``settings`` choose it (see the module docstring)."""
    if settings.internal_tls_ca is not None and settings.internal_tls_cert is not None \
            and settings.internal_tls_key is not None:
        return from_files(settings.internal_tls_ca, settings.internal_tls_cert, settings.internal_tls_key, service)
    if settings.secrets_dir is not None and (settings.secrets_dir / SHARED_CA).is_file():
        return from_files(*shared_files(settings.secrets_dir, service), service)
    if not settings.secrets_in_data_dir:
        raise InternalTlsError(
            "no internal_tls_ca, internal_tls_cert, internal_tls_key (FARAMESH_CLOUD_INTERNAL_TLS_*) configured; "
            "services in other processes must trust one CA, so `serve` makes none: set them, or "
            f"FARAMESH_CLOUD_SECRETS_DIR to a directory holding {SHARED_CA} and internal-{service}[-key].pem "
            "(`faramesh-cloud secrets init DIR` writes one)")
    return embedded(settings.data_dir / EMBEDDED_DIR, service)


# --- embedded: made once in the data dir -------------------------------------------------

def embedded(directory: Path, service: str, now: dt.datetime | None = None) -> ServiceCredentials:
    """``service``'s certificate from the CA in ``directory``, making either when missing."""
    _checked(service)
    now = now or dt.datetime.now(dt.UTC)
    try:
        with _locked(directory):
            ca_key, ca_cert = _ensure_ca(directory, now)
            cert_path, key_path = directory / f"{service}.pem", directory / f"{service}-key.pem"
            if not _current(cert_path, key_path, ca_cert, now):
                key = ec.generate_private_key(ec.SECP256R1())
                cert = _issue(ca_key, ca_cert, key.public_key(), service, now)
                _write(key_path, _key_pem(key))
                _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
            return ServiceCredentials(service, (directory / "ca.pem").read_bytes(), cert_path.read_bytes(),
                                      key_path.read_bytes())
    except OSError as exc:
        raise InternalTlsError(f"cannot make the internal TLS certificates in {directory} ({exc}); the data "
                               "dir must be writable by the user running Faramesh Cloud") from exc


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _ensure_ca(directory: Path, now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InternalTlsError(f"{key_path} is not an EC private key; move {directory} aside to make a new CA")
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Faramesh Cloud"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Faramesh Cloud internal CA")])
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key))
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _current(cert_path: Path, key_path: Path, ca: x509.Certificate, now: dt.datetime) -> bool:
    """True when the pair exists and matches (a crash between the two writes leaves a new key
    beside the old certificate), the CA issued it and it is not about to expire."""
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if key.public_key() != cert.public_key():
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > now


def _issue(ca_key: CertificateIssuerPrivateKeyTypes, ca: x509.Certificate, public_key: ec.EllipticCurvePublicKey,
           service: str, now: dt.datetime) -> x509.Certificate:
    sans = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id(service)),
                                        x509.DNSName(dns_name(service))])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Faramesh Cloud"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, service)]))
        .issuer_name(ca.subject).public_key(public_key).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + CERT_LIFETIME)
        .add_extension(sans, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        # Every service both serves its internal API and calls others'.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` (0600, fsynced) in one rename."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


# --- distributed: the operator's files --------------------------------------------------

_SETTINGS = "FARAMESH_CLOUD_INTERNAL_TLS_CA / _CERT / _KEY"


def from_files(ca_path: Path, cert_path: Path, key_path: Path, service: str,
               now: dt.datetime | None = None) -> ServiceCredentials:
    """The operator's material for ``service``, checked so that a mistake fails at start-up."""
    _checked(service)
    now = now or dt.datetime.now(dt.UTC)
    ca_pem, cert_pem, key_pem = (_read(p, what) for p, what in
                                 ((ca_path, "internal CA certificate"), (cert_path, "internal certificate"),
                                  (key_path, "internal certificate's key")))
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise InternalTlsError(f"{ca_path} or {cert_path} is not a PEM certificate ({exc}); check {_SETTINGS}") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InternalTlsError(f"{key_path} is not an unencrypted PEM private key ({exc}); check {_SETTINGS}") from None
    if key.public_key() != cert.public_key():
        raise InternalTlsError(f"the key {key_path} does not belong to the certificate {cert_path}; check {_SETTINGS}")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise InternalTlsError(f"the certificate {cert_path} was not issued by the internal CA {ca_path}; issue it "
                               "from that CA, or point FARAMESH_CLOUD_INTERNAL_TLS_CA at its issuer") from None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise InternalTlsError(f"the certificate {cert_path} is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} "
                               f"to {cert.not_valid_after_utc:%Y-%m-%d}); issue a new one")
    if service not in services_named(cert):
        raise InternalTlsError(f"the certificate {cert_path} does not name the {service} service; it needs the "
                               f"subject alternative name URI {spiffe_id(service)} or DNS {dns_name(service)}")
    return ServiceCredentials(service, ca_pem, cert_pem, key_pem)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InternalTlsError(f"cannot read the {what} {path} ({exc.strerror}); check {_SETTINGS}") from None
