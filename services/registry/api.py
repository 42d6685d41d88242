"""``RegistryApi``: the in-process read port the gateway's Registry section uses (plain
dataclasses out; the gRPC client added later returns the same).

* :meth:`search`: artifacts, paged and filtered (kind, text, domain/category, trust tier,
  capability, platform, namespace), each with its latest version.
* :meth:`artifact`: one artifact with its version history (yanked ones included, marked) and
  download totals per version.
* :meth:`version`: one version: its FPL text and YAML sidecar (policies, frameworks), the
  provider manifest and its binaries per platform (hosted or not), meta (schemas, rules
  summary, compatibility), README, the signature checked now against the registry's listed
  keys (which key, or why not), download counts per day.
* :meth:`trust_keys`: the listed keys (official and Cloud's, retired ones with ``retired_at``)
  and, per key, the ``trust { }`` snippet a stack's governance.fms carries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.keyring import trusted_keys
from faramesh_cloud.registry.keys import trust_snippet
from faramesh_cloud.registry.reads import Blobs
from faramesh_cloud.registry.signatures import (
    SignatureError,
    b64,
    manifest_signed_bytes,
    verify_signature,
)
from faramesh_cloud.registry.store import ArtifactRow, Page, RegistryStore, SearchFilter, VersionRow


@dataclass(frozen=True, slots=True)
class ArtifactSummary:
    kind: str
    name: str
    namespace: str
    description: str
    category: str
    domains: tuple[str, ...]
    trust_tier: str
    capabilities: tuple[str, ...]
    latest_version: str
    platforms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArtifactPage:
    items: tuple[ArtifactSummary, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class VersionSummary:
    version: str
    state: str  # "published" | "yanked"
    published_at: dt.datetime
    published_by: str
    source: str
    changelog: str
    key_id: str
    downloads: int
    yanked_at: dt.datetime | None
    yank_reason: str


@dataclass(frozen=True, slots=True)
class ArtifactDetail:
    artifact: ArtifactSummary
    created_at: dt.datetime
    versions: tuple[VersionSummary, ...]
    downloads: int


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    verified: bool
    key_id: str  # the key the signature names
    key_origin: str  # "official" | "cloud" | "" (not a listed key)
    key_retired: bool
    problem: str  # why it does not verify ("" when verified)


@dataclass(frozen=True, slots=True)
class BinaryInfo:
    platform: str
    sha256: str
    size: int
    signature_b64: str
    hosted: bool


@dataclass(frozen=True, slots=True)
class VersionDetail:
    kind: str
    name: str
    version: str
    summary: VersionSummary
    artifact: ArtifactSummary
    meta: dict[str, Any]
    fpl: str | None
    fpl_sha256: str | None
    yaml: str | None
    readme: str | None
    manifest: dict[str, Any] | None
    binaries: tuple[BinaryInfo, ...]
    signature: dict[str, Any]
    signature_status: SignatureStatus
    downloads_by_day: tuple[tuple[dt.date, int], ...]


@dataclass(frozen=True, slots=True)
class TrustKey:
    key_id: str
    algorithm: str
    public_key_b64: str
    owner: str
    origin: str
    purpose: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    trust_snippet: str


def _summary(a: ArtifactRow) -> ArtifactSummary:
    return ArtifactSummary(a.kind, a.name, a.namespace, a.description, a.category, a.domains, a.trust_tier,
                           a.capabilities, a.latest_version, a.platforms)


def _version_summary(v: VersionRow, downloads: int) -> VersionSummary:
    return VersionSummary(v.version, v.state, v.published_at, v.published_by, v.source, v.changelog, v.key_id,
                          downloads, v.yanked_at, v.yank_reason)


class RegistryApi:
    def __init__(self, store: RegistryStore, blobs: Blobs) -> None:
        self._store = store
        self._blobs = blobs

    async def search(self, f: SearchFilter) -> ArtifactPage:
        page: Page = await self._store.search(f)
        return ArtifactPage(tuple(_summary(a) for a in page.items), page.total, page.limit, page.offset)

    async def artifact(self, kind: Kind, name: str) -> ArtifactDetail | None:
        row = await self._store.artifact(kind, name)
        if row is None:
            return None
        totals = await self._store.download_totals(kind, name)
        versions = tuple(_version_summary(v, totals.get(v.version, 0)) for v in await self._store.versions(kind, name))
        return ArtifactDetail(_summary(row), row.created_at, versions, sum(totals.values()))

    async def version(self, kind: Kind, name: str, version: str) -> VersionDetail | None:
        row = await self._store.version(kind, name, version)
        artifact = await self._store.artifact(kind, name)
        if row is None or artifact is None:
            return None
        fpl = await self._blobs.text(row.body_sha256)
        binaries = tuple(BinaryInfo(b.platform, b.sha256, b.size, b.signature_b64, b.hosted)
                         for b in await self._store.binaries(name, version))
        days = tuple(await self._store.download_days(kind, name, version))
        return VersionDetail(
            kind.value, name, version, _version_summary(row, sum(n for _, n in days)), _summary(artifact), row.meta,
            fpl, hashlib.sha256(fpl.encode()).hexdigest() if fpl is not None else None,
            await self._blobs.text(row.yaml_sha256), await self._blobs.text(row.readme_sha256), row.manifest,
            binaries, row.signature, await self._signature_status(row, fpl), days)

    async def _signature_status(self, row: VersionRow, fpl: str | None) -> SignatureStatus:
        keys = await self._store.keys()
        by_id = {k.key_id: k for k in keys}
        named = str(row.signature.get("key_id", "")) if isinstance(row.signature, dict) else ""
        listed = by_id.get(named)
        origin, retired = (listed.origin, listed.retired_at is not None) if listed else ("", False)
        try:
            signed = manifest_signed_bytes(row.manifest) if row.manifest is not None else (fpl or "").encode()
            verify_signature(row.signature, signed, trusted_keys(keys))
        except SignatureError as exc:
            return SignatureStatus(False, named, origin, retired, str(exc))
        return SignatureStatus(True, named, origin, retired, "")

    async def trust_keys(self) -> tuple[TrustKey, ...]:
        return tuple(TrustKey(k.key_id, k.algorithm, b64(k.public_key), k.owner, k.origin, k.purpose, k.created_at,
                              k.retired_at, trust_snippet(k.key_id, k.public_key)) for k in await self._store.keys())
