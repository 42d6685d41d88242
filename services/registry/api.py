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

With ``org_id`` (:meth:`version`, :meth:`check_imports`, :meth:`trust_keys`) "verified" is for
that organisation: valid under a listed key AND that key in the organisation's trust set
(``org_trust``: its own choice, else the official key and Cloud's registry keys); a version
signed by a listed key the organisation does not trust is ``org-untrusted``, "signed by a key
your organisation does not trust". Without ``org_id``: any listed key (the daemon API's view).
:meth:`set_trusted_keys` changes an organisation's set (audited).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
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
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.registry import org_trust
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
    verdict: str = Verdict.VERIFIED.value  # verified | unsigned | untrusted-key | invalid | malformed | org-untrusted


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
    trusted: bool = True  # by the organisation asked about (every listed key, asked about none)


def _summary(a: ArtifactRow) -> ArtifactSummary:
    return ArtifactSummary(a.kind, a.name, a.namespace, a.description, a.category, a.domains, a.trust_tier,
                           a.capabilities, a.latest_version, a.platforms)


def _version_summary(v: VersionRow, downloads: int) -> VersionSummary:
    return VersionSummary(v.version, v.state, v.published_at, v.published_by, v.source, v.changelog, v.key_id,
                          downloads, v.yanked_at, v.yank_reason)


class RegistryApi:
    def __init__(self, store: RegistryStore, blobs: Blobs, *, audit: PlatformAuditLog | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._store = store
        self._blobs = blobs
        self._audit = audit or PlatformAuditLog(store.db)
        self._clock = clock

    async def _trust(self, org_id: str | None) -> tuple[list[KeyRow], frozenset[str] | None]:
        keys = await self._store.keys()
        return keys, (None if org_id is None else await org_trust.trusted_ids(self._store.db, org_id, keys))

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

    async def version(self, kind: Kind | str, name: str, version: str, *, org_id: str | None = None
                      ) -> VersionDetail | None:
        kind = Kind.parse(kind)
        row = await self._store.version(kind, name, version)
        artifact = await self._store.artifact(kind, name)
        if row is None or artifact is None:
            return None
        fpl = await self._blobs.text(row.body_sha256)
        binaries = tuple(BinaryInfo(b.platform, b.sha256, b.size, b.signature_b64, b.hosted)
                         for b in await self._store.binaries(name, version))
        days = tuple(await self._store.download_days(kind, name, version))
        keys, trusted = await self._trust(org_id)
        return VersionDetail(
            kind.value, name, version, _version_summary(row, sum(n for _, n in days)), _summary(artifact), row.meta,
            fpl, hashlib.sha256(fpl.encode()).hexdigest() if fpl is not None else None,
            await self._blobs.text(row.yaml_sha256), await self._blobs.text(row.readme_sha256), row.manifest,
            binaries, row.signature, _signature_status(row, fpl, keys, trusted), days,
            *_derived(kind, name, version, row.meta, fpl))

    async def check_imports(self, governance_fms: str, *, org_id: str | None = None) -> tuple[ImportCheck, ...]:
        """Each import of ``governance_fms`` in order, judged against the keys ``org_id`` trusts
        (none given: every listed key)."""
        keys, trusted = await self._trust(org_id)
        return tuple([await self._check(ref, keys, trusted) for ref in parse_imports(governance_fms)])

    async def _check(self, ref: ImportRef, keys: list[KeyRow], trusted: frozenset[str] | None) -> ImportCheck:
        def said(status: str, reason: str, key_id: str = "") -> ImportCheck:
            return ImportCheck(ref.line, ref.import_path, ref.kind, ref.name, ref.version, status, reason, key_id)

        if ref.problem:
            return said("refused", ref.problem)
        row = await self._store.version(Kind.parse(ref.kind), ref.name, ref.version)
        if row is None:
            return said("not-in-registry", f"{ref.kind} {ref.name}@{ref.version} is not in this registry")
        status = _signature_status(row, await self._blobs.text(row.body_sha256), keys, trusted)
        if row.yanked:
            return said("yanked", f"yanked: {row.yank_reason or 'no reason given'}", status.key_id)
        if not status.verified:
            return said("unverified", f"{status.verdict}: {status.problem}", status.key_id)
        retired = ", retired since, still valid for what it signed" if status.key_retired else ""
        return said("verified", f"signed by {status.key_origin} key {status.key_id}{retired}", status.key_id)

    async def trust_keys(self, *, org_id: str | None = None) -> tuple[TrustKey, ...]:
        """The listed keys; with ``org_id``, each says whether that organisation trusts it."""
        keys, trusted = await self._trust(org_id)
        return tuple(TrustKey(k.key_id, k.algorithm, b64(k.public_key), k.owner, k.origin, k.purpose, k.created_at,
                              k.retired_at, trust_snippet(k.key_id, k.public_key),
                              trusted is None or k.key_id in trusted) for k in keys)

    async def set_trusted_keys(self, org_id: str, key_ids: Iterable[str], actor: Actor) -> tuple[TrustKey, ...]:
        """Replace ``org_id``'s trust set (the caller checked ``registry:trust:manage``);
        ``org_trust.TrustRefused`` (a ValueError) for no key or a key not listed."""
        await org_trust.set_trusted(self._store.db, self._store, self._audit, org_id, key_ids, actor, self._clock())
        return await self.trust_keys(org_id=org_id)


def _signature_status(row: VersionRow, fpl: str | None, keys: list[KeyRow],
                      trusted: frozenset[str] | None = None) -> SignatureStatus:
    """Strictly against the listed keys; then, with ``trusted`` (an organisation's key ids), the
    key that signed must be one of them."""
    named = str(row.signature.get("key_id", "")) if isinstance(row.signature, dict) else ""
    listed = {k.key_id: k for k in keys}.get(named)
    origin, retired = (listed.origin, listed.retired_at is not None) if listed else ("", False)
    try:
        signed = manifest_signed_bytes(row.manifest) if row.manifest is not None else (fpl or "").encode()
        key = verify_signature(row.signature, signed, trusted_keys(keys))
    except SignatureError as exc:
        return SignatureStatus(False, named, origin, retired, str(exc), exc.verdict.value)
    if trusted is not None and key.key_id not in trusted:
        return SignatureStatus(False, named, origin, retired,
                               f"signed by a key your organisation does not trust ({key.key_id}); an Owner or Admin "
                               "can add it under Registry → Trust keys", org_trust.UNTRUSTED_BY_ORG)
    return SignatureStatus(True, named, origin, retired, "")


def _derived(kind: Kind, name: str, version: str, meta: dict[str, Any], fpl: str | None
             ) -> tuple[str, str, tuple[ConfigItem, ...], PackPreview | None]:
    line = import_line(kind.value, name, version)
    snippet = framework_snippet(name, version) if kind is Kind.FRAMEWORK else line
    return line, snippet, tuple(config_checklist(meta)), pack_preview(fpl) if fpl is not None else None
