"""The platform document certificate and the PAdES signature of report PDFs.

Common PDF verifiers (Acrobat, poppler's ``pdfsig``) do not understand Ed25519, so reports are
signed with an ECDSA P-256 key and a self-signed "platform document certificate", both kept in
``<data_dir>/keys`` (``platform-document-p256.pem``, the PKCS#8 key, 0600;
``platform-document-cert.pem``, the certificate), made once like the other keys
(``faramesh_cloud.keyfile``: never replaced, safe when two processes start at once). The
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
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import load_cert_from_pemder

from faramesh_cloud.keyfile import read_or_create

KEY_FILE: Final = Path("keys") / "platform-document-p256.pem"
CERT_FILE: Final = Path("keys") / "platform-document-cert.pem"
FIELD_NAME: Final = "FarameshCloudReport"
SUBJECT: Final = "Faramesh Cloud platform document signing"


class DocumentKeyError(ValueError):
    """The document key or certificate in the data dir cannot be used; the message says what to do."""


@dataclass(frozen=True)
class DocumentKey:
    key_path: Path
    cert_path: Path

    def certificate_pem(self) -> str:
        return self.cert_path.read_text("ascii")


def _new_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _new_certificate(key: ec.EllipticCurvePrivateKey, now: datetime) -> bytes:
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


def load_or_create_document_key(data_dir: Path, now: datetime | None = None) -> DocumentKey:
    """The document key and its certificate, made the first time (``now``: the certificate's start)."""
    key_path, cert_path = Path(data_dir) / KEY_FILE, Path(data_dir) / CERT_FILE
    key = serialization.load_pem_private_key(read_or_create(key_path, _new_key), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise DocumentKeyError(f"{key_path} is not an ECDSA P-256 key; move it away to have a new one made")
    read_or_create(cert_path, lambda: _new_certificate(key, now or datetime.now(UTC)))
    cert = load_cert_from_pemder(str(cert_path))
    public = serialization.load_der_public_key(cert.public_key.dump())
    if public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise DocumentKeyError(f"{cert_path} is not the certificate of {key_path}; move both away to have new ones made")
    return DocumentKey(key_path, cert_path)


def sign_pdf(source: Path, target: Path, document_key: DocumentKey, *, reason: str) -> None:
    """PAdES-sign ``source`` into ``target`` (a new file) with the document certificate."""
    signer = signers.SimpleSigner.load(str(document_key.key_path), str(document_key.cert_path))
    if signer is None:
        raise DocumentKeyError(f"cannot load {document_key.key_path} with {document_key.cert_path}")
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=reason, name=SUBJECT)
    with open(source, "rb") as inf, open(target, "wb") as outf:
        writer = IncrementalPdfFileWriter(inf, strict=False)
        signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=outf)
