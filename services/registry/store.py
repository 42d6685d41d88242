"""The registry's PostgreSQL tables (``migrations/0001``): the one writer of each, and their reads.

The catalog is global (public reads, like upstream's registry), so these queries take no
organisation; what is an organisation's (a publisher's namespace) carries its ``org_id``.
Writes take the caller's open transaction (``conn``) so a command's state, its event and its
log entries commit together; reads open their own connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from faramesh_cloud.registry.domain import Kind, Version
from faramesh_cloud.sql.database import Database

Conn = AsyncConnection[Any]
MAX_PAGE: Final = 200


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_id: str
    algorithm: str
    public_key: bytes
    owner: str
    origin: str  # "official" | "cloud"
    purpose: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    kind: str
    name: str
    namespace: str
    description: str
    category: str
    domains: tuple[str, ...]
    trust_tier: str
    capabilities: tuple[str, ...]
    created_at: dt.datetime
    latest_version: str = ""  # the highest published release (else prerelease); "" when none
    platforms: tuple[str, ...] = ()  # providers: platforms of the latest version


@dataclass(frozen=True, slots=True)
class VersionRow:
    kind: str
    name: str
    version: str
    state: str
    published_at: dt.datetime
    published_by: str
    source: str
    changelog: str
    readme_sha256: str | None
    meta: dict[str, Any]
    body_sha256: str | None
    body_size: int | None
    yaml_sha256: str | None
    manifest: dict[str, Any] | None
    signature: dict[str, Any]
    key_id: str
    yanked_at: dt.datetime | None = None
    yanked_by: str = ""
    yank_reason: str = ""

    @property
    def yanked(self) -> bool:
        return self.state == "yanked"


@dataclass(frozen=True, slots=True)
class VersionLookup:
    """An artifact's fields a version's answer carries, and the version (None when absent)."""

    description: str
    trust_tier: str
    capabilities: tuple[str, ...]
    version: VersionRow | None


@dataclass(frozen=True, slots=True)
class BinaryRow:
    name: str
    version: str
    platform: str
    sha256: str
    size: int
    signature_b64: str
    hosted: bool


@dataclass(frozen=True, slots=True)
class SearchFilter:
    kind: Kind | None = None
    text: str = ""  # case-insensitive substring of name or description
    tier: str = ""
    category: str = ""  # a category or a domain (payments, healthcare, ...)
    capability: str = ""
    platform: str = ""
    namespace: str = ""
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[ArtifactRow, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class Stats:
    total: int
    official: int
    by_kind: Mapping[str, int] = field(default_factory=dict)


def _version_row(r: Mapping[str, Any]) -> VersionRow:
    return VersionRow(r["kind"], r["name"], r["version"], r["state"], r["published_at"], r["published_by"],
                      r["source"], r["changelog"], r["readme_sha256"], r["meta"] or {}, r["body_sha256"],
                      r["body_size"], r["yaml_sha256"], r["manifest"], r["signature"], r["key_id"],
                      r["yanked_at"], r["yanked_by"], r["yank_reason"])


_LATEST: Final = """(SELECT v.version FROM registry_versions v
    WHERE v.kind = a.kind AND v.name = a.name AND v.state = 'published'
    ORDER BY (v.prerelease = '') DESC, v.major DESC, v.minor DESC, v.patch DESC, v.prerelease DESC LIMIT 1)"""


class RegistryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    # --- keys -------------------------------------------------------------------------------------
    async def add_key(self, conn: Conn, key: KeyRow) -> bool:
        """List ``key``; False when a key with that id was already listed (then nothing changes;
        the same id with another public key is refused by the caller's check)."""
        cur = await conn.execute(
            "INSERT INTO registry_keys (key_id, algorithm, public_key, owner, origin, purpose, created_at, retired_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key_id) DO NOTHING",
            (key.key_id, key.algorithm, key.public_key, key.owner, key.origin, key.purpose, key.created_at,
             key.retired_at))
        return cur.rowcount == 1

    async def retire_key(self, conn: Conn, key_id: str, at: dt.datetime) -> bool:
        cur = await conn.execute("UPDATE registry_keys SET retired_at = %s WHERE key_id = %s AND retired_at IS NULL",
                                 (at, key_id))
        return cur.rowcount == 1

    async def keys(self, conn: Conn | None = None) -> list[KeyRow]:
        query = ("SELECT key_id, algorithm, public_key, owner, origin, purpose, created_at, retired_at "
                 "FROM registry_keys ORDER BY origin DESC, created_at, key_id")
        if conn is not None:
            rows = await (await conn.execute(query)).fetchall()
        else:
            async with self._db.connection() as c:
                rows = await (await c.execute(query)).fetchall()
        return [KeyRow(r[0], r[1], bytes(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]

    # --- publishers and artifacts -----------------------------------------------------------------
    async def ensure_publisher(self, conn: Conn, namespace: str, org_id: str | None, display_name: str,
                               state: str, at: dt.datetime, by: str) -> None:
        await conn.execute(
            "INSERT INTO registry_publishers (namespace, org_id, display_name, state, claimed_at, claimed_by) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (namespace) DO NOTHING",
            (namespace, org_id, display_name, state, at, by))

    async def publisher_org(self, conn: Conn, namespace: str) -> str | None:
        row = await (await conn.execute("SELECT org_id FROM registry_publishers WHERE namespace = %s",
                                        (namespace,))).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    async def ensure_artifact(self, conn: Conn, a: ArtifactRow) -> bool:
        cur = await conn.execute(
            "INSERT INTO registry_artifacts (kind, name, namespace, description, category, domains, trust_tier, "
            "capabilities, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (kind, name) DO NOTHING",
            (a.kind, a.name, a.namespace, a.description, a.category, list(a.domains), a.trust_tier,
             list(a.capabilities), a.created_at))
        return cur.rowcount == 1

    # --- versions and binaries --------------------------------------------------------------------
    async def add_version(self, conn: Conn, v: VersionRow) -> bool:
        """Store a new version; False when it exists already (versions are immutable: the row
        there is kept as it is)."""
        parsed = Version.parse(v.version)
        cur = await conn.execute(
            "INSERT INTO registry_versions (kind, name, version, major, minor, patch, prerelease, state, "
            "published_at, published_by, source, changelog, readme_sha256, meta, body_sha256, body_size, yaml_sha256, "
            "manifest, signature, key_id) VALUES (%s, %s, %s, %s, %s, %s, %s, 'published', %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s) ON CONFLICT (kind, name, version) DO NOTHING",
            (v.kind, v.name, v.version, parsed.major, parsed.minor, parsed.patch, parsed.prerelease, v.published_at,
             v.published_by, v.source, v.changelog, v.readme_sha256, Jsonb(v.meta), v.body_sha256, v.body_size,
             v.yaml_sha256, Jsonb(v.manifest) if v.manifest is not None else None, Jsonb(v.signature), v.key_id))
        return cur.rowcount == 1

    async def add_binary(self, conn: Conn, b: BinaryRow) -> None:
        await conn.execute(
            "INSERT INTO registry_binaries (name, version, platform, sha256, size, signature_b64, hosted) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name, version, platform) DO NOTHING",
            (b.name, b.version, b.platform, b.sha256, b.size, b.signature_b64, b.hosted))

    async def mark_yanked(self, conn: Conn, kind: Kind, name: str, version: str, at: dt.datetime, by: str,
                          reason: str) -> bool:
        """The state change of a yank (the yank command, with its event and log entry, is the
        publish side's); False when the version is absent or yanked already."""
        cur = await conn.execute(
            "UPDATE registry_versions SET state = 'yanked', yanked_at = %s, yanked_by = %s, yank_reason = %s "
            "WHERE kind = %s AND name = %s AND version = %s AND state = 'published'",
            (at, by, reason, kind.value, name, version))
        return cur.rowcount == 1

    async def version(self, kind: Kind, name: str, version: str) -> VersionRow | None:
        async with self._db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM registry_versions WHERE kind = %s AND name = %s AND version = %s",
                              (kind.value, name, version))
            row = await cur.fetchone()
        return _version_row(row) if row else None

    async def lookup(self, kind: Kind, name: str, version: str) -> VersionLookup | None:
        """One version and its artifact's description, tier and capabilities in one round trip
        (the daemon API's hot path); None when the artifact is unknown."""
        async with self._db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT a.description AS a_description, a.trust_tier AS a_trust_tier, "
                "a.capabilities AS a_capabilities, v.* FROM registry_artifacts a LEFT JOIN registry_versions v "
                "ON v.kind = a.kind AND v.name = a.name AND v.version = %s WHERE a.kind = %s AND a.name = %s",
                (version, kind.value, name))
            row = await cur.fetchone()
        if row is None:
            return None
        return VersionLookup(row["a_description"], row["a_trust_tier"], tuple(row["a_capabilities"]),
                             _version_row(row) if row["version"] is not None else None)

    async def versions(self, kind: Kind, name: str) -> list[VersionRow]:
        """Every version of an artifact, yanked ones included, highest first."""
        async with self._db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM registry_versions WHERE kind = %s AND name = %s", (kind.value, name))
            rows = [_version_row(r) for r in await cur.fetchall()]
        return sorted(rows, key=lambda v: Version.parse(v.version).sort_key(), reverse=True)

    async def binaries(self, name: str, version: str) -> list[BinaryRow]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT name, version, platform, sha256, size, signature_b64, hosted FROM registry_binaries "
                "WHERE name = %s AND version = %s ORDER BY platform", (name, version))).fetchall()
        return [BinaryRow(*r) for r in rows]

    async def blob_referenced(self, conn: Conn, sha256: str) -> bool:
        """Whether any row names blob ``sha256`` (a blob put for a refused input is deleted
        only when nothing else refers to it)."""
        row = await (await conn.execute(
            "SELECT EXISTS (SELECT 1 FROM registry_versions WHERE %(d)s IN (body_sha256, yaml_sha256, readme_sha256)) "
            "OR EXISTS (SELECT 1 FROM registry_binaries WHERE sha256 = %(d)s AND hosted)", {"d": sha256})).fetchone()
        return bool(row and row[0])

    # --- artifacts: reads ---------------------------------------------------------------------------
    async def artifact(self, kind: Kind, name: str) -> ArtifactRow | None:
        page = await self.search(SearchFilter(kind=kind, limit=1), exact_name=name)
        return page.items[0] if page.items else None

    async def search(self, f: SearchFilter, *, exact_name: str | None = None) -> Page:
        where, args = ["TRUE"], {}
        if f.kind is not None:
            where.append("a.kind = %(kind)s")
            args["kind"] = f.kind.value
        if exact_name is not None:
            where.append("a.name = %(name)s")
            args["name"] = exact_name
        if f.text:
            where.append("(strpos(lower(a.name), %(text)s) > 0 OR strpos(lower(a.description), %(text)s) > 0)")
            args["text"] = f.text.lower()
        if f.tier:
            where.append("a.trust_tier = %(tier)s")
            args["tier"] = f.tier
        if f.category:
            where.append("(lower(a.category) = %(cat)s OR %(cat)s = ANY (a.domains))")
            args["cat"] = f.category.lower()
        if f.capability:
            where.append("%(cap)s = ANY (a.capabilities)")
            args["cap"] = f.capability.upper()
        if f.namespace:
            where.append("a.namespace = %(ns)s")
            args["ns"] = f.namespace
        if f.platform:
            where.append("EXISTS (SELECT 1 FROM registry_binaries b WHERE b.name = a.name AND b.version = "
                         f"{_LATEST} AND b.platform = %(platform)s)")
            args["platform"] = f.platform
        limit, offset = max(1, min(f.limit, MAX_PAGE)), max(0, f.offset)
        clause = " AND ".join(where)
        async with self._db.connection() as conn:
            total = (await (await conn.execute(f"SELECT count(*) FROM registry_artifacts a WHERE {clause}",
                                               args)).fetchone() or (0,))[0]
            rows = await (await conn.execute(
                f"SELECT a.kind, a.name, a.namespace, a.description, a.category, a.domains, a.trust_tier, "
                f"a.capabilities, a.created_at, {_LATEST} AS latest, "
                f"ARRAY(SELECT b.platform FROM registry_binaries b WHERE b.name = a.name AND a.kind = 'provider' "
                f"AND b.version = {_LATEST} ORDER BY b.platform) "
                f"FROM registry_artifacts a WHERE {clause} ORDER BY a.kind, a.name LIMIT %(limit)s OFFSET %(offset)s",
                {**args, "limit": limit, "offset": offset})).fetchall()
        items = tuple(ArtifactRow(r[0], r[1], r[2], r[3], r[4], tuple(r[5]), r[6], tuple(r[7]), r[8], r[9] or "",
                                  tuple(r[10])) for r in rows)
        return Page(items, int(total), limit, offset)

    async def facets(self, kind: Kind) -> dict[str, list[str]]:
        """The categories/domains and the capabilities artifacts of ``kind`` carry."""
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT category, domains, capabilities FROM registry_artifacts WHERE kind = %s",
                (kind.value,))).fetchall()
        domains = {r[0] for r in rows if r[0]} | {d for r in rows for d in r[1] or ()}
        return {"domains": sorted(domains), "capabilities": sorted({c for r in rows for c in r[2] or ()})}

    async def stats(self) -> Stats:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT kind, count(*), count(*) FILTER (WHERE trust_tier = 'official') FROM registry_artifacts "
                "GROUP BY kind")).fetchall()
        by_kind = {r[0]: int(r[1]) for r in rows}
        return Stats(sum(by_kind.values()), sum(int(r[2]) for r in rows), by_kind)

    # --- downloads ----------------------------------------------------------------------------------
    async def add_downloads(self, counts: Mapping[tuple[str, str, str, dt.date], int]) -> None:
        """Add a batch of counted fetches (one statement for the batch)."""
        if not counts:
            return
        keys = list(counts)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO registry_downloads (kind, name, version, day, count) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[], %s::bigint[]) "
                "ON CONFLICT (kind, name, version, day) DO UPDATE SET count = registry_downloads.count + EXCLUDED.count",
                ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [k[3] for k in keys],
                 [counts[k] for k in keys]))

    async def download_totals(self, kind: Kind, name: str) -> dict[str, int]:
        """Downloads per version of an artifact (all days)."""
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT version, sum(count) FROM registry_downloads WHERE kind = %s AND name = %s GROUP BY version",
                (kind.value, name))).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    async def download_days(self, kind: Kind, name: str, version: str) -> list[tuple[dt.date, int]]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT day, count FROM registry_downloads WHERE kind = %s AND name = %s AND version = %s ORDER BY day",
                (kind.value, name, version))).fetchall()
        return [(r[0], int(r[1])) for r in rows]

    async def versions_bulk(self, keys: Sequence[tuple[Kind, str]]) -> dict[tuple[str, str], list[str]]:
        """Published version strings of several artifacts at once."""
        if not keys:
            return {}
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT kind, name, version FROM registry_versions WHERE state = 'published' AND (kind, name) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                ([k.value for k, _ in keys], [n for _, n in keys]))).fetchall()
        out: dict[tuple[str, str], list[str]] = {}
        for r in rows:
            out.setdefault((r[0], r[1]), []).append(r[2])
        return out
