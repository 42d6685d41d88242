"""The platform document certificate and the PAdES signature of report PDFs.

Common PDF verifiers (Acrobat, poppler's ``pdfsig``) do not understand Ed25519, so reports are
signed with an ECDSA P-256 key and a self-signed "platform document certificate": the shared
secrets ``report_signing_key`` and ``report_signing_cert`` (``faramesh_cloud.secrets``: inline,
a ``_file``, ``secrets_dir``, or made once in ``<data_dir>/keys`` under ``up``:
``platform-document-p256.pem``, the PKCS#8 key, 0600; ``platform-document-cert.pem``). The
certificate is public: give it to auditors (``verify-report --certificate``) and to PDF readers
as a trusted identity. Signatures are PAdES (``ETSI.CAdES.detached``), SHA-256, over the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from faramesh_cloud.config import Settings
from faramesh_cloud.secrets import SecretInvalid, resolve_secret
from faramesh_cloud.secrets import source as secret_source

KEY_FILE: Final = Path("keys") / "platform-document-p256.pem"
CERT_FILE: Final = Path("keys") / "platform-document-cert.pem"
FIELD_NAME: Final = "FarameshCloudReport"
SUBJECT: Final = "Faramesh Cloud platform document signing"


@dataclass(frozen=True)
class DocumentKey:
    key_pem: bytes
    cert_pem: bytes
    key_path: Path | None = None  # the data-dir file it was made in, if it was

    def certificate_pem(self) -> str:
        return self.cert_pem.decode("ascii")


def new_document_certificate(key: ec.EllipticCurvePrivateKey, now: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Faramesh Cloud")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def document_key(settings: Settings, now: datetime | None = None) -> DocumentKey:
    """The document key and its certificate as ``settings`` give them (made the first time in the
    data dir under ``up``; ``now``: the made certificate's start)."""
    key_pem = resolve_secret(settings, "report_signing_key")
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # resolve_secret checked it is P-256
    cert_pem = resolve_secret(settings, "report_signing_cert",
                              make=lambda: new_document_certificate(key, now or datetime.now(UTC)))
    cert = x509.load_pem_x509_certificate(cert_pem)
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*der) != key.public_key().public_bytes(*der):
        raise SecretInvalid("report_signing_cert is not the certificate of report_signing_key; give the pair "
                            "together (`faramesh-cloud secrets init` writes one)")
    made = settings.data_dir / KEY_FILE
    return DocumentKey(key_pem, cert_pem, made if secret_source(settings, "report_signing_key") is None else None)


def load_or_create_document_key(data_dir: Path, now: datetime | None = None) -> DocumentKey:
    """The data-dir document key of an embedded install (``document_key`` with only a data dir)."""
    return document_key(Settings(data_dir=Path(data_dir)), now)


def sign_pdf(source: Path, target: Path, document_key: DocumentKey, *, reason: str) -> None:
    """PAdES-sign ``source`` into ``target`` (a new file) with the document certificate."""
    signer = signers.SimpleSigner(signing_cert=next(iter(load_certs_from_pemder_data(document_key.cert_pem))),
                                  signing_key=load_private_key_from_pemder_data(document_key.key_pem, None),
                                  cert_registry=SimpleCertificateStore())
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=reason, name=SUBJECT)
    with open(source, "rb") as inf, open(target, "wb") as outf:
        writer = IncrementalPdfFileWriter(inf, strict=False)
        signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=outf)
