"""``RegistryApi``: the in-process read port the gateway's Registry section uses (plain
dataclasses out; the gRPC client, ``client.py``, returns the same).

* :meth:`search`: artifacts, paged and filtered (kind, text, domain/category, trust tier,
  capability, platform, namespace), each with its latest version; :meth:`facets`: the
  categories/domains and capabilities in use (a list page's filters). A bad filter raises
  ``ValueError``.
* :meth:`artifact`: one artifact with its version history (yanked ones included, marked) and
  download totals per version.
* :meth:`version`: one version: its FPL text and YAML sidecar (policies, frameworks), the
  provider manifest and its binaries per platform (hosted or not), meta (schemas, rules
  summary, compatibility), README, the signature checked now against the registry's listed
  keys (which key, or why not: ``verdict``), download counts per day; and what the FPL kernel
  (``faramesh_cloud.fpl.preview``) derives from it: the rule preview as the daemon parses it,
  the required-configuration checklist, the import line and (profiles) the snippet to copy.
* :meth:`check_imports`: each import of a governance.fms text (a stack's applied one), judged
  strictly: ``verified`` (in this registry, signature valid under a listed key), ``unverified``
  (why: untrusted key, invalid, ...), ``not-in-registry``, ``yanked``, or ``refused`` (the daemon
  would refuse the reference itself: ``@latest``, no pin, unknown kind).
* :meth:`trust_keys`: the listed keys (official and Cloud's, retired ones with ``retired_at``)
  and, per key, the ``trust { }`` snippet a stack's governance.fms carries.

What a stack trusts is, today, every key the registry lists (the official key and Cloud's,
retired ones included: they verify what they signed); a per-organisation trust list would
narrow ``trusted_keys``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Final

from faramesh_cloud.fpl.preview import (
    ConfigItem,
    ImportRef,
    PackPreview,
    config_checklist,
    framework_snippet,
    import_line,
    pack_preview,
    parse_imports,
)
from faramesh_cloud.registry.domain import Kind, TrustTier
from faramesh_cloud.registry.keyring import trusted_keys
from faramesh_cloud.registry.keys import trust_snippet
from faramesh_cloud.registry.reads import Blobs
from faramesh_cloud.registry.signatures import (
    SignatureError,
    Verdict,
    b64,
    manifest_signed_bytes,
    verify_signature,
)
from faramesh_cloud.registry.store import (
    MAX_PAGE,
    ArtifactRow,
    KeyRow,
    Page,
    RegistryStore,
    SearchFilter,
    VersionRow,
)

IMPORT_STATUSES: Final = ("verified", "unverified", "not-in-registry", "yanked", "refused")


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
    verdict: str = Verdict.VERIFIED.value  # verified | unsigned | untrusted-key | invalid | malformed


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
    import_line: str  # the governance.fms line that pulls this version
    snippet: str  # what to copy: a framework profile's governance.fms starter, else the import line
    checklist: tuple[ConfigItem, ...]  # parameter_schema / config_schema, required first
    preview: PackPreview | None  # packs and profiles: as the daemon parses the FPL


@dataclass(frozen=True, slots=True)
class ImportCheck:
    """One import of a governance.fms, judged by this registry (``IMPORT_STATUSES``)."""

    line: int
    ref: str  # as written
    kind: str
    name: str
    version: str
    status: str
    reason: str
    key_id: str = ""


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

    async def search(self, kind: str = "", *, text: str = "", tier: str = "", category: str = "",
                     capability: str = "", platform: str = "", namespace: str = "", limit: int = 50,
                     offset: int = 0) -> ArtifactPage:
        if tier and tier not in tuple(TrustTier):
            raise ValueError(f"unknown trust tier {tier!r} (want official or community)")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise ValueError(f"limit must be 1 to {MAX_PAGE} and offset not negative")
        page: Page = await self._store.search(SearchFilter(
            Kind.parse(kind) if kind else None, text.strip(), tier, category.strip(), capability.strip(),
            platform.strip(), namespace.strip(), limit, offset))
        return ArtifactPage(tuple(_summary(a) for a in page.items), page.total, page.limit, page.offset)

    async def facets(self, kind: str) -> dict[str, list[str]]:
        """``domains`` (categories and domains) and ``capabilities`` in use for ``kind``."""
        return await self._store.facets(Kind.parse(kind))

    async def artifact(self, kind: Kind | str, name: str) -> ArtifactDetail | None:
        kind = Kind.parse(kind)
        row = await self._store.artifact(kind, name)
        if row is None:
            return None
        totals = await self._store.download_totals(kind, name)
        versions = tuple(_version_summary(v, totals.get(v.version, 0)) for v in await self._store.versions(kind, name))
        return ArtifactDetail(_summary(row), row.created_at, versions, sum(totals.values()))

    async def version(self, kind: Kind | str, name: str, version: str) -> VersionDetail | None:
        kind = Kind.parse(kind)
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
            binaries, row.signature, _signature_status(row, fpl, await self._store.keys()), days,
            *_derived(kind, name, version, row.meta, fpl))

    async def check_imports(self, governance_fms: str) -> tuple[ImportCheck, ...]:
        """Each import of ``governance_fms`` in order, judged against the listed keys."""
        keys = await self._store.keys()
        return tuple([await self._check(ref, keys) for ref in parse_imports(governance_fms)])

    async def _check(self, ref: ImportRef, keys: list[KeyRow]) -> ImportCheck:
        def said(status: str, reason: str, key_id: str = "") -> ImportCheck:
            return ImportCheck(ref.line, ref.import_path, ref.kind, ref.name, ref.version, status, reason, key_id)

        if ref.problem:
            return said("refused", ref.problem)
        row = await self._store.version(Kind.parse(ref.kind), ref.name, ref.version)
        if row is None:
            return said("not-in-registry", f"{ref.kind} {ref.name}@{ref.version} is not in this registry")
        status = _signature_status(row, await self._blobs.text(row.body_sha256), keys)
        if row.yanked:
            return said("yanked", f"yanked: {row.yank_reason or 'no reason given'}", status.key_id)
        if not status.verified:
            return said("unverified", f"{status.verdict}: {status.problem}", status.key_id)
        retired = ", retired since, still valid for what it signed" if status.key_retired else ""
        return said("verified", f"signed by {status.key_origin} key {status.key_id}{retired}", status.key_id)

    async def trust_keys(self) -> tuple[TrustKey, ...]:
        return tuple(TrustKey(k.key_id, k.algorithm, b64(k.public_key), k.owner, k.origin, k.purpose, k.created_at,
                              k.retired_at, trust_snippet(k.key_id, k.public_key)) for k in await self._store.keys())


def _signature_status(row: VersionRow, fpl: str | None, keys: list[KeyRow]) -> SignatureStatus:
    named = str(row.signature.get("key_id", "")) if isinstance(row.signature, dict) else ""
    listed = {k.key_id: k for k in keys}.get(named)
    origin, retired = (listed.origin, listed.retired_at is not None) if listed else ("", False)
    try:
        signed = manifest_signed_bytes(row.manifest) if row.manifest is not None else (fpl or "").encode()
        verify_signature(row.signature, signed, trusted_keys(keys))
    except SignatureError as exc:
        return SignatureStatus(False, named, origin, retired, str(exc), exc.verdict.value)
    return SignatureStatus(True, named, origin, retired, "")


def _derived(kind: Kind, name: str, version: str, meta: dict[str, Any], fpl: str | None
             ) -> tuple[str, str, tuple[ConfigItem, ...], PackPreview | None]:
    line = import_line(kind.value, name, version)
    snippet = framework_snippet(name, version) if kind is Kind.FRAMEWORK else line
    return line, snippet, tuple(config_checklist(meta)), pack_preview(fpl) if fpl is not None else None
