"""The registry's browse reads (the Registry section and its REST twin): artifact lists with
filters and keyset pages, one artifact at one version with its history, strict verification,
rule preview and config checklist, the trust keys, and a stack's imports judged against them.

Reads only: the registry's tables (``0001_create_registry.sql``) and its blobs (FPL bodies,
READMEs). The catalog is global; what an organisation trusts is per organisation (today the
official key and Cloud's registry keys, retired ones included, for every organisation: a
per-organisation trust list would narrow ``trusted``). Unknown names raise ``LookupError``;
bad filters ``ValueError``."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Final

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.registry.browse_views import (
    PLURAL,
    ArtifactDetail,
    ArtifactRow,
    ImportCheck,
    KeyView,
    Page,
    Platform,
    VersionRow,
    import_line,
    registry_imports,
    rule_preview,
    schema_fields,
    trust_snippet,
)
from faramesh_cloud.registry.strict import (
    TrustedKey,
    Verdict,
    Verification,
    manifest_signed_bytes,
    verify,
)
from faramesh_cloud.sql.database import Database

KINDS: Final = tuple(PLURAL)
TIERS: Final = ("official", "community")
MAX_LIMIT: Final = 200
MAX_TEXT: Final = 4 * 1024 * 1024  # an FPL body or README shown in a page
_ORDER: Final = "major DESC, minor DESC, patch DESC, (prerelease = '') DESC, prerelease DESC"
_ROW: Final = (
    "SELECT a.kind, a.name, a.namespace, coalesce(a.description, ''), coalesce(a.category, ''), "
    "coalesce(a.domains, '{}'), a.trust_tier, coalesce(a.capabilities, '{}'), "
    "(SELECT v.version FROM registry_versions v WHERE v.kind = a.kind AND v.name = a.name "
    f" AND v.state = 'published' ORDER BY {_ORDER} LIMIT 1), "
    "(SELECT coalesce(sum(d.count), 0) FROM registry_downloads d WHERE d.kind = a.kind AND d.name = a.name), "
    "(SELECT coalesce(array_agg(DISTINCT b.platform ORDER BY b.platform), '{}') FROM registry_binaries b "
    " WHERE a.kind = 'provider' AND b.name = a.name) "
    "FROM registry_artifacts a")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (want provider, policy or framework)")
    return kind


def _cursor(cursor: str | None) -> str:
    if not cursor:
        return ""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        raise ValueError("cursor is not one this API returned (pass next_cursor back unchanged)") from None


def _next(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode("ascii").rstrip("=")


class RegistryBrowse:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self._db = db
        self._blobs = blobs

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._db.connection() as conn:
            return list(await (await conn.execute(sql, params)).fetchall())

    async def artifacts(self, kind: str, *, q: str = "", domain: str = "", tier: str = "", capability: str = "",
                        limit: int = 50, cursor: str | None = None) -> Page:
        """Artifacts of ``kind`` by name: ``q`` in the name or description, ``domain`` its category
        or one of its domains, ``tier`` official/community, ``capability`` (providers)."""
        _kind(kind)
        if tier and tier not in TIERS:
            raise ValueError(f"unknown trust tier {tier!r} (want official or community)")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        where, params = ["a.kind = %s"], [kind]
        if q.strip():
            where.append("(a.name ILIKE %s OR a.description ILIKE %s)")
            like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [like, like]
        if domain.strip():
            where.append("(lower(a.category) = lower(%s) OR lower(%s) = ANY(SELECT lower(d) FROM unnest(a.domains) d))")
            params += [domain.strip(), domain.strip()]
        if tier:
            where.append("a.trust_tier = %s")
            params.append(tier)
        if capability.strip():
            where.append("upper(%s) = ANY(a.capabilities)")
            params.append(capability.strip())
        total = (await self._rows(f"SELECT count(*) FROM registry_artifacts a WHERE {' AND '.join(where)}",
                                  tuple(params)))[0][0]
        after = _cursor(cursor)
        if after:
            where.append("a.name > %s")
            params.append(after)
        rows = await self._rows(f"{_ROW} WHERE {' AND '.join(where)} ORDER BY a.name LIMIT %s", (*params, limit + 1))
        items = [_artifact_row(r) for r in rows[:limit]]
        return Page(items, int(total), _next(items[-1].name) if len(rows) > limit else None)

    async def facets(self, kind: str) -> dict[str, list[str]]:
        """The categories/domains and capabilities in use for ``kind`` (a list page's filters)."""
        rows = await self._rows("SELECT coalesce(category, ''), coalesce(domains, '{}'), "
                                "coalesce(capabilities, '{}') FROM registry_artifacts WHERE kind = %s", (_kind(kind),))
        domains = {r[0] for r in rows if r[0]} | {d for r in rows for d in r[1]}
        return {"domains": sorted(domains), "capabilities": sorted({c for r in rows for c in r[2]})}

    async def trusted(self, org_id: str) -> dict[str, TrustedKey]:
        """The keys ``org_id`` trusts: every key Cloud lists (official and its own, retired too)."""
        rows = await self._rows("SELECT key_id, public_key, owner, origin, retired_at IS NOT NULL "
                                "FROM registry_keys WHERE algorithm = 'ed25519'", ())
        return {r[0]: TrustedKey(r[0], bytes(r[1]), r[2] or "", r[3], bool(r[4])) for r in rows}

    async def trust_keys(self) -> list[KeyView]:
        rows = await self._rows("SELECT key_id, algorithm, public_key, coalesce(owner, ''), origin, created_at, "
                                "retired_at FROM registry_keys ORDER BY origin DESC, created_at, key_id", ())
        out = []
        for r in rows:
            b64 = base64.b64encode(bytes(r[2])).decode("ascii")
            out.append(KeyView(r[0], r[1], b64, r[3], r[4], r[5], r[6],
                               trust_snippet(r[0], b64) if r[4] == "cloud" else ""))
        return out

    async def _versions(self, kind: str, name: str) -> list[tuple[Any, ...]]:
        return await self._rows(
            "SELECT v.version, v.state, v.published_at, coalesce(v.source, ''), coalesce(v.changelog, ''), "
            "coalesce(v.key_id, ''), v.yanked_at, coalesce(v.yank_reason, ''), "
            "(SELECT coalesce(sum(d.count), 0) FROM registry_downloads d WHERE d.kind = v.kind AND d.name = v.name "
            " AND d.version = v.version), v.meta, v.body_sha256, v.manifest, v.signature, v.readme_sha256 "
            f"FROM registry_versions v WHERE v.kind = %s AND v.name = %s ORDER BY {_ORDER}", (kind, name))

    async def _text(self, sha256: str | None) -> str:
        if not sha256:
            return ""
        return (await self._blobs.read_bytes(sha256, max_size=MAX_TEXT)).decode("utf-8", "replace")

    async def artifact(self, org_id: str, kind: str, name: str, version: str = "") -> ArtifactDetail:
        """``name`` at ``version`` (default: its latest published version, else its latest)."""
        found = await self._rows(f"{_ROW} WHERE a.kind = %s AND a.name = %s", (_kind(kind), name))
        if not found:
            raise LookupError(f"no {kind} {name!r} in this registry")
        row = _artifact_row(found[0])
        versions = await self._versions(kind, name)
        if not versions:
            raise LookupError(f"{kind} {name!r} has no version in this registry")
        if version:
            chosen = next((v for v in versions if v[0] == version), None)
            if chosen is None:
                raise LookupError(f"{kind} {name!r} has no version {version!r}; versions: "
                                  f"{', '.join(v[0] for v in versions)}")
        else:
            chosen = next((v for v in versions if v[1] == "published"), versions[0])
        meta: Mapping[str, Any] = chosen[9] or {}
        body = await self._text(chosen[10])
        manifest: Mapping[str, Any] = chosen[11] or {}
        signature = chosen[12]
        message = manifest_signed_bytes(manifest) if kind == "provider" else body.encode("utf-8")
        if kind != "provider" and chosen[10]:
            message = await self._blobs.read_bytes(chosen[10], max_size=MAX_TEXT)  # the exact signed bytes
        verification = verify(signature, message, await self.trusted(org_id)) if (body or manifest) else \
            Verification(Verdict.INVALID, chosen[5], "the signed content is missing from this registry")
        platforms = [Platform(r[0], r[1], int(r[2]), bool(r[3])) for r in await self._rows(
            "SELECT platform, sha256, size, hosted FROM registry_binaries WHERE name = %s AND version = %s "
            "ORDER BY platform", (name, chosen[0]))] if kind == "provider" else []
        schema = (manifest.get("config_schema") if kind == "provider"
                  else meta.get("parameter_schema") or meta.get("config_schema"))
        return ArtifactDetail(
            artifact=row, version=_version_row(chosen), versions=[_version_row(v) for v in versions],
            verification=verification, import_line=import_line(kind, name, chosen[0]),
            readme=await self._text(chosen[13]), schema=schema_fields(schema), platforms=platforms,
            preview=rule_preview(body) if kind != "provider" else None, meta=dict(meta),
            faramesh_version=str(meta.get("faramesh_version", "")),
            dev_only=bool(manifest.get("dev_only") or meta.get("dev_only")))

    async def check_imports(self, org_id: str, text: str) -> list[ImportCheck]:
        """Each import of a governance.fms text, judged strictly against what ``org_id`` trusts."""
        trusted = await self.trusted(org_id)
        out = []
        for line, ref, parts in registry_imports(text):
            if parts is None:
                out.append(ImportCheck(line, ref, "", "", "", "not-a-registry-import",
                                       "not a pinned registry import (<kind>/<name>@<version>)"))
                continue
            plural, name, version = parts
            kind = {v: k for k, v in PLURAL.items()}[plural]
            out.append(await self._check(org_id, line, ref, kind, name, version, trusted))
        return out

    async def _check(self, org_id: str, line: int, ref: str, kind: str, name: str, version: str,
                     trusted: Mapping[str, TrustedKey]) -> ImportCheck:
        rows = await self._rows("SELECT state, coalesce(yank_reason, ''), body_sha256, manifest, signature "
                                "FROM registry_versions WHERE kind = %s AND name = %s AND version = %s",
                                (kind, name, version))
        if not rows:
            return ImportCheck(line, ref, kind, name, version, "not-in-registry",
                               f"{kind} {name}@{version} is not in this registry")
        state, reason, body_sha, manifest, signature = rows[0]
        message = (manifest_signed_bytes(manifest or {}) if kind == "provider"
                   else await self._blobs.read_bytes(body_sha, max_size=MAX_TEXT) if body_sha else b"")
        checked = verify(signature, message, trusted)
        if state == "yanked":
            return ImportCheck(line, ref, kind, name, version, "yanked",
                               f"yanked: {reason or 'no reason given'}", checked.key_id)
        return ImportCheck(line, ref, kind, name, version, "verified" if checked.verified else "unverified",
                           checked.message, checked.key_id)


def _artifact_row(r: tuple[Any, ...]) -> ArtifactRow:
    return ArtifactRow(r[0], r[1], r[2], r[3], r[4], list(r[5]), r[6], list(r[7]), r[8] or "", int(r[9]), list(r[10]))


def _version_row(v: tuple[Any, ...]) -> VersionRow:
    return VersionRow(v[0], v[1], v[2], v[3], v[4], v[5], int(v[8]), v[6], v[7])


def as_json(value: Any) -> Any:
    """A view as JSON-ready values (datetimes as ISO 8601)."""
    return json.loads(json.dumps(value, default=str))
