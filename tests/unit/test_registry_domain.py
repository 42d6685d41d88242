"""Registry words and signatures (pure): names, strict semver, upstream's signature formats
checked against the real vectors, Cloud's signing and the trust snippet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from faramesh_cloud.registry.domain import Kind, Version, latest, parse_name
from faramesh_cloud.registry.keys import KeySource, parse_private_key, trust_snippet
from faramesh_cloud.registry.signatures import (
    SignatureError,
    TrustedKey,
    binary_signature,
    fpl_signature_file,
    manifest_signed_bytes,
    public_key_bytes,
    sign_manifest,
    verify_binary_signature,
    verify_signature,
)
from faramesh_cloud.registry.snapshot import SEED_DIR, SnapshotError, load_snapshot

OFFICIAL = TrustedKey("faramesh-ed25519-2026", public_key_bytes("nxNjaQnS3L+zzKrRq48XfYBDWlFXkNJkxUiTD8j0sFs="))


def test_names_follow_namespace_rules() -> None:
    assert parse_name(Kind.POLICY, "faramesh/stripe").namespace == "faramesh"
    assert parse_name(Kind.FRAMEWORK, "langgraph").namespace == "faramesh"
    assert parse_name(Kind.FRAMEWORK, "acme/agents").namespace == "acme"
    for bad in ("Faramesh/stripe", "a/b/c", "a//b", "-x/y", "a/b c", "faramesh/stripe\n", "a/" + "x" * 65, "../x"):
        with pytest.raises(ValueError, match="not valid"):
            parse_name(Kind.POLICY, bad)
    with pytest.raises(ValueError, match="needs a namespace"):
        parse_name(Kind.PROVIDER, "vault")


def test_versions_are_strict_semver_ordered_by_precedence() -> None:
    for bad in ("1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+build", " 1.0.0", "1.0.0\n"):
        with pytest.raises(ValueError):
            Version.parse(bad)
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
             "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "2.0.0", "10.0.0"]
    assert sorted((Version.parse(v) for v in reversed(order)), key=Version.sort_key) == [Version.parse(v) for v in order]
    assert latest(["1.0.0", "2.0.0-rc.1", "1.5.0"]) == "1.5.0"
    assert latest(["2.0.0-rc.1"]) == "2.0.0-rc.1"


@pytest.mark.parametrize("name", ["dev-kms", "spiffe", "vault"])
def test_the_manifest_vectors_verify_over_their_go_json(vectors_dir: Path, name: str) -> None:
    manifest = json.loads((vectors_dir / f"registry_provider_manifest_faramesh_{name}_1.0.0.json").read_bytes())
    assert verify_signature(manifest["signature"], manifest_signed_bytes(manifest), {OFFICIAL.key_id: OFFICIAL})
    changed = {**manifest, "downloads": {**manifest["downloads"], "linux_amd64": {
        **manifest["downloads"]["linux_amd64"], "sha256_hex": "0" * 64}}}
    with pytest.raises(SignatureError, match="verification failed"):
        verify_signature(changed["signature"], manifest_signed_bytes(changed), {OFFICIAL.key_id: OFFICIAL})


def test_a_signature_by_an_unlisted_key_or_carrying_another_key_is_refused() -> None:
    key = SigningKey.generate()
    sig = json.loads(fpl_signature_file("faramesh-ed25519-2026", key, b"x"))
    with pytest.raises(SignatureError, match="not the one of trusted key"):
        verify_signature(sig, b"x", {OFFICIAL.key_id: OFFICIAL})
    with pytest.raises(SignatureError, match="not a trusted registry key"):
        verify_signature({**sig, "key_id": "other"}, b"x", {OFFICIAL.key_id: OFFICIAL})


def test_cloud_signs_fpl_manifests_and_binaries_in_upstreams_formats(vectors_dir: Path) -> None:
    key = SigningKey.generate()
    mine = TrustedKey("cloud-registry-ed25519-1", bytes(key.verify_key))
    sig_file = fpl_signature_file(mine.key_id, key, b"agent x {}\n")
    assert sig_file.startswith(b'{\n  "key_id": "cloud-registry-ed25519-1",\n  "algorithm": "ed25519",')
    assert not sig_file.endswith(b"\n")
    verify_signature(json.loads(sig_file), b"agent x {}\n", {mine.key_id: mine})
    vault = json.loads((vectors_dir / "registry_provider_manifest_faramesh_vault_1.0.0.json").read_bytes())
    resigned = sign_manifest(mine.key_id, key, vault)
    assert list(resigned) == list(vault)
    verify_signature(resigned["signature"], manifest_signed_bytes(resigned), {mine.key_id: mine})
    sig = binary_signature(key, b"binary")
    assert "\n" not in sig and len(sig) == 88
    verify_binary_signature(sig, b"binary", mine)


def test_the_trust_snippet_is_fpl_trust_key_syntax() -> None:
    assert trust_snippet("faramesh-ed25519-2026", OFFICIAL.public_key) == (
        'trust {\n  key "faramesh-ed25519-2026" ed25519:nxNjaQnS3L+zzKrRq48XfYBDWlFXkNJkxUiTD8j0sFs=\n}\n')


def test_key_material_in_go_form_seed_or_pem_is_read_and_rotation_numbers_keys(tmp_path: Path) -> None:
    key = SigningKey.generate()
    import base64
    go = base64.b64encode(bytes(key) + bytes(key.verify_key))
    assert parse_private_key(go, "x").verify_key == key.verify_key
    assert parse_private_key(base64.b64encode(bytes(key)), "x").verify_key == key.verify_key
    with pytest.raises(ValueError, match="public half does not match"):
        parse_private_key(base64.b64encode(bytes(key) + bytes(32)), "x")
    source = KeySource(tmp_path)
    first = source.current()
    assert first.key_id == "cloud-registry-ed25519-1" and source.current().public_key == first.public_key
    assert source.rotate().key_id == "cloud-registry-ed25519-2" and source.current().key_id.endswith("-2")
    secret = tmp_path / "secret.key"
    secret.write_bytes(go)
    configured = KeySource(tmp_path, secret)
    assert configured.current().public_key == bytes(key.verify_key)
    with pytest.raises(ValueError, match="configuring new key material"):
        configured.rotate()


def test_the_shipped_snapshot_verifies_unchanged() -> None:
    snapshot = load_snapshot()
    assert len(snapshot.versions) == 17
    assert sum(1 for v in snapshot.versions if v.body is not None) == 14
    assert sum(1 for v in snapshot.versions if v.manifest is not None) == 3
    assert all(v.key_id == "faramesh-ed25519-2026" for v in snapshot.versions)


@pytest.mark.parametrize(("path", "change", "message"), [
    ("artifacts/frameworks/crewai/1.0.0/profile.fpl", lambda b: b + b"\n", "profile.fpl.sig: signature over"),
    ("artifacts/providers/faramesh/spiffe/1.0.0/manifest.json", lambda b: b.replace(b'"IDENTITY"', b'"KMS"'),
     "spiffe/1.0.0/manifest.json: manifest signature does not verify"),
    ("trust/keys.json", lambda b: b.replace(b"nxNj", b"AAAA"), "trust/keys.json: does not list the official key"),
    ("artifacts/policies/faramesh/shell/1.0.0/policy.fpl.sig", lambda b: b"{", "policy.fpl.sig: not valid JSON"),
    ("artifacts/providers/faramesh/vault/1.0.0/bin/faramesh-provider-vault-linux_amd64.sig", lambda b: b"xx",
     "faramesh-provider-vault-linux_amd64.sig: binary signature"),
])
def test_a_tampered_snapshot_file_is_refused_by_name(tmp_path: Path, path: str, change, message: str) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "catalog"
    shutil.copytree(SEED_DIR, copy)
    target = copy / path
    target.write_bytes(change(target.read_bytes()))
    with pytest.raises(SnapshotError, match=message.replace(".", r"\.")):
        load_snapshot(copy)
