"""The platform document certificate: made once in the data dir, 0600 key, exportable PEM
certificate of an ECDSA P-256 key; and untrusted ids escaped for reportlab markup."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from faramesh_cloud.compliance.report.render import esc
from faramesh_cloud.compliance.report.sign import load_or_create_document_key


def test_the_document_key_is_made_once_and_its_certificate_is_exportable(tmp_path: Path) -> None:
    first = load_or_create_document_key(tmp_path)
    again = load_or_create_document_key(tmp_path)
    assert first.certificate_pem() == again.certificate_pem()
    assert first.key_path.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(first.certificate_pem().encode())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert cert.issuer == cert.subject


def test_untrusted_text_is_escaped_for_paragraph_markup() -> None:
    assert esc('<b>x</b> & "y"') == "&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;"
