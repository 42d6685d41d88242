"""Signed bundles: the signature covers everything but itself; verification uses the given key."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.cli.main import cli
from faramesh_cloud.platform_audit.chain import ALGORITHM, BUNDLE_KIND, genesis_hash
from faramesh_cloud.platform_audit.export import verify_bundle
from faramesh_cloud.signing.bundle import build_bundle, check_signature, sign_bundle
from faramesh_cloud.signing.keys import load_or_create_signing_key, public_pem
from tests.unit.test_platform_audit_chain import ORG, chain


def bundle_of(n: int, key: Ed25519PrivateKey) -> dict[str, object]:
    entries = chain(n)
    return sign_bundle(build_bundle(
        kind=BUNDLE_KIND, org={"id": ORG, "slug": "acme", "name": "Acme"}, entries=[e.to_json() for e in entries],
        chain={"algorithm": ALGORITHM, "genesis_hash": genesis_hash(ORG), "first_seq": 1, "last_seq": n,
               "head_seq": n, "head_hash": entries[-1].entry_hash, "complete": True},
        created_at=datetime(2026, 3, 2, tzinfo=UTC)), key)


def test_a_signed_bundle_verifies_with_the_platform_key() -> None:
    key = Ed25519PrivateKey.generate()
    report = verify_bundle(bundle_of(3, key), key.public_key())
    assert report.ok and report.entries == 3


def test_any_change_breaks_the_signature_and_another_key_does_not_verify() -> None:
    key = Ed25519PrivateKey.generate()
    bundle = bundle_of(2, key)
    changed = copy.deepcopy(bundle)
    changed["org"]["name"] = "Someone else"  # type: ignore[index]
    assert check_signature(changed, key.public_key())[0] is False
    ok, why = check_signature(bundle, Ed25519PrivateKey.generate().public_key())
    assert not ok and "check you have the right platform's key" in why


def test_a_dropped_entry_of_a_complete_bundle_is_found_even_if_resigned() -> None:
    key = Ed25519PrivateKey.generate()
    bundle = bundle_of(3, key)
    del bundle["entries"][1]  # type: ignore[attr-defined]
    report = verify_bundle(sign_bundle(bundle, key), key.public_key())
    assert not report.ok and "says it is complete but entries are missing" in report.problems[0]


def test_the_key_is_generated_once_in_the_data_dir(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path)
    again = load_or_create_signing_key(tmp_path)
    assert public_pem(first.public_key()) == public_pem(again.public_key())
    assert (tmp_path / "keys" / "platform-ed25519.pem").stat().st_mode & 0o777 == 0o600


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["verify-bundle", *args])
    return result.exit_code, result.output


def test_verify_bundle_command(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    (tmp_path / "pub.pem").write_text(public_pem(key.public_key()))
    good = tmp_path / "audit.json"
    good.write_text(json.dumps(bundle_of(3, key)))
    code, out = run(str(good), "--public-key", str(tmp_path / "pub.pem"))
    assert code == 0 and "OK: the bundle is intact" in out
    tampered = json.loads(good.read_text())
    tampered["entries"][0]["actor"]["label"] = "mallory@example.test"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    code, out = run(str(bad), "--public-key", str(tmp_path / "pub.pem"))
    assert code == 1 and "signature: INVALID" in out and "entry 1: hash mismatch" in out
    (tmp_path / "junk.json").write_text("{not json")
    code, out = run(str(tmp_path / "junk.json"), "--public-key", str(tmp_path / "pub.pem"))
    assert code == 2 and "not a signed bundle" in out
