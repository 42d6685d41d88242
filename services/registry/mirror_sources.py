"""Where a mirror reads from: an HTTP registry speaking the daemon API, or a local checkout of
a catalog (``catalog/catalog.json`` layout). Both list the versions there are and describe
one version **verified against the pinned keys only** (never the key a response carries):
policies and framework profiles by their ``.fpl.sig`` over the exact FPL bytes (and, over
HTTP, ``sha256_hex`` against those bytes), providers by the manifest's signature over its
Go-JSON. A version that does not verify raises :class:`Quarantine` with the reason.

Provider binaries are fetched only for versions the mirror is about to store
(:meth:`binaries`): streamed into the BlobStore with the SHA-256 the *signed* manifest names
(``DigestMismatch``: quarantined), and their bare-base64 ``.sig`` verified when the upstream
serves one. A binary the upstream does not host (404) is listed unhosted, as the seed does.

Upstream's own server (faramesh-registry) answers search with ``packs`` and rewrites the
manifest's ``file://`` URLs; its provider answer has no ``manifest``, so the manifest is
rebuilt from the answer and the signature checked against the ``file://bin/<file>`` and
``file://<file>`` spellings of each URL (upstream's catalog layout). Cloud's answers carry
``results`` and the manifest exactly as signed.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import httpx

from faramesh_cloud.blobstore import BlobStore, BlobTooLarge, DigestMismatch
from faramesh_cloud.registry.domain import Kind, Version, check_platform, parse_name
from faramesh_cloud.registry.signatures import (
    SignatureError,
    TrustedKey,
    check_binary_signature,
    manifest_signed_bytes,
    verify_binary_signature,
    verify_signature,
)
from faramesh_cloud.registry.snapshot import (
    OFFICIAL_KEY_ID,
    SnapshotBinary,
    SnapshotError,
    SnapshotVersion,
    catalog_entries,
    read_catalog,
    read_version,
)

MAX_BINARY: Final = 256 * 1024 * 1024
_META_FIELDS: Final = ("parameter_schema", "rules_summary", "compatibility", "faramesh_version")


class MirrorProblem(Exception):
    """Base of a version's two outcomes that are not "stored"; ``blobs``: what the source had
    put in the BlobStore for it already (the mirror deletes them unless a row names them)."""

    blobs: list[str]

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.blobs = []


class Quarantine(MirrorProblem):
    """The version must not be served; ``reason`` says why (shown to people)."""

    def __init__(self, reason: str, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.detail = dict(detail or {})


class FetchError(MirrorProblem):
    """The upstream could not be read (network, HTTP status, not JSON): retried next run."""


@dataclass(frozen=True, slots=True)
class Item:
    kind: Kind
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class Fetched:
    version: SnapshotVersion
    hosted: dict[str, str]  # platform -> sha256 of the bytes put in the BlobStore


class Source(Protocol):
    label: str

    async def items(self) -> list[Item]: ...

    async def describe(self, item: Item, pins: Mapping[str, TrustedKey]) -> SnapshotVersion: ...

    async def binaries(self, v: SnapshotVersion, key: TrustedKey, blobs: BlobStore) -> Fetched:
        """``v`` with its binaries' ``.sig`` filled in, after putting the bytes the upstream
        hosts into ``blobs`` (their digests in ``hosted``)."""
        ...

    async def close(self) -> None: ...


def tier_for(v: SnapshotVersion) -> SnapshotVersion:
    """Only the official key makes an artifact official here; anything else is community."""
    return v if v.key_id == OFFICIAL_KEY_ID else replace(v, trust_tier="community")


# --- a local checkout -------------------------------------------------------------------------------

class CheckoutSource:
    """A checkout of a catalog: the directory holding ``catalog/catalog.json`` (as
    ``FARAMESH_REGISTRY_ROOT``) or the ``catalog`` directory itself."""

    def __init__(self, path: Path) -> None:
        root = Path(path)
        self.root = root / "catalog" if (root / "catalog" / "catalog.json").is_file() else root
        if not (self.root / "catalog.json").is_file():
            raise FetchError(f"{path}: no catalog/catalog.json here (expected a faramesh-registry checkout)")
        self.label = f"file://{self.root.resolve()}"
        self._entries: dict[Item, tuple[dict[str, Any], str]] = {}

    async def items(self) -> list[Item]:
        try:
            catalog = read_catalog(self.root)
        except SnapshotError as exc:
            raise FetchError(str(exc)) from None
        self._entries = {Item(kind, str(entry.get("name", "")), version): (entry, rel)
                         for kind, entry, version, rel in catalog_entries(catalog)}
        return list(self._entries)

    async def describe(self, item: Item, pins: Mapping[str, TrustedKey]) -> SnapshotVersion:
        entry, rel = self._entries[item]
        try:
            return tier_for(read_version(self.root, item.kind, entry, item.version, rel, dict(pins)))
        except SnapshotError as exc:
            raise Quarantine(str(exc)) from None

    async def binaries(self, v: SnapshotVersion, key: TrustedKey, blobs: BlobStore) -> Fetched:
        return Fetched(v, {})  # read_version verified and read the ones present; the store puts their bytes

    async def close(self) -> None:
        return None


# --- an HTTP registry ------------------------------------------------------------------------------

def _quote(name: str) -> str:
    return name.replace("/", "%2F")


class HttpSource:
    """A registry URL speaking the daemon API (Cloud's ``…/registry`` or faramesh-registry's)."""

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FetchError(f"{url}: a registry URL is http(s)://host[/base]")
        self.base = url.rstrip("/")
        self.label = self.base
        self._client = client or httpx.AsyncClient(timeout=60.0, follow_redirects=True)
        self._search: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._answers: dict[Item, Mapping[str, Any]] = {}

    async def _get(self, path: str) -> Any:
        url = f"{self.base}/{path}"
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {exc}") from None
        if response.status_code != 200:
            raise FetchError(f"GET {url}: HTTP {response.status_code}: {response.text.strip()[:200]}")
        try:
            return response.json()
        except ValueError:
            raise FetchError(f"GET {url}: not JSON") from None

    async def items(self) -> list[Item]:
        found = await self._get("v1/search")
        listed = (found.get("results") or found.get("packs") or []) if isinstance(found, dict) else []
        out: list[Item] = []
        for entry in listed:
            try:
                kind = Kind.parse(str(entry.get("kind", "")))
            except ValueError:
                continue
            name = str(entry.get("name", ""))
            self._search[(kind.value, name)] = entry
            answer = await self._get(f"v1/{kind.plural}/{_quote(name)}/versions")
            for v in answer.get("versions") or [] if isinstance(answer, dict) else []:
                if isinstance(v, dict) and v.get("version") and not v.get("yanked"):
                    out.append(Item(kind, name, str(v["version"])))
        return out

    async def describe(self, item: Item, pins: Mapping[str, TrustedKey]) -> SnapshotVersion:
        try:
            name = parse_name(item.kind, item.name)
            Version.parse(item.version)
        except ValueError as exc:
            raise Quarantine(f"{item}: {exc}") from None
        answer = await self._get(f"v1/{item.kind.plural}/{_quote(item.name)}/versions/{item.version}")
        if not isinstance(answer, dict):
            raise FetchError(f"{item}: the answer is not a JSON object")
        self._answers[item] = answer
        listed = self._search.get((item.kind.value, item.name), {})
        common: dict[str, Any] = {
            "kind": item.kind, "name": name.name, "namespace": name.namespace, "version": item.version,
            "description": str(answer.get("description") or listed.get("description") or ""),
            "category": "" if item.kind is Kind.PROVIDER else str(listed.get("category") or ""),
            "trust_tier": str(answer.get("trust_tier") or listed.get("trust_tier") or "community"),
            "capabilities": tuple(str(c).upper() for c in answer.get("capabilities") or ()),
            "domains": (), "changelog": str(answer.get("changelog") or ""),
        }
        readme = answer.get("readme_markdown")
        common["readme"] = readme.encode() if isinstance(readme, str) and readme else None
        if item.kind is Kind.PROVIDER:
            return tier_for(self._provider(item, answer, common, pins))
        fpl = answer.get("policy_fpl")
        if not isinstance(fpl, str) or not fpl:
            raise Quarantine(f"{item}: the answer has no policy_fpl")
        body = fpl.encode()
        digest = hashlib.sha256(body).hexdigest()
        claimed = str(answer.get("sha256_hex") or "").lower()
        if claimed and claimed != digest:
            raise Quarantine(f"{item}: sha256 mismatch: the answer says {claimed}, its policy_fpl is {digest}",
                             {"sha256_hex": claimed, "body_sha256": digest})
        try:
            key = verify_signature(answer.get("signature"), body, pins)
        except SignatureError as exc:
            raise Quarantine(f"{item}: signature: {exc}", {"body_sha256": digest}) from None
        yaml = answer.get("policy_yaml")
        meta = {k: answer[k] for k in _META_FIELDS if k in answer}
        return tier_for(SnapshotVersion(**common, meta=meta, signature=dict(answer["signature"]), key_id=key.key_id,
                                        body=body, yaml=yaml.encode() if isinstance(yaml, str) and yaml else None))

    def _provider(self, item: Item, answer: dict[str, Any], common: dict[str, Any],
                  pins: Mapping[str, TrustedKey]) -> SnapshotVersion:
        served = answer.get("downloads") if isinstance(answer.get("downloads"), dict) else {}
        try:
            manifest, key = signed_manifest(answer, pins)
        except SignatureError as exc:
            raise Quarantine(f"{item}: manifest signature: {exc}") from None
        if manifest.get("name") != item.name or manifest.get("version") != item.version:
            raise Quarantine(f"{item}: the signed manifest names {manifest.get('name')}@{manifest.get('version')}")
        binaries = []
        for platform, download in sorted((manifest.get("downloads") or {}).items()):
            try:
                check_platform(platform)
                sha, size = str(download["sha256_hex"]).lower(), int(download["size"])
            except (ValueError, KeyError, TypeError) as exc:
                raise Quarantine(f"{item}: download {platform!r} is not usable ({exc})") from None
            offered = served.get(platform) or {}
            if offered and str(offered.get("sha256_hex", "")).lower() != sha:
                raise Quarantine(f"{item}: download {platform}: the answer's sha256 {offered.get('sha256_hex')} is "
                                 f"not the signed manifest's {sha}")
            binaries.append(SnapshotBinary(platform, sha, size, "", None))
        meta = {k: manifest[k] for k in ("config_schema", "dev_only") if k in manifest}
        return SnapshotVersion(**common, meta=meta, signature=dict(manifest["signature"]), key_id=key.key_id,
                               manifest=dict(manifest), binaries=tuple(binaries))

    async def binaries(self, v: SnapshotVersion, key: TrustedKey, blobs: BlobStore) -> Fetched:
        """Each binary the upstream hosts, streamed into ``blobs``; its ``.sig`` verified when served."""
        item = Item(v.kind, v.name, v.version)
        served = self._answers.get(item, {}).get("downloads") or {}
        hosted: dict[str, str] = {}
        out: list[SnapshotBinary] = []
        try:
            for b in v.binaries:
                url = str((served.get(b.platform) or {}).get("url") or "")
                sig = await self._text(url + ".sig") if url else None
                if sig is not None:
                    try:
                        sig = check_binary_signature(sig)
                    except SignatureError as exc:
                        raise Quarantine(f"{item}: binary {b.platform} .sig: {exc}") from None
                out.append(replace(b, signature_b64=sig or ""))
                digest = await self._stream(item, b, url, blobs) if url else None
                if digest is None:
                    continue
                hosted[b.platform] = digest
                if sig is not None:
                    try:
                        verify_binary_signature(sig, await blobs.read_bytes(digest, max_size=MAX_BINARY), key)
                    except SignatureError as exc:
                        raise Quarantine(f"{item}: binary {b.platform} signature: {exc}",
                                         {"platform": b.platform, "sha256": digest}) from None
        except MirrorProblem as exc:
            exc.blobs.extend(hosted.values())
            raise
        return Fetched(replace(v, binaries=tuple(out)), hosted)

    async def _text(self, url: str) -> str | None:
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {exc}") from None
        return response.text if response.status_code == 200 else None

    async def _stream(self, item: Item, b: SnapshotBinary, url: str, blobs: BlobStore) -> str | None:
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code == 404:
                    return None  # listed, not hosted there
                if response.status_code != 200:
                    raise FetchError(f"GET {url}: HTTP {response.status_code}")
                info = await blobs.put(_chunks(response), max_size=max(b.size, 1), expected_sha256=b.sha256)
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {exc}") from None
        except DigestMismatch:
            raise Quarantine(f"{item}: binary {b.platform}: its bytes do not have the sha256 {b.sha256} the signed "
                             "manifest names", {"platform": b.platform}) from None
        except BlobTooLarge:
            raise Quarantine(f"{item}: binary {b.platform}: larger than the {b.size} bytes the signed manifest "
                             "names", {"platform": b.platform}) from None
        return info.sha256

    async def close(self) -> None:
        await self._client.aclose()


async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_bytes():
        yield chunk


def signed_manifest(answer: Mapping[str, Any], trusted: Mapping[str, TrustedKey]) -> tuple[dict[str, Any], TrustedKey]:
    """The provider manifest of a version answer whose signature a ``trusted`` key made, and
    that key (Cloud's answers carry the manifest as signed; faramesh-registry's are rebuilt);
    ``SignatureError`` with the last reason otherwise."""
    served = answer.get("downloads") if isinstance(answer.get("downloads"), dict) else {}
    candidates = [answer["manifest"]] if isinstance(answer.get("manifest"), dict) else rebuilt_manifests(answer, served)
    problem = "the answer has no manifest to verify"
    for manifest in candidates:
        try:
            return dict(manifest), verify_signature(manifest.get("signature"), manifest_signed_bytes(manifest), trusted)
        except SignatureError as exc:
            problem = str(exc)
    raise SignatureError(problem)


def rebuilt_manifests(answer: Mapping[str, Any], served: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The manifests faramesh-registry's server may have signed, from its provider answer
    (it rewrote ``file://`` URLs to its ``/artifacts/`` ones)."""
    out = []
    for spelling in ("file://bin/{}", "file://{}", "{url}"):
        downloads = {}
        for platform, d in served.items():
            url = str(d.get("url", ""))
            base = posixpath.basename(urlsplit(url).path)
            downloads[platform] = {"url": url if spelling == "{url}" else spelling.format(base),
                                   "sha256_hex": d.get("sha256_hex", ""), "size": d.get("size", 0)}
        manifest: dict[str, Any] = {"name": answer.get("name", ""), "version": answer.get("version", "")}
        for k in ("dev_only", "capabilities", "config_schema"):
            if answer.get(k):
                manifest[k] = answer[k]
        out.append({**manifest, "downloads": downloads, "signature": answer.get("signature")})
    return out
