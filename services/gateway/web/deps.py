"""What the web UI and REST API are given by the composition root, and per-request helpers.

:class:`WebDeps` is injected into ``create_app``; routers reach it through
``request.app.state.web`` (``web(request)``), never through globals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI, Request

from faramesh_cloud.gateway.web.audit_ports import AuditReader
from faramesh_cloud.gateway.web.live_feed import LiveHub
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import is_stack_scoped
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.stacks.domain import Stack


class StackDirectory(Protocol):
    """The stacks of an organisation (``StackStore`` satisfies it)."""

    async def list_stacks(self, org_id: str) -> list[Stack]: ...


@dataclass(frozen=True)
class WebConfig:
    # Signs the short-lived SSO state cookie (Authlib keeps state, nonce and PKCE verifier in it).
    secret_key: str
    # True: cookies always Secure; None: Secure when the request came over https.
    secure_cookies: bool | None = None
    # Seconds without a sync before a stack shows as disconnected (Home's fleet strip).
    disconnect_after_s: float = 120.0


@dataclass(frozen=True)
class NavSection:
    """One entry of the top navigation. ``path`` is relative to ``/o/<org>``; ``needs``
    lists permissions of which any one shows the entry (empty: every member)."""

    key: str
    label: str
    path: str
    needs: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class WebDeps:
    identity: Identity
    stacks: StackDirectory
    signing_key: Ed25519PrivateKey
    config: WebConfig
    sections: Sequence[NavSection] = field(default_factory=tuple)
    audit: AuditReader | None = None  # the DPR explorer's reads (None: no Audit section)
    # The live views' shared feed over ``audit``, woken by the index's commits (None: mount_web
    # makes one without wake-ups, which re-reads once a second per organisation).
    live: LiveHub | None = None


def add_section(app: FastAPI, section: NavSection, *routers: APIRouter) -> None:
    """``section`` in the top navigation (once, after those there) and ``routers`` on ``app``."""
    deps: WebDeps = app.state.web
    if section not in deps.sections:
        app.state.web = replace(deps, sections=(*deps.sections, section))
    for router in routers:
        app.include_router(router)


def mounted_port(request: Request, name: str, what: str) -> Any:
    """The port mounted as ``app.state.<name>``; 404 saying ``what`` does not run here."""
    port = getattr(request.app.state, name, None)
    if port is None:
        raise NotFound(f"{what} not running on this Cloud instance")
    return port


def web(request: Request) -> WebDeps:
    deps: WebDeps = request.app.state.web
    return deps


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def secure_cookie(request: Request) -> bool:
    configured = web(request).config.secure_cookies
    return configured if configured is not None else request.url.scheme == "https"


def sees_stack(principal: Principal, stack_id: str) -> bool:
    """Whether the member may know the stack exists: some stack-scoped permission on it (a
    stack role of ``none`` hides it: not in filters, lists or name maps, 404 by id)."""
    return any(is_stack_scoped(p) for p in principal.access.permissions(stack_id))


def visible_stacks_of(principal: Principal, stacks: Iterable[Stack]) -> list[Stack]:
    return [s for s in stacks if sees_stack(principal, s.stack_id)]
