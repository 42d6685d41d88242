"""Reading and checking a catalog in upstream's layout (pure apart from reading files).

The install ships the real catalog snapshot (``seed_catalog/``: faramesh/faramesh-registry
``catalog/`` at ``ec4508bc``, byte for byte) and seeds itself from it (``seed.py``). Before
anything is stored, every signature is checked against the **pinned** official key (the one in
this module, which ``trust/keys.json`` must list unchanged): each ``.fpl.sig`` over its FPL
bytes, each provider manifest's ``signature`` over its Go-JSON, each present binary's ``.sig``
and SHA-256. A file that fails is named in the :class:`SnapshotError`; nothing of the snapshot
is stored then.

Binaries: the snapshot has only their ``.sig`` files (and one 0-byte stray): a binary whose
bytes are present *and* match the manifest's SHA-256 and size is hosted; otherwise its row is
kept with ``hosted = False`` (its signature and digest known, its bytes not here).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from faramesh_cloud.registry.domain import Kind, Version, check_platform, parse_name
from faramesh_cloud.registry.signatures import (
    SignatureError,
    TrustedKey,
    check_binary_signature,
    manifest_signed_bytes,
    public_key_bytes,
    verify_binary_signature,
    verify_signature,
)

SEED_DIR: Final = Path(__file__).parent / "seed_catalog"
OFFICIAL_KEY_ID: Final = "faramesh-ed25519-2026"
OFFICIAL_PUBLIC_KEY_B64: Final = "nxNjaQnS3L+zzKrRq48XfYBDWlFXkNJkxUiTD8j0sFs="
_SECTIONS: Final = (("policies", Kind.POLICY), ("frameworks", Kind.FRAMEWORK), ("providers", Kind.PROVIDER))
_META_FIELDS: Final = ("parameter_schema", "config_schema", "rules_summary", "compatibility", "faramesh_version",
                       "dev_only")
# Cloud's own classification of the seeded official packs by domain (upstream has categories
# only: "tool", "demo", "agent-framework"), so people can find them by what they govern.
SEED_DOMAINS: Final = {
    "faramesh/stripe": ("payments",),
    "faramesh/shell": ("code-execution",),
    "faramesh/github": ("source-control", "code-execution"),
    "faramesh/openai": ("llm",),
    "faramesh/mcp": ("mcp", "tools"),
    "faramesh/demo": ("demo",),
}


class SnapshotError(ValueError):
    """A snapshot file is missing, malformed or fails its signature; the message names it."""


@dataclass(frozen=True, slots=True)
class SnapshotKey:
    key_id: str
    public_key: bytes
    owner: str
    created_at: str
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class SnapshotBinary:
    platform: str
    sha256: str
    size: int
    signature_b64: str
    data: bytes | None  # None: not in the snapshot


@dataclass(frozen=True, slots=True)
class SnapshotVersion:
    kind: Kind
    name: str
    namespace: str
    version: str
    description: str
    category: str
    trust_tier: str
    capabilities: tuple[str, ...]
    domains: tuple[str, ...]
    changelog: str
    meta: dict[str, Any]
    signature: dict[str, Any]
    key_id: str
    body: bytes | None = None  # policy.fpl / profile.fpl
    yaml: bytes | None = None
    readme: bytes | None = None
    manifest: dict[str, Any] | None = None
    binaries: tuple[SnapshotBinary, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Snapshot:
    registry_id: str
    keys: tuple[SnapshotKey, ...]
    versions: tuple[SnapshotVersion, ...]


def _json(path: Path, root: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"{path.relative_to(root)}: missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path.relative_to(root)}: not valid JSON ({exc})") from None


def _read(path: Path, root: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"{path.relative_to(root)}: missing") from None


def _keys(root: Path) -> tuple[tuple[SnapshotKey, ...], dict[str, TrustedKey]]:
    raw = _json(root / "trust" / "keys.json", root)
    keys: list[SnapshotKey] = []
    for entry in raw.get("keys", []) if isinstance(raw, dict) else []:
        try:
            keys.append(SnapshotKey(str(entry["id"]), public_key_bytes(entry["public_key_b64"]),
                                    str(entry.get("owner", "")), str(entry.get("created_at", "")),
                                    str(entry.get("purpose", ""))))
        except (KeyError, TypeError, SignatureError) as exc:
            raise SnapshotError(f"trust/keys.json: a key entry is not usable ({exc})") from None
    official = next((k for k in keys if k.key_id == OFFICIAL_KEY_ID), None)
    if official is None or official.public_key != public_key_bytes(OFFICIAL_PUBLIC_KEY_B64):
        raise SnapshotError(f"trust/keys.json: does not list the official key {OFFICIAL_KEY_ID} "
                            f"({OFFICIAL_PUBLIC_KEY_B64}) unchanged")
    # Only the pinned official key is trusted (and listed) from the seed; other keys are not.
    return (official,), {official.key_id: TrustedKey(official.key_id, official.public_key)}


def load_snapshot(root: Path = SEED_DIR) -> Snapshot:
    """Every artifact version of the catalog at ``root``, each signature verified."""
    catalog = _json(root / "catalog.json", root)
    if not isinstance(catalog, dict):
        raise SnapshotError("catalog.json: not a JSON object")
    keys, trusted = _keys(root)
    versions: list[SnapshotVersion] = []
    for section, kind in _SECTIONS:
        for entry in catalog.get(section) or []:
            for version, rel in sorted((entry.get("versions") or {}).items()):
                versions.append(_version(root, kind, entry, str(version), str(rel), trusted))
    return Snapshot(str(catalog.get("registry_id", "")), keys, tuple(versions))


def _version(root: Path, kind: Kind, entry: dict[str, Any], version: str, rel: str,
             trusted: dict[str, TrustedKey]) -> SnapshotVersion:
    where = f"catalog.json {kind.plural} {entry.get('name')!r}@{version}"
    try:
        name = parse_name(kind, str(entry.get("name", "")))
        Version.parse(version)
    except ValueError as exc:
        raise SnapshotError(f"{where}: {exc}") from None
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        raise SnapshotError(f"{where}: path {rel!r} leaves the catalog")
    folder = path.parent
    meta_file = folder / "meta.json"
    meta_raw: dict[str, Any] = _json(meta_file, root) if meta_file.is_file() else {}
    common: dict[str, Any] = {
        "kind": kind, "name": name.name, "namespace": name.namespace, "version": version,
        "description": str(meta_raw.get("description") or entry.get("description") or ""),
        "category": str(entry.get("category") or meta_raw.get("category") or ""),
        "trust_tier": str(entry.get("trust_tier") or "community"),
        "capabilities": tuple(str(c).upper() for c in entry.get("capabilities") or ()),
        "domains": SEED_DOMAINS.get(name.name, ()),
        "changelog": str(meta_raw.get("changelog") or ""),
    }
    readme = folder / "README.md"
    if kind is Kind.PROVIDER:
        return _provider(root, path, common, meta_raw, trusted, readme.read_bytes() if readme.is_file() else None)
    body = _read(path, root)
    sig_path = path.with_name(path.name + ".sig")
    signature = _json(sig_path, root)
    try:
        key = verify_signature(signature, body, trusted)
    except SignatureError as exc:
        raise SnapshotError(f"{sig_path.relative_to(root)}: signature over {path.name} does not verify "
                            f"against the official key: {exc}") from None
    yaml = folder / "policy.yaml"
    meta = {k: meta_raw[k] for k in _META_FIELDS if k in meta_raw}
    return SnapshotVersion(**common, meta=meta, signature=signature, key_id=key.key_id, body=body,
                           yaml=yaml.read_bytes() if yaml.is_file() else None,
                           readme=readme.read_bytes() if readme.is_file() else None)


def _provider(root: Path, path: Path, common: dict[str, Any], meta_raw: dict[str, Any],
              trusted: dict[str, TrustedKey], readme: bytes | None) -> SnapshotVersion:
    where = str(path.relative_to(root))
    manifest = _json(path, root)
    if not isinstance(manifest, dict):
        raise SnapshotError(f"{where}: not a JSON object")
    try:
        key = verify_signature(manifest.get("signature"), manifest_signed_bytes(manifest), trusted)
    except SignatureError as exc:
        raise SnapshotError(f"{where}: manifest signature does not verify against the official key: {exc}") from None
    if manifest.get("name") != common["name"] or manifest.get("version") != common["version"]:
        raise SnapshotError(f"{where}: names {manifest.get('name')}@{manifest.get('version')}, not "
                            f"{common['name']}@{common['version']} as catalog.json says")
    binaries: list[SnapshotBinary] = []
    for platform, download in sorted((manifest.get("downloads") or {}).items()):
        try:
            check_platform(platform)
            url, sha, size = str(download["url"]), str(download["sha256_hex"]).lower(), int(download["size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotError(f"{where}: download {platform!r} is not usable ({exc})") from None
        binary = (path.parent / url.removeprefix("file://")).resolve()
        if path.parent.resolve() not in binary.parents:
            raise SnapshotError(f"{where}: download {platform} url {url!r} leaves the artifact folder")
        sig_file = binary.with_name(binary.name + ".sig")
        try:
            sig = check_binary_signature(_read(sig_file, root).decode("ascii", "replace"))
        except SignatureError as exc:
            raise SnapshotError(f"{sig_file.relative_to(root)}: {exc}") from None
        data = binary.read_bytes() if binary.is_file() else None
        if data is not None:
            if hashlib.sha256(data).hexdigest() != sha or len(data) != size:
                data = None  # a stray (the snapshot's 0-byte file): not the binary the manifest names
            else:
                try:
                    verify_binary_signature(sig, data, trusted[key.key_id])
                except SignatureError as exc:
                    raise SnapshotError(f"{sig_file.relative_to(root)}: {exc}") from None
        binaries.append(SnapshotBinary(platform, sha, size, sig, data))
    meta = {k: manifest[k] for k in ("config_schema", "dev_only") if k in manifest}
    meta |= {k: meta_raw[k] for k in _META_FIELDS if k in meta_raw and k not in meta}
    return SnapshotVersion(**common, meta=meta, signature=manifest["signature"], key_id=key.key_id,
                           readme=readme, manifest=manifest, binaries=tuple(binaries))
