"""What the Registry section (browse: providers, policy packs, framework profiles, trust keys,
a stack's registry imports) and its REST twin use: a port the composition root fills with the
registry service's browse reads (``RegistryBrowse`` in process under ``up``). The gateway
imports no service: values come back as objects read by attribute.

The catalog is global; reading it here takes ``registry:artifact:read`` in the organisation of
the page (every role but Viewer and Auditor), and "verified" means verified against the keys
*that organisation* trusts. A stack's imports are read from the governance.fms text the stack
last applied (the fleet's stored texts), so they need the stack to be visible to the member.
Unknown names raise ``LookupError`` (404); bad filters or cursors ``ValueError`` (422)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final, Protocol

from fastapi import FastAPI, HTTPException, Request

from faramesh_cloud.gateway.web.deps import NavSection, WebDeps
from faramesh_cloud.identity.domain import NotFound
from faramesh_cloud.identity.permissions import Permission

REGISTRY_SECTION: Final = NavSection("registry", "Registry", "/registry", (Permission.REGISTRY_ARTIFACT_READ,))
KIND_PATHS: Final = {"providers": "provider", "policies": "policy", "frameworks": "framework"}
KIND_WORDS: Final = {"provider": "Providers", "policy": "Policy packs", "framework": "Framework profiles"}


class RegistryPort(Protocol):
    async def artifacts(self, kind: str, *, q: str = "", domain: str = "", tier: str = "", capability: str = "",
                        limit: int = 50, cursor: str | None = None) -> Any:
        """A page (``items``, ``total``, ``next_cursor``) of artifact rows of ``kind``."""
        ...

    async def facets(self, kind: str) -> dict[str, list[str]]: ...

    async def artifact(self, org_id: str, kind: str, name: str, version: str = "") -> Any: ...

    async def trust_keys(self) -> Sequence[Any]: ...

    async def check_imports(self, org_id: str, text: str) -> Sequence[Any]: ...


def mount_registry(app: FastAPI, port: RegistryPort) -> None:
    """Add the Registry section, its REST twin and the stack tab "Registry imports"."""
    from faramesh_cloud.gateway.api import registry as api_registry
    from faramesh_cloud.gateway.web import routes_registry

    app.state.registry = port
    deps: WebDeps = app.state.web
    if REGISTRY_SECTION not in deps.sections:
        app.state.web = dataclasses.replace(deps, sections=(*deps.sections, REGISTRY_SECTION))
    for router in (routes_registry.router, api_registry.router):
        app.include_router(router)


def registry_port(request: Request) -> RegistryPort:
    port: RegistryPort | None = getattr(request.app.state, "registry", None)
    if port is None:
        raise NotFound("the registry is not running on this Cloud instance")
    return port


def kind_of(path_word: str) -> str:
    kind = KIND_PATHS.get(path_word)
    if kind is None:
        raise NotFound(f"no registry section {path_word!r}; use providers, policies or frameworks")
    return kind


def http_error(exc: Exception) -> HTTPException:
    if isinstance(exc, LookupError):
        return HTTPException(404, str(exc.args[0]) if exc.args else "not found in this registry")
    return HTTPException(422, str(exc))


def plain(value: Any) -> Any:
    """A view (dataclasses, lists, mappings) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "verified") and "verdict" in out:
            out["verified"] = bool(value.verified)
        return out
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
