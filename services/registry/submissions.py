"""Submissions: a version asked for, reviewed, then published and signed (or rejected); yank.

Policy packs and framework profiles (FPL text) and providers (a manifest and one binary per
platform) both go through the review queue. Providers too, because a provider binary runs
on every host that imports it, next to its secrets: the sandboxed Init smoke test proves it
speaks the plugin handshake and declares what it says, not what else it does; a platform
reviewer is the only check of the publisher behind it. The smoke test runs at submission
(its reason shown at once when it fails); signing happens at approval.

Blobs (FPL bodies, READMEs, binaries) are put BEFORE the command's transaction and, when the
command is refused or its transaction fails, deleted again unless a row references them
(:meth:`Submissions.discard`). Every command writes its state, event, registry-log entry and
audit entry in ONE transaction (``publish_events.Recorder``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.registry.domain import Kind, Version, parse_name
from faramesh_cloud.registry.events import VersionPublished, new_event_id
from faramesh_cloud.registry.publish_domain import (
    MAX_FPL_BYTES,
    MAX_README_BYTES,
    NotAllowed,
    PublishRefused,
    Submission,
    SubmissionState,
    Unknown,
    check_reason,
    check_text,
)
from faramesh_cloud.registry.publish_events import Change, PublishAction, Recorder
from faramesh_cloud.registry.publish_signing import CloudSigner
from faramesh_cloud.registry.publishers import namespace_of, owned_confirmed
from faramesh_cloud.registry.store import RegistryStore
from faramesh_cloud.registry.translog_format import LogAction
from faramesh_cloud.registry.yank import NotInRegistry, YankRefused, yank_in
from faramesh_cloud.sql.database import Database

Conn = AsyncConnection[Any]
_COLUMNS: Final = ("submission_id, org_id, kind, name, version, state, submitted_at, submitted_by, description, "
                   "changelog, category, domains, meta, body_sha256, readme_sha256, manifest, binaries, reviewed_at, "
                   "reviewed_by, reason")


def _subject(kind: str, name: str, version: str) -> dict[str, str]:
    return {"kind": kind, "name": name, "version": version}


def _submission(row: tuple[Any, ...]) -> Submission:
    return Submission(str(row[0]), str(row[1]), row[2], row[3], row[4], SubmissionState(row[5]), row[6], row[7],
                      row[8], row[9], row[10], tuple(row[11] or ()), dict(row[12] or {}), row[13], row[14], row[15],
                      dict(row[16] or {}), row[17], row[18] or "", row[19] or "")


def verify_fpl_signature(body: bytes, signature: Mapping[str, Any]) -> None:
    """A publisher's ``.fpl.sig`` over ``body``; :class:`PublishRefused` saying what fails."""
    if str(signature.get("algorithm", "")).lower() != "ed25519":
        raise PublishRefused(f"signature algorithm {signature.get('algorithm')!r} is not ed25519")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(signature.get("public_key_b64", "")),
                                                                  validate=True))
        value = base64.b64decode(str(signature.get("value_b64", "")), validate=True)
    except ValueError:
        raise PublishRefused("signature: public_key_b64 or value_b64 is not a base64 Ed25519 key/signature") from None
    try:
        key.verify(value, body)
    except InvalidSignature:
        raise PublishRefused("signature does not verify: the Ed25519 signature is not over these FPL bytes "
                             "with the public key it names") from None


@dataclass(frozen=True, slots=True)
class PackInput:
    kind: str
    name: str
    version: str
    fpl: str
    readme: str = ""
    changelog: str = ""
    description: str = ""
    category: str = ""
    domains: Sequence[str] = ()
    parameter_schema: Mapping[str, Any] | None = None
    signature: Mapping[str, Any] | None = None  # a publisher's pre-signed .fpl.sig


