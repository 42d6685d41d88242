"""What the Compliance section (posture, reports, the evidence library, auditor share links),
its REST twin and the public share page use: a port the composition root fills with the
compliance service's API (``ComplianceApi`` in process under ``up``). The gateway imports no
service: values come back as objects read by attribute.

Refusals raise ``ValueError`` (``ComplianceError``: HTTP 400 with its message); unknown ids
``LookupError`` (404); a share link past its expiry or revoked an exception carrying
``link_id`` (``LinkGone``: 410, its message says which and when); the service rebuilding
from the log ``rpc.errors.ServiceBusy`` (503 with Retry-After, by the app's handler).

Who may do what (stack-scoped permissions, held organisation-wide here: reports and the
library span stacks): reading ``compliance:report:read`` (Owner, Admin, Operator, Auditor);
downloads ``compliance:report:download``; new reports and retries
``compliance:report:generate`` (Owner, Admin, Operator); share links
``compliance:share:manage`` (Owner, Admin, Operator, Auditor); the declared frameworks
``org:settings:manage``. A report naming stacks also needs ``generate`` on each of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from fastapi import FastAPI, HTTPException, Request

from faramesh_cloud.gateway.web.deps import (
    NavSection,
    add_section,
    sees_stack,
    visible_stacks_of,
    web,
)
from faramesh_cloud.identity.domain import Forbidden, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.signing.keys import key_id, public_pem

COMPLIANCE_SECTION: Final = NavSection("compliance", "Compliance", "/compliance",
                                       (Permission.COMPLIANCE_REPORT_READ,))
COVERAGE_DEFAULT_DAYS: Final = 7
SHARE_DEFAULT_DAYS: Final = 7
SHARE_MAX_DAYS: Final = 90


class CompliancePort(Protocol):
    async def frameworks(self) -> Sequence[tuple[str, str]]:
        """(slug, name) of every framework an organisation may declare (the service's data files)."""
        ...

    async def declared(self, org_id: str) -> Sequence[Any]: ...

    async def declare(self, org_id: str, frameworks: Sequence[str], actor: Actor) -> Sequence[Any]: ...

    async def posture(self, org_id: str) -> Sequence[Any]: ...

    # coverage analysis: per agent full / partial / gap against the policy the stack enforces,
    # the declared-but-not-enforced findings, and one gap's calls, samples and FPL snippet
    async def coverage(self, org_id: str, stack_id: str, start: datetime, end: datetime) -> Any: ...

    async def coverage_gap(self, org_id: str, stack_id: str, agent_id: str, tool_id: str, start: datetime,
                           end: datetime, effect: str | None = None) -> Any: ...

    async def posture_days(self, org_id: str, framework: str, days: int = 30) -> Sequence[Any]: ...

    async def request_report(self, org_id: str, framework: str, stack_ids: Sequence[str], start: datetime,
                             end: datetime, actor: Actor, *, retry_of: str = "") -> Any: ...

    async def retry_report(self, org_id: str, report_id: str, actor: Actor) -> Any: ...

    async def reports(self, org_id: str, limit: int = 100) -> Sequence[Any]: ...

    async def report(self, org_id: str, report_id: str) -> Any: ...

    async def library(self, org_id: str, limit: int = 200) -> Sequence[Any]: ...

    async def artifact(self, org_id: str, artifact_id: str) -> Any: ...

    async def certify(self, org_id: str, stack_ids: Sequence[str], start: datetime, end: datetime,
                      actor: Actor) -> Any: ...

    async def stream(self, org_id: str, artifact_id: str,
                     actor: Actor | None = None) -> tuple[Any, AsyncIterator[bytes]]:
        """The artifact and its bytes in chunks: a member's download with ``actor`` (audited),
        an opened share link's artifact without (``open_link`` audited that use)."""
        ...

    async def add_artifact(self, org_id: str, kind: str, title: str, parameters: dict[str, Any], *,
                           actor: Actor, path: Path | None = None, data: bytes | None = None, filename: str,
                           media_type: str, verification_hash: str = "", report_id: str = "") -> Any: ...

    async def share(self, org_id: str, artifact_id: str, actor: Actor, *, days: int = SHARE_DEFAULT_DAYS,
                    note: str = "") -> tuple[Any, str]: ...

    async def revoke(self, org_id: str, link_id: str, actor: Actor) -> Any: ...

    async def open_link(self, token: str, *, ip: str, user_agent: str) -> Any: ...


@dataclass(frozen=True)
class PublicKeyFile:
    """A public key or certificate an auditor needs to verify what was shared."""

    filename: str
    title: str
    pem: str
    fingerprint: str


def mount_compliance(app: FastAPI, port: CompliancePort, *, keys_dir: Path | None = None,
                     key_files: tuple[Path, ...] = ()) -> None:
    """Add the Compliance section, its API twin and the public share page ``/share/{token}``.
    ``keys_dir``: ``<data_dir>/keys``, where the public files offered to auditors are read;
    ``key_files``: more such files (the report certificate where an operator configured it);
    only files holding nothing but certificates or public keys are offered."""
    from faramesh_cloud.gateway.api import compliance as api_compliance
    from faramesh_cloud.gateway.web import (
        routes_compliance,
        routes_compliance_coverage,
        routes_share,
    )

    app.state.compliance = port
    app.state.compliance_keys = keys_dir
    app.state.compliance_key_files = key_files
    add_section(app, COMPLIANCE_SECTION, routes_compliance.router, routes_compliance_coverage.router,
                api_compliance.router, routes_share.router)


async def framework_names(port: CompliancePort) -> dict[str, str]:
    """Slug -> name of every framework the service accepts (it refuses others by name)."""
    return dict(await port.frameworks())


def compliance_port(request: Request) -> CompliancePort:
    port: CompliancePort | None = getattr(request.app.state, "compliance", None)
    if port is None:
        raise NotFound("compliance is not running on this Cloud instance")
    return port


def mounted(request: Request) -> CompliancePort | None:
    port: CompliancePort | None = getattr(request.app.state, "compliance", None)
    return port


async def file_in_library(request: Request, principal: Principal, kind: str, title: str,
                          parameters: dict[str, Any], data: bytes, filename: str) -> None:
    """Enter a signed export's exact bytes in the evidence library (when compliance runs here).
    The service being unavailable fails the export (503): a signed export exists only with its
    library entry, so an auditor's evidence never has a copy the library does not know."""
    port = mounted(request)
    if port is not None:
        await port.add_artifact(principal.org.org_id, kind, title, parameters, actor=principal.actor, data=data,
                                filename=filename, media_type="application/json")


def gone(exc: BaseException) -> bool:
    """A share link past its expiry or revoked (``LinkGone``)."""
    return hasattr(exc, "link_id")


def http_error(exc: Exception) -> HTTPException:
    """The REST answer for a refusal of the service."""
    if isinstance(exc, LookupError):
        return HTTPException(404, str(exc.args[0]) if exc.args else "not found in this organisation")
    if gone(exc):
        return HTTPException(410, str(exc))
    return HTTPException(400, str(exc))


def can(principal: Principal, permission: Permission) -> bool:
    return principal.access.allows(permission)


async def check_stacks(request: Request, principal: Principal, stack_ids: Sequence[str]) -> list[str]:
    """The stacks a report names: ones this member may not see are refused as unknown (as the
    service refuses another organisation's), and each needs ``compliance:report:generate``."""
    known = {s.stack_id for s in await web(request).stacks.list_stacks(principal.org.org_id)}
    wanted = sorted({s.strip() for s in stack_ids if s.strip()})
    for stack_id in wanted:
        if stack_id in known and not principal.access.allows(Permission.COMPLIANCE_REPORT_GENERATE, stack_id):
            if not principal.access.allows(Permission.COMPLIANCE_REPORT_READ, stack_id):
                raise HTTPException(400, f"unknown stack {stack_id!r} in this organisation")
            raise HTTPException(403, f"your role on stack {stack_id} does not include "
                                f"{Permission.COMPLIANCE_REPORT_GENERATE}")
    return wanted


async def coverage_stacks(request: Request, principal: Principal) -> list[Any]:
    """The stacks whose coverage this member may read (a stack role of none hides one)."""
    stacks = visible_stacks_of(principal, await web(request).stacks.list_stacks(principal.org.org_id))
    return [s for s in stacks if principal.access.allows(Permission.COMPLIANCE_REPORT_READ, s.stack_id)]


async def coverage_stack(request: Request, principal: Principal, stack_id: str) -> Any:
    """The stack a coverage read names: unknown here (another organisation's) or hidden from
    this member is a 404; seen but without ``compliance:report:read`` on it a 403."""
    found = next((s for s in await web(request).stacks.list_stacks(principal.org.org_id)
                  if s.stack_id == stack_id), None)
    if found is None or not sees_stack(principal, stack_id):
        raise NotFound(f"no stack {stack_id!r} in this organisation")
    if not principal.access.allows(Permission.COMPLIANCE_REPORT_READ, stack_id):
        raise Forbidden(f"your role on stack {found.name} does not include {Permission.COMPLIANCE_REPORT_READ}")
    return found


def coverage_period(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The period a coverage read covers: given, else the last 7 days (up to now)."""
    end = until or now
    return since or end - timedelta(days=COVERAGE_DEFAULT_DAYS), end


def _public_only(text: str) -> bool:
    blocks = [line for line in text.splitlines() if line.startswith("-----BEGIN ")]
    return bool(blocks) and "PRIVATE" not in text and all(
        b in ("-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----") for b in blocks)


def _fingerprint(pem: str) -> str:
    import hashlib

    return hashlib.sha256(pem.strip().encode("ascii", "replace")).hexdigest()[:16]


def public_keys(request: Request) -> list[PublicKeyFile]:
    """The platform's Ed25519 signing key (it signs bundles and report appendices), the report
    certificate an operator configured, and every certificate or public key file in
    ``<data_dir>/keys`` (the PDF document certificate an embedded install made)."""
    signing = web(request).signing_key.public_key()
    found = [PublicKeyFile("platform-ed25519.pub.pem", "Platform signing key (Ed25519): signed bundles and "
                           "report appendices", public_pem(signing), key_id(signing))]
    directory: Path | None = getattr(request.app.state, "compliance_keys", None)
    listed = sorted(directory.iterdir()) if directory is not None and directory.is_dir() else []
    configured: tuple[Path, ...] = getattr(request.app.state, "compliance_key_files", ())
    seen: set[str] = set()
    for path in [*configured, *listed]:
        if path.name in seen or not path.is_file() or path.suffix not in (".pem", ".crt", ".pub") \
                or path.stat().st_size > 64_000:
            continue
        try:
            text = path.read_text("ascii")
        except (OSError, UnicodeDecodeError):
            continue
        if not _public_only(text):
            continue
        seen.add(path.name)
        certificate = "-----BEGIN CERTIFICATE-----" in text
        title = ("PDF document certificate (ECDSA): the report's PAdES signature"
                 if certificate and (path in configured or "document" in path.name) else
                 "Certificate" if certificate else "Public key")
        found.append(PublicKeyFile(path.name, title, text, _fingerprint(text)))
    return found
