"""Provider submissions: one binary per ``<goos>_<goarch>`` streamed into the BlobStore (refused
over the size limit before anything is stored), each checked against the SHA-256 its manifest
gives, the host platform's run through the sandboxed Init smoke test, then queued for review.

What runs where: the smoke test can only run a binary built for this host (``HOST_PLATFORM``,
``linux_amd64`` on the reference install); binaries for other platforms are stored with
``smoke: not run (built for <platform>, this host is <host>)`` and the submission requires the
host platform's binary, which must pass. Approval signs every binary (bare base64 ``.sig``)
and then the manifest (over its Go-JSON without ``signature``), with absolute download URLs
served by the daemon API.
"""

from __future__ import annotations

import asyncio
import os
import platform as host
import tempfile
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from psycopg.types.json import Jsonb

from faramesh_cloud.blobstore import BlobInfo, BlobTooLarge, DigestMismatch
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.registry.domain import CAPABILITIES, PLATFORMS, Kind
from faramesh_cloud.registry.publish_domain import PublishRefused, Submission
from faramesh_cloud.registry.publish_events import Change, PublishAction
from faramesh_cloud.registry.sandbox import SandboxUnavailable, SmokeResult

if TYPE_CHECKING:
    from faramesh_cloud.registry.submissions import Submissions


def host_platform() -> str:
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(host.machine().lower(),
                                                                                           host.machine().lower())
    return f"{host.system().lower()}_{machine}"


HOST_PLATFORM: Final = host_platform()


@dataclass(frozen=True, slots=True)
class ProviderInput:
    name: str
    version: str
    capabilities: tuple[str, ...]
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    dev_only: bool = False
    description: str = ""
    changelog: str = ""
    readme: str = ""
    expected_sha256: Mapping[str, str] = field(default_factory=dict)  # platform -> manifest's sha256_hex
    smoke_config: Mapping[str, str] = field(default_factory=dict)  # config given to Init in the sandbox


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    max_binary_bytes: int = 64 * 1024 * 1024


SmokeTest = Callable[..., Awaitable[SmokeResult]]  # registry.sandbox.smoke_test (limits and paths bound)
DownloadUrl = Callable[[str, str, str], str]  # (name, version, platform) -> absolute URL


def _check_input(given: ProviderInput, platforms: list[str]) -> None:
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise PublishRefused(f"platform {unknown[0]!r} is not one the daemon runs on; use {', '.join(PLATFORMS)}")
    if not platforms:
        raise PublishRefused("a provider needs at least one binary")
    if HOST_PLATFORM not in platforms:
        raise PublishRefused(f"the {HOST_PLATFORM} binary is required: it is the one this Cloud can run in its "
                             "sandbox to check the Init handshake before signing")
    bad = [c for c in given.capabilities if c not in CAPABILITIES]
    if bad or not given.capabilities:
        raise PublishRefused(f"capabilities must be some of {', '.join(CAPABILITIES)}"
                             + (f" (not {bad[0]!r})" if bad else ""))
    extra = sorted(set(given.expected_sha256) - set(platforms))
    if extra:
        raise PublishRefused(f"the manifest lists a download for {extra[0]} but no binary was uploaded for it")


async def _smoke(submissions: Submissions, smoke_test: SmokeTest, digest: str, given: ProviderInput) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="faramesh-smoke-") as tmp:
        path = Path(tmp) / "provider"
        with path.open("wb") as out:
            async for chunk in submissions._blobs.open(digest):
                out.write(chunk)
        os.chmod(path, 0o755)
        try:
            result = await smoke_test(path, name=given.name, version=given.version,
                                      declared_capabilities=list(given.capabilities), config=dict(given.smoke_config))
        except SandboxUnavailable as exc:
            raise PublishRefused(f"this Cloud cannot run the provider sandbox, so it cannot check the Init "
                                 f"handshake before signing: {exc}; tell the operator (docs/registry-sandbox.md)"
                                 ) from None
    return {"ran": True, "ok": bool(result.ok), "reason": str(result.reason or ""),
            "capabilities": list(result.info.capabilities) if result.info is not None else []}


def too_large(platform: str, limit: int) -> str:
    """The refusal of a binary over the upload limit (the internal API's words too)."""
    return f"the {platform} binary is larger than the limit of {limit} bytes; nothing was stored"


