"""What the Registry section's publishing pages (Publish, Review queue, My artifacts, Issues)
and their REST twin use: a port the composition root fills with the registry service's
``PublishApi`` (in process under ``up``; its gRPC client under ``serve gateway``). The gateway imports no service: values come back as
objects read by attribute.

Who may do what: an organisation's commands (claim a namespace, submit, upload, yank, reply)
take ``registry:artifact:publish`` (Owner, Admin); reading them and filing an issue report
``registry:artifact:read``; review commands a platform reviewer (``registry_reviewers``, a
signed-in person), checked by the registry itself. Refusals: ``ValueError`` 400 with the
message naming the problem, ``PermissionError`` 403, ``LookupError`` 404.

The browse routes match only ``providers|policies|frameworks`` (a path convertor), so these
routes need no place of their own, whichever section mounts first."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, Final, Protocol

from fastapi import FastAPI, HTTPException, Request

from faramesh_cloud.gateway.web.deps import NavSection, WebDeps
from faramesh_cloud.identity.domain import Forbidden, NotFound
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import Actor

# The browse section's entry; without the browse pages the entry lands on Publish.
REGISTRY_SECTION: Final = NavSection("registry", "Registry", "/registry", (Permission.REGISTRY_ARTIFACT_READ,))
UPLOAD_PATHS: Final = ("/api/v1/orgs/*/registry/providers/submissions", "/o/*/registry/publish/provider")


class RegistryPublishPort(Protocol):
    async def claim_namespace(self, org_id: str, namespace: str, display_name: str, actor: Actor) -> Any: ...

    async def namespaces(self, org_id: str) -> Sequence[Any]: ...

    async def review_namespace(self, namespace: str, confirm: bool, reason: str, actor: Actor) -> Any: ...

    async def pending_namespaces(self, actor: Actor) -> Sequence[Any]: ...

    async def submit_pack(self, org_id: str, given: Any, actor: Actor) -> Any: ...

    async def submit_provider(self, org_id: str, given: Any, binaries: Mapping[str, AsyncIterable[bytes]],
                              actor: Actor) -> Any: ...

    async def submissions_of(self, org_id: str) -> Sequence[Any]: ...

    async def submission(self, submission_id: str, *, org_id: str | None, actor: Actor) -> Any: ...

    async def submission_fpl(self, submission: Any) -> str: ...

    async def is_reviewer(self, actor: Actor) -> bool: ...

    async def review_queue(self, actor: Actor) -> Sequence[Any]: ...

    async def approve(self, submission_id: str, note: str, actor: Actor) -> Any: ...

    async def reject(self, submission_id: str, reason: str, actor: Actor) -> Any: ...

    async def yank(self, org_id: str | None, kind: str, name: str, version: str, reason: str, actor: Actor) -> None: ...

    async def my_artifacts(self, org_id: str) -> Sequence[Any]: ...

    async def file_issue(self, org_id: str, kind: str, name: str, version: str, title: str, body: str,
                         actor: Actor) -> Any: ...

    async def reply_issue(self, org_id: str, issue_id: str, body: str, actor: Actor) -> Any: ...

    async def issues_filed(self, org_id: str) -> Sequence[Any]: ...


class PublishInputs(Protocol):
    """The registry's input types (``PackInput``, ``ProviderInput``), given with the port so
    the gateway builds them without importing the service."""

    def pack(self, **fields: Any) -> Any: ...

    def provider(self, **fields: Any) -> Any: ...


@dataclasses.dataclass(frozen=True)
class Publishing:
    port: RegistryPublishPort
    inputs: PublishInputs
    max_upload_bytes: int
    platforms: tuple[str, ...]
    capabilities: tuple[str, ...]


def mount_registry_publish(app: FastAPI, publishing: Publishing) -> None:
    """Add the publishing pages and their REST twin (the browse routes match only the three
    artifact lists, so the order the two are mounted in does not matter)."""
    from faramesh_cloud.gateway.api import registry_publish as api_publish
    from faramesh_cloud.gateway.web import routes_registry_publish

    app.state.registry_publish = publishing
    deps: WebDeps = app.state.web
    if not any(s.key == REGISTRY_SECTION.key for s in deps.sections):  # no browse pages: land on Publish
        section = dataclasses.replace(REGISTRY_SECTION, path="/registry/publish")
        app.state.web = dataclasses.replace(deps, sections=(*deps.sections, section))
    for router in (routes_registry_publish.router, api_publish.router):
        app.include_router(router)
    app.openapi_schema = None


def publishing(request: Request) -> Publishing:
    found: Publishing | None = getattr(request.app.state, "registry_publish", None)
    if found is None:
        raise NotFound("publishing to the registry is not available on this Cloud instance")
    return found


def http_error(exc: Exception) -> Exception:
    """A registry refusal as the gateway's error (400 / 403 / 404, the message kept)."""
    text = str(exc.args[0]) if exc.args else str(exc)
    if isinstance(exc, PermissionError):
        return Forbidden(text)
    if isinstance(exc, LookupError):
        return NotFound(text)
    return HTTPException(400, text)


def plain(value: Any) -> Any:
    """A view (dataclasses, enums, dates, lists, mappings) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def submission_view(s: Any) -> dict[str, Any]:
    """A submission for its publisher or a reviewer: its outcome and reason, the smoke test's
    result per platform, the checker's warnings."""
    out = plain(s)
    out["warnings"] = list(s.meta.get("review_warnings", []))
    out.pop("meta", None)
    return out
