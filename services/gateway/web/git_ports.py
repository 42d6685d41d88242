"""What Settings → Integrations → Git, the Config tab's drift against the main branch and
Home's attention panel use of the fleet's git integrations: a port the composition root fills
with the fleet service's ``GitIntegrations`` (in process under ``up``) or ``GitClient`` (the
fleet's internal ``GitService``, under ``serve gateway``). Values come back as
objects read by attribute. Refusals raise ``ValueError`` with a ``code`` (``invalid``,
``conflict``); unknown ids raise ``LookupError``. Connect/map: ``org:integration:manage``
(Owner, Admin); a check now: ``fleet:stack:read``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request

from faramesh_cloud.gateway.web.deps import mounted_port
from faramesh_cloud.platform_audit.events import Actor


class GitPort(Protocol):
    providers: Sequence[Any]
    labels: Mapping[Any, str]
    defaults: Mapping[Any, str]

    async def connections(self, org_id: str) -> Sequence[Any]: ...

    async def connect(self, org_id: str, name: str, provider: str, base_url: str, token: str, actor: Actor, *,
                      username: str = "") -> Any: ...

    async def disconnect(self, org_id: str, connection_id: str, actor: Actor) -> Any: ...

    async def mappings(self, org_id: str) -> Sequence[Any]: ...

    async def map_stack(self, org_id: str, stack_id: str, connection_id: str, repository: str, path: str,
                        branch: str, actor: Actor) -> Any: ...

    async def unmap(self, org_id: str, stack_id: str, actor: Actor) -> Any: ...

    async def check(self, org_id: str, stack_id: str, actor: Actor | None = None) -> Any: ...

    async def drifts(self, org_id: str) -> Sequence[Any]: ...

    async def drift(self, org_id: str, stack_id: str) -> Any | None: ...


def mount_git(app: FastAPI, port: GitPort | None) -> None:
    """Add Settings → Integrations → Git, its API twin and the Config tab's "check now" (``port``
    None: the pages answer that git integrations do not run on this instance). Mount after the
    fleet: its drift views read the port through ``FleetPorts.git``."""
    from faramesh_cloud.gateway.api import git as api_git
    from faramesh_cloud.gateway.web import routes_git

    app.state.git = port
    fleet = getattr(app.state, "fleet", None)
    if fleet is not None:
        app.state.fleet = dataclasses.replace(fleet, git=port)
    for router in (routes_git.router, api_git.router):
        app.include_router(router)


def git_port(request: Request) -> GitPort:
    port: GitPort = mounted_port(request, "git", "git integrations are")
    return port


def connection_json(c: Any) -> dict[str, Any]:
    return {"connection_id": c.connection_id, "name": c.name, "provider": str(c.provider), "base_url": c.base_url,
            "username": c.username, "token_hint": c.token_hint, "created_at": c.created_at,
            "created_by": c.created_by}


def mapping_json(m: Any) -> dict[str, Any]:
    return {"stack_id": m.stack_id, "connection_id": m.connection_id, "connection": m.connection,
            "provider": str(m.provider), "repository": m.repository, "path": m.path, "branch": m.branch,
            "mapped_at": m.mapped_at, "mapped_by": m.mapped_by}


def drift_json(d: Any) -> dict[str, Any]:
    c = d.comparison
    return {"stack_id": d.stack_id, "provider": str(d.provider), "repository": d.repository, "path": d.path,
            "branch": d.branch, "checked_at": d.checked_at, "head_commit": d.head_commit, "head_url": d.head_url,
            "error": d.error, "applied_commit": d.applied_commit, "applied_sha256": d.applied_sha256,
            "status": c.status, "added": c.added, "removed": c.removed, "diff": "\n".join(c.diff),
            "diff_truncated": c.truncated}
