"""Strict verification (``registry.strict``) and the browse views' pure parts: the upstream
provider manifests verify under the official key as Cloud lists it; a valid signature by a
key the organisation does not trust is "untrusted-key", never verified; a signature naming a
trusted key id but carrying another public key is invalid; changed bytes are invalid; no
signature is "unsigned"; rule previews count effects, or name the parse error's line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from faramesh_cloud.registry.browse_views import (
    import_line,
    registry_imports,
    rule_preview,
    schema_fields,
    trust_snippet,
)
from faramesh_cloud.registry.strict import TrustedKey, Verdict, manifest_signed_bytes, verify

MANIFESTS = ("dev-kms", "spiffe", "vault")


def official(vectors_dir: Path) -> dict[str, TrustedKey]:
    key = json.loads((vectors_dir / "registry_trust_keys.json").read_text())["keys"][0]
    return {key["id"]: TrustedKey(key["id"], base64.b64decode(key["public_key_b64"]), key["owner"], "official")}


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(key: Ed25519PrivateKey, key_id: str, message: bytes) -> dict[str, str]:
    return {"key_id": key_id, "algorithm": "ed25519", "value_b64": base64.b64encode(key.sign(message)).decode(),
            "public_key_b64": base64.b64encode(raw(key)).decode()}


@pytest.mark.parametrize("name", MANIFESTS)
def test_upstream_provider_manifests_verify_under_the_official_key(vectors_dir: Path, name: str) -> None:
    manifest = json.loads((vectors_dir / f"registry_provider_manifest_faramesh_{name}_1.0.0.json").read_text())
    found = verify(manifest["signature"], manifest_signed_bytes(manifest), official(vectors_dir))
    assert found.verdict is Verdict.VERIFIED and found.key_id == "faramesh-ed25519-2026"
    assert found.key_origin == "official" and "faramesh-ed25519-2026" in found.message


def test_a_changed_manifest_no_longer_verifies(vectors_dir: Path) -> None:
    manifest = json.loads((vectors_dir / "registry_provider_manifest_faramesh_vault_1.0.0.json").read_text())
    manifest["downloads"]["linux_amd64"]["sha256_hex"] = "0" * 64
    found = verify(manifest["signature"], manifest_signed_bytes(manifest), official(vectors_dir))
    assert found.verdict is Verdict.INVALID and "does not verify" in found.message


def test_a_valid_signature_by_a_key_not_trusted_is_not_verified(vectors_dir: Path) -> None:
    stranger = Ed25519PrivateKey.generate()
    body = b'agent "a" {\n  rules {\n    permit x/y\n  }\n}\n'
    found = verify(sign(stranger, "someone-else-2026", body), body, official(vectors_dir))
    assert found.verdict is Verdict.UNTRUSTED_KEY and not found.verified
    assert "signature by an untrusted key" in found.message and found.key_id == "someone-else-2026"


def test_a_signature_claiming_a_trusted_key_id_with_a_forged_key_is_invalid(vectors_dir: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    body = b"permit x/y\n"
    found = verify(sign(forger, "faramesh-ed25519-2026", body), body, official(vectors_dir))
    assert found.verdict is Verdict.INVALID and "different public key" in found.message


def test_retired_cloud_keys_still_verify_and_unsigned_is_said() -> None:
    key = Ed25519PrivateKey.generate()
    body = b"permit x/y\n"
    trusted = {"cloud-1": TrustedKey("cloud-1", raw(key), "Cloud", "cloud", retired=True)}
    found = verify({k: v for k, v in sign(key, "cloud-1", body).items() if k != "public_key_b64"}, body, trusted)
    assert found.verified and "retired" in found.message
    assert verify(None, body, trusted).verdict is Verdict.UNSIGNED
    assert verify({"key_id": "cloud-1", "algorithm": "rsa", "value_b64": "x"}, body, trusted).verdict \
        is Verdict.MALFORMED


def test_rule_preview_counts_effects_and_lists_each_rule() -> None:
    stripe = ('agent "payment-bot" {\n  default deny\n  rules {\n    permit stripe/charge when amount <= 2000\n'
              '    permit stripe/refund when amount <= 500\n    defer stripe/charge when amount > 2000 notify "#payments"\n'
              '  }\n}\n')
    found = rule_preview(stripe)
    assert found.parses and found.counts == {"permit": 2, "deny": 0, "defer": 1}
    assert [(r.line, r.effect, r.tool, r.agent) for r in found.rules] == [
        (4, "permit", "stripe/charge", "payment-bot"), (5, "permit", "stripe/refund", "payment-bot"),
        (6, "defer", "stripe/charge", "payment-bot")]


def test_rule_preview_names_the_line_the_daemon_parser_refuses() -> None:
    found = rule_preview('agent "a" {\n  rules {\n    permit mcp/list\n    defer mcp/call when tool =~ "w"\n  }\n}\n')
    assert not found.parses and found.error_line == 4 and "unexpected character" in found.error_message


def test_schema_rows_snippets_and_import_parsing() -> None:
    rows = schema_fields({"token": {"type": "string", "required": True, "description": "Vault token"},
                          "mount": {"type": "string", "required": False, "default": "secret"},
                          "refund_threshold": {"type": "number", "default": 500}, "region": {"type": "string"}})
    assert [(r.name, r.required, r.default) for r in rows] == [
        ("mount", False, "secret"), ("refund_threshold", False, "500"), ("region", True, ""), ("token", True, "")]
    assert import_line("policy", "faramesh/stripe", "1.0.0") == \
        'import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"'
    assert trust_snippet("cloud-1", "AAAA") == 'trust {\n  key "cloud-1" ed25519:AAAA\n}'
    text = ('import "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0"\n'
            'import "github.com/faramesh/faramesh-registry/widgets/langgraph@1.0.0"\n')
    assert registry_imports(text) == [(1, "github.com/faramesh/faramesh-registry/policies/faramesh/stripe@1.0.0",
                                       ("policies", "faramesh/stripe", "1.0.0")),
                                      (2, "github.com/faramesh/faramesh-registry/widgets/langgraph@1.0.0", None)]