class Submissions:
    def __init__(self, db: Database, blobs: BlobStore, record: Recorder, signer: CloudSigner,
                 check_fpl: Any, download_url: Any) -> None:
        self._db = db
        self._blobs = blobs
        self._record = record
        self._signer = signer
        self._check_fpl = check_fpl  # faramesh_cloud.fpl.preview.check_submission
        self.download_url = download_url  # (name, version, platform) -> the daemon API's absolute URL

    # -- reads ---------------------------------------------------------------------------
    async def get(self, submission_id: str, *, org_id: str | None = None) -> Submission:
        """One submission; with ``org_id`` only that organisation's (else: a reviewer's read)."""
        try:
            sid = str(uuid.UUID(submission_id))
        except ValueError:
            raise Unknown(f"no submission {submission_id!r}") from None
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_submissions WHERE submission_id = %s "
                "AND (%s::uuid IS NULL OR org_id = %s::uuid)", (sid, org_id, org_id))).fetchone()
        if row is None:
            raise Unknown(f"no submission {submission_id!r}")
        return _submission(row)

    async def of_org(self, org_id: str) -> list[Submission]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_submissions WHERE org_id = %s ORDER BY submitted_at DESC",
                (org_id,))).fetchall()
        return [_submission(r) for r in rows]

    async def queue(self) -> list[Submission]:
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_submissions WHERE state = 'pending' ORDER BY submitted_at")).fetchall()
        return [_submission(r) for r in rows]

    async def body(self, submission: Submission) -> bytes:
        assert submission.body_sha256 is not None
        return await self._blobs.read_bytes(submission.body_sha256, max_size=MAX_FPL_BYTES)

    # -- checks shared by packs and providers ----------------------------------------------
    async def _check_target(self, conn: Conn, org_id: str, kind: Kind, name: str, version: str) -> Version:
        try:
            parsed = parse_name(kind, name)
            semver = Version.parse(version)
        except ValueError as exc:
            raise PublishRefused(str(exc)) from None
        found = await namespace_of(conn, parsed.namespace)
        if found is None or found.org_id != org_id:
            mine = [r[0] for r in await (await conn.execute(
                "SELECT namespace FROM registry_publishers WHERE org_id = %s AND state = 'confirmed' ORDER BY 1",
                (org_id,))).fetchall()]
            raise PublishRefused(f"name {name!r} is outside your namespace"
                                 + (f"s ({', '.join(mine)}): name it <namespace>/<name>" if mine else
                                    ": your organisation has no confirmed namespace; claim one first"))
        await owned_confirmed(conn, org_id, parsed.namespace)
        exists = await (await conn.execute(
            "SELECT 'published' FROM registry_versions WHERE kind = %s AND name = %s AND version = %s "
            "UNION ALL SELECT 'pending' FROM registry_submissions WHERE kind = %s AND name = %s AND version = %s "
            "AND state = 'pending' LIMIT 1", (kind.value, name, version, kind.value, name, version))).fetchone()
        if exists is not None:
            where = "is already published" if exists[0] == "published" else "is already waiting for review"
            raise PublishRefused(f"version {version} of {kind.value} {name} {where}; versions are immutable, "
                                 "publish a new version number")
        owner = await (await conn.execute(
            "SELECT a.namespace FROM registry_artifacts a WHERE a.kind = %s AND a.name = %s", (kind.value, name)
        )).fetchone()
        if owner is not None and owner[0] != parsed.namespace:
            raise PublishRefused(f"{kind.value} {name} belongs to namespace {owner[0]}")
        return semver

    def _fpl_problem(self, kind: Kind, text: str, name: str) -> list[dict[str, Any]]:
        """Refuse FPL the daemon would not load (``fpl.preview.check_submission``: its errors,
        the first named with its line); keep its warnings for the reviewer."""
        problems = list(self._check_fpl(kind.value, text, name))
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            where = f"line {first.line}: " if first.line else ""
            what = "FPL does not parse" if first.code == "parse_error" else "FPL refused"
            more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
            raise PublishRefused(f"{what}: {where}{first.message}{more}")
        return [{"line": p.line, "code": p.code, "message": p.message} for p in problems]

    async def discard(self, digests: Iterable[str | None]) -> None:
        """Delete blobs put for a command that did not commit, unless a row references them."""
        for digest in {d for d in digests if d}:
            async with self._db.connection() as conn:
                used = await (await conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM registry_versions WHERE %(d)s IN (body_sha256, readme_sha256, "
                    "yaml_sha256)) OR EXISTS (SELECT 1 FROM registry_binaries WHERE sha256 = %(d)s) "
                    "OR EXISTS (SELECT 1 FROM registry_submissions WHERE %(d)s IN (body_sha256, readme_sha256) "
                    "OR binaries @? ('$.* ? (@.sha256 == \"' || %(d)s || '\")')::jsonpath)", {"d": digest})).fetchone()
            if used is not None and not used[0]:
                await self._blobs.delete(digest)

    # -- policy packs and framework profiles ------------------------------------------------
    async def submit_pack(self, org_id: str, given: PackInput, actor: Actor) -> Submission:
        try:
            kind = Kind.parse(given.kind)
        except ValueError as exc:
            raise PublishRefused(str(exc)) from None
        if kind is Kind.PROVIDER:
            raise PublishRefused("a provider is published with its manifest and binaries, not FPL text")
        body = given.fpl.encode()
        if not given.fpl.strip():
            raise PublishRefused("the FPL text is empty")
        if len(body) > MAX_FPL_BYTES:
            raise PublishRefused(f"the FPL text is larger than {MAX_FPL_BYTES} bytes")
        readme = given.readme.encode()
        if len(readme) > MAX_README_BYTES:
            raise PublishRefused(f"the README is larger than {MAX_README_BYTES} bytes")
        async with self._db.connection() as conn:
            await self._check_target(conn, org_id, kind, given.name, given.version)
        warnings = self._fpl_problem(kind, given.fpl, given.name)
        if given.signature is not None:
            verify_fpl_signature(body, given.signature)
        description = check_text(given.description, "description", 500, required=False)
        changelog = check_text(given.changelog, "changelog", 20_000, required=False)
        category = check_text(given.category, "category", 64, required=False)
        domains = tuple(sorted({check_text(d, "domain", 64) for d in given.domains if d.strip()}))
        meta: dict[str, Any] = {}
        if given.parameter_schema:
            meta["parameter_schema"] = dict(given.parameter_schema)
        if warnings:
            meta["review_warnings"] = warnings
        if given.signature is not None:
            meta["publisher_signature"] = dict(given.signature)
        put: list[str] = []
        try:
            put.append((await self._blobs.put_bytes(body, max_size=MAX_FPL_BYTES)).sha256)
            readme_sha = (await self._blobs.put_bytes(readme, max_size=MAX_README_BYTES)).sha256 if readme else None
            if readme_sha:
                put.append(readme_sha)
            async with self._db.transaction() as conn:
                await self._check_target(conn, org_id, kind, given.name, given.version)  # again, under the commit
                sid = str(uuid.uuid4())
                await conn.execute(
                    "INSERT INTO registry_submissions (submission_id, org_id, kind, name, version, state, submitted_at, "
                    "submitted_by, description, changelog, category, domains, meta, body_sha256, readme_sha256) "
                    "VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (sid, org_id, kind.value, given.name, given.version, self._record.clock(), actor.label,
                     description, changelog, category, list(domains), Jsonb(meta), put[0], readme_sha))
                await self._record(conn, Change(
                    PublishAction.SUBMITTED, org_id, f"{kind.value}/{given.name}",
                    _subject(kind.value, given.name, given.version), Target("registry_submission", sid),
                    {"submission_id": sid, "kind": kind.value, "name": given.name, "version": given.version,
                     "body_sha256": put[0]},
                    {"submission_id": sid, "org_id": org_id, "body_sha256": put[0]}), actor)
        except BaseException:
            await self.discard(put)
            raise
        return await self.get(sid)

    # -- review ------------------------------------------------------------------------
    async def approve(self, submission_id: str, reason: str, actor: Actor) -> Submission:
        """Publish the submission's version, signed with Cloud's active registry key."""
        pending = await self.get(submission_id)
        if pending.state is not SubmissionState.PENDING:
            raise PublishRefused(f"submission {submission_id} is {pending.state}, not waiting for review")
        if pending.kind == Kind.PROVIDER.value:
            from faramesh_cloud.registry.provider_upload import approve_provider

            return await approve_provider(self, pending, reason, actor)
        body = await self.body(pending)
        if hashlib.sha256(body).hexdigest() != pending.body_sha256:
            raise PublishRefused("the stored FPL no longer matches its digest; reject the submission")
        signer = self._signer.pinned()
        signature = signer.sign_fpl(body)
        async with self._db.transaction() as conn:
            await self._publish_rows(conn, pending, reason, actor, signer=signer, signature=signature,
                                     body_bytes=len(body))
        return await self.get(submission_id)

    async def _publish_rows(self, conn: Conn, pending: Submission, reason: str, actor: Actor, *,
                            signer: CloudSigner, signature: Mapping[str, Any], manifest: Mapping[str, Any] | None = None,
                            capabilities: Sequence[str] = (), meta: Mapping[str, Any] | None = None,
                            body_bytes: int = 0) -> None:
        locked = await (await conn.execute(
            "SELECT state FROM registry_submissions WHERE submission_id = %s FOR UPDATE",
            (pending.submission_id,))).fetchone()
        if locked is None or locked[0] != "pending":
            raise PublishRefused(f"submission {pending.submission_id} is no longer waiting for review")
        kind = Kind(pending.kind)
        parsed = parse_name(kind, pending.name)
        await owned_confirmed(conn, pending.org_id, parsed.namespace)
        version = Version.parse(pending.version)
        now = self._record.clock()
        await conn.execute(
            "INSERT INTO registry_artifacts (kind, name, namespace, description, category, domains, trust_tier, "
            "capabilities, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'community', %s, %s) "
            "ON CONFLICT (kind, name) DO UPDATE SET description = EXCLUDED.description, "
            "category = EXCLUDED.category, domains = EXCLUDED.domains, capabilities = EXCLUDED.capabilities",
            (kind.value, pending.name, parsed.namespace, pending.description, pending.category,
             list(pending.domains), list(capabilities), now))
        stored_meta = {k: v for k, v in {**pending.meta, **(meta or {})}.items()
                       if k not in ("publisher_signature", "review_warnings")}
        await conn.execute(
            "INSERT INTO registry_versions (kind, name, version, major, minor, patch, prerelease, state, published_at, "
            "published_by, source, changelog, readme_sha256, meta, body_sha256, manifest, signature, key_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 'published', %s, %s, 'publish', %s, %s, %s, %s, %s, %s, %s)",
            (kind.value, pending.name, pending.version, version.major, version.minor, version.patch,
             version.prerelease, now, pending.submitted_by, pending.changelog, pending.readme_sha256,
             Jsonb(stored_meta), pending.body_sha256, Jsonb(dict(manifest)) if manifest is not None else None,
             Jsonb(dict(signature)), signer.key_id))
        note = (reason or "").strip()
        await conn.execute(
            "UPDATE registry_submissions SET state = 'approved', reviewed_at = %s, reviewed_by = %s, reason = %s "
            "WHERE submission_id = %s", (now, actor.label, note, pending.submission_id))
        subject = _subject(kind.value, pending.name, pending.version)
        digest = pending.body_sha256 or ""
        stored = body_bytes + sum(int(b.get("size") or 0) for b in (pending.binaries or {}).values())
        published = VersionPublished(new_event_id(), now, actor, kind.value, pending.name, pending.version, "publish",
                                     "community", signer.key_id, digest, pending.org_id, stored)
        await self._record(conn, Change(
            PublishAction.APPROVED, pending.org_id, f"{kind.value}/{pending.name}", subject,
            Target("registry_submission", pending.submission_id),
            {"submission_id": pending.submission_id, "kind": kind.value, "name": pending.name,
             "version": pending.version, "key_id": signer.key_id, "note": note},
            {"submission_id": pending.submission_id, "org_id": pending.org_id, "note": note}), actor,
            also=[(LogAction.PUBLISHED, subject, {"source": "publish", "trust_tier": "community",
                                                  "key_id": signer.key_id, "body_sha256": digest,
                                                  "signature_b64": str(signature.get("value_b64", "")),
                                                  **({"binaries": {p: b["sha256"] for p, b in pending.binaries.items()}}
                                                     if pending.binaries else {})}, published)])

    async def reject(self, submission_id: str, reason: str, actor: Actor) -> Submission:
        reason = check_reason(reason, "reject a submission")
        async with self._db.transaction() as conn:
            row = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM registry_submissions WHERE submission_id = %s FOR UPDATE",
                (submission_id,))).fetchone()
            if row is None:
                raise Unknown(f"no submission {submission_id!r}")
            found = _submission(row)
            if found.state is not SubmissionState.PENDING:
                raise PublishRefused(f"submission {submission_id} is {found.state}, not waiting for review")
            await conn.execute(
                "UPDATE registry_submissions SET state = 'rejected', reviewed_at = %s, reviewed_by = %s, reason = %s "
                "WHERE submission_id = %s", (self._record.clock(), actor.label, reason, submission_id))
            await self._record(conn, Change(
                PublishAction.REJECTED, found.org_id, f"{found.kind}/{found.name}",
                _subject(found.kind, found.name, found.version), Target("registry_submission", submission_id),
                {"submission_id": submission_id, "kind": found.kind, "name": found.name, "version": found.version,
                 "reason": reason},
                {"submission_id": submission_id, "org_id": found.org_id, "reason": reason}), actor)
        return await self.get(submission_id)

    # -- yank ------------------------------------------------------------------------------
    async def yank(self, org_id: str | None, kind: str, name: str, version: str, reason: str, actor: Actor) -> None:
        """Yank a published version: by its publisher (``org_id`` owns the namespace) or by a
        reviewer (``org_id`` None). The state, event and log entry are ``yank.yank_in``'s; here
        the check of who may, then the checkpoint and the audit entry, in the same transaction.
        The daemon API then answers 404 for it."""
        reason = check_reason(reason, "yank a version")
        try:
            k = Kind.parse(kind)
            parsed = parse_name(k, name)
        except ValueError as exc:
            raise PublishRefused(str(exc)) from None
        async with self._db.transaction() as conn:
            owner = await namespace_of(conn, parsed.namespace)
            if org_id is not None and (owner is None or owner.org_id != org_id):
                raise NotAllowed(f"{k.value} {name} is not in a namespace your organisation publishes")
            audited_org = owner.org_id if owner is not None and owner.org_id else org_id
            if audited_org is None:
                raise NotAllowed(f"{k.value} {name} is an official artifact; yank it upstream")
            try:
                await yank_in(conn, RegistryStore(self._db), kind=k.value, name=name, version=version,
                              reason=reason, actor=actor, at=self._record.clock())
            except NotInRegistry as exc:
                raise Unknown(str(exc)) from None
            except YankRefused as exc:
                raise PublishRefused(str(exc)) from None
            await self._record.attest(conn, audited_org, PublishAction.YANKED,
                                      Target("registry_version", f"{k.value}/{name}@{version}"),
                                      {"kind": k.value, "name": name, "version": version, "reason": reason}, actor)