async def submit_provider(submissions: Submissions, smoke_test: SmokeTest, limits: ProviderLimits, org_id: str,
                          given: ProviderInput, binaries: Mapping[str, AsyncIterable[bytes]],
                          actor: Actor) -> Submission:
    platforms = sorted(binaries)
    _check_input(given, platforms)
    async with submissions._db.connection() as conn:
        await submissions._check_target(conn, org_id, Kind.PROVIDER, given.name, given.version)
    put: list[str] = []
    try:
        stored: dict[str, dict[str, Any]] = {}
        for plat in platforms:
            expected = given.expected_sha256.get(plat) or None
            try:
                info: BlobInfo = await submissions._blobs.put(binaries[plat], max_size=limits.max_binary_bytes,
                                                              expected_sha256=expected.lower() if expected else None)
            except BlobTooLarge:
                raise PublishRefused(too_large(plat, limits.max_binary_bytes)) from None
            except DigestMismatch:
                raise PublishRefused(f"the manifest's sha256_hex for {plat} ({expected}) does not match the "
                                     "uploaded binary; nothing was stored") from None
            put.append(info.sha256)
            stored[plat] = {"sha256": info.sha256, "size": info.size}
        for plat in platforms:
            if plat == HOST_PLATFORM:
                stored[plat]["smoke"] = await _smoke(submissions, smoke_test, stored[plat]["sha256"], given)
                if not stored[plat]["smoke"]["ok"]:
                    raise PublishRefused(f"the {plat} binary failed the sandboxed Init smoke test: "
                                         f"{stored[plat]['smoke']['reason'] or 'no reason given'}")
            else:
                stored[plat]["smoke"] = {"ran": False, "ok": None,
                                         "reason": f"not run: built for {plat}, this host is {HOST_PLATFORM}"}
        readme = given.readme.encode()
        readme_sha = (await submissions._blobs.put_bytes(readme, max_size=256 * 1024)).sha256 if readme else None
        if readme_sha:
            put.append(readme_sha)
        manifest = {"name": given.name, "version": given.version, "dev_only": given.dev_only,
                    "capabilities": list(given.capabilities), "config_schema": dict(given.config_schema)}
        meta = {"config_schema": dict(given.config_schema), "dev_only": given.dev_only}
        async with submissions._db.transaction() as conn:
            await submissions._check_target(conn, org_id, Kind.PROVIDER, given.name, given.version)
            sid = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO registry_submissions (submission_id, org_id, kind, name, version, state, submitted_at, "
                "submitted_by, description, changelog, meta, readme_sha256, manifest, binaries) "
                "VALUES (%s, %s, 'provider', %s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s, %s)",
                (sid, org_id, given.name, given.version, submissions._record.clock(), actor.label,
                 given.description.strip()[:500], given.changelog.strip()[:20_000], Jsonb(meta), readme_sha,
                 Jsonb(manifest), Jsonb(stored)))
            digests = {p: v["sha256"] for p, v in stored.items()}
            await submissions._record(conn, Change(
                PublishAction.SUBMITTED, org_id, f"provider/{given.name}",
                {"kind": "provider", "name": given.name, "version": given.version},
                Target("registry_submission", sid),
                {"submission_id": sid, "kind": "provider", "name": given.name, "version": given.version,
                 "binaries": digests},
                {"submission_id": sid, "org_id": org_id, "binaries": digests}), actor)
    except BaseException:
        await submissions.discard(put)
        raise
    return await submissions.get(sid)


async def approve_provider(submissions: Submissions, pending: Submission, reason: str, actor: Actor) -> Submission:
    download_url: DownloadUrl = submissions.download_url
    signer = submissions._signer.pinned()
    downloads: dict[str, dict[str, Any]] = {}
    sigs: dict[str, str] = {}
    for plat, info in sorted(pending.binaries.items()):
        data = await submissions._blobs.read_bytes(info["sha256"], max_size=int(info["size"]))
        sigs[plat] = await asyncio.to_thread(signer.sign_binary, data)
        downloads[plat] = {"url": download_url(pending.name, pending.version, plat), "sha256_hex": info["sha256"],
                           "size": int(info["size"])}
    base = dict(pending.manifest or {})
    manifest = {"name": pending.name, "version": pending.version, "dev_only": bool(base.get("dev_only")),
                "capabilities": list(base.get("capabilities") or []),
                "config_schema": dict(base.get("config_schema") or {}), "downloads": downloads}
    manifest = signer.sign_manifest(manifest)
    signature = manifest["signature"]
    async with submissions._db.transaction() as conn:
        await submissions._publish_rows(conn, pending, reason, actor, signer=signer, signature=signature,
                                        manifest=manifest, capabilities=manifest["capabilities"])
        for plat, info in downloads.items():
            await conn.execute(
                "INSERT INTO registry_binaries (name, version, platform, sha256, size, signature_b64, hosted) "
                "VALUES (%s, %s, %s, %s, %s, %s, true)",
                (pending.name, pending.version, plat, info["sha256_hex"], info["size"], sigs[plat]))
    return await submissions.get(pending.submission_id)

