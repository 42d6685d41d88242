"""What the Registry section (browse: providers, policy packs, framework profiles, trust keys,
a stack's registry imports) and its REST twin use: ``RegistryPort``, which the composition root
fills with the registry service's read API (``RegistryApi`` in process under ``up``, its gRPC
client under ``serve gateway``). The
gateway imports no service: values come back as objects read by attribute.

The catalog is global; reading it here takes ``registry:artifact:read`` in the organisation of
the page (every role but Viewer and Auditor). "Verified" means valid under a key the registry
lists AND the page's organisation trusts (its trust set: by default the official key and
Cloud's; Owners and Admins change it on Trust keys). A stack's imports
are read from the governance.fms text the stack last applied (the fleet's stored texts), so
they need the stack to be visible to the member. Unknown names are 404; bad filters
``ValueError`` (422)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final, Protocol

from fastapi import FastAPI, HTTPException, Request
from starlette.convertors import StringConvertor, register_url_convertor

from faramesh_cloud.gateway.web.deps import NavSection, add_section, mounted_port
from faramesh_cloud.identity.domain import NotFound
from faramesh_cloud.identity.permissions import Permission

REGISTRY_SECTION: Final = NavSection("registry", "Registry", "/registry", (Permission.REGISTRY_ARTIFACT_READ,))
KIND_PATHS: Final = {"providers": "provider", "policies": "policy", "frameworks": "framework"}


class _KindsConvertor(StringConvertor):
    """``{kinds:registry_kinds}`` matches only the three artifact lists, so the section's other
    pages (``/registry/publish``, ``/registry/review``, ``/registry/publishers`` ...) are never
    taken for a kind, whatever order the routers were added in."""

    regex = "|".join(KIND_PATHS)


register_url_convertor("registry_kinds", _KindsConvertor())
KIND_WORDS: Final = {"provider": "Providers", "policy": "Policy packs", "framework": "Framework profiles"}
EFFECTS: Final = ("permit", "deny", "defer")


class RegistryPort(Protocol):
    async def search(self, kind: str = "", *, text: str = "", tier: str = "", category: str = "",
                     capability: str = "", platform: str = "", namespace: str = "", limit: int = 50,
                     offset: int = 0) -> Any:
        """A page (``items``, ``total``, ``limit``, ``offset``) of artifact summaries."""
        ...

    async def facets(self, kind: str) -> dict[str, list[str]]: ...

    async def artifact(self, kind: str, name: str) -> Any:
        """The artifact with its version history and downloads, or None."""
        ...

    async def version(self, kind: str, name: str, version: str, *, org_id: str | None = None) -> Any:
        """One version (FPL, manifest, binaries, signature status (for ``org_id``: against the
        keys it trusts), rule preview, checklist, import line and snippet), or None."""
        ...

    async def trust_keys(self, *, org_id: str | None = None) -> Sequence[Any]:
        """The listed keys; with ``org_id`` each says whether that organisation trusts it."""
        ...

    async def check_imports(self, governance_fms: str, *, org_id: str | None = None) -> Sequence[Any]: ...

    async def set_trusted_keys(self, org_id: str, key_ids: Sequence[str], actor: Any) -> Sequence[Any]:
        """Replace the organisation's trust set (audited); ValueError naming a bad key."""
        ...


@dataclasses.dataclass(frozen=True)
class Detail:
    """An artifact's page: the artifact with its history, and the version shown."""

    artifact: Any
    version: Any


async def detail(port: RegistryPort, kind: str, name: str, version: str = "", *, org_id: str | None = None) -> Detail:
    """``name`` at ``version`` (default: its latest published version, else its highest), its
    signature judged for ``org_id``."""
    found = await port.artifact(kind, name)
    if found is None or not found.versions:
        raise NotFound(f"no {kind} {name!r} in this registry")
    chosen = version or found.artifact.latest_version or found.versions[0].version
    shown = await port.version(kind, name, chosen, org_id=org_id)
    if shown is None:
        raise NotFound(f"{kind} {name!r} has no version {chosen!r}; versions: "
                       f"{', '.join(v.version for v in found.versions)}")
    return Detail(found, shown)


def mount_registry(app: FastAPI, port: RegistryPort) -> None:
    """Add the Registry section, its REST twin and the stack tab "Registry imports"."""
    from faramesh_cloud.gateway.api import registry as api_registry
    from faramesh_cloud.gateway.web import routes_registry

    app.state.registry = port
    add_section(app, REGISTRY_SECTION, routes_registry.router, api_registry.router)


def registry_port(request: Request) -> RegistryPort:
    port: RegistryPort = mounted_port(request, "registry", "the registry is")
    return port


def kind_of(path_word: str) -> str:
    kind = KIND_PATHS.get(path_word)
    if kind is None:
        raise NotFound(f"no registry section {path_word!r}; use providers, policies or frameworks")
    return kind


def bad_filter(exc: ValueError) -> HTTPException:
    return HTTPException(422, str(exc))


def counts(preview: Any) -> dict[str, int]:
    """Rules per effect of a pack preview."""
    return {effect: preview.count(effect) for effect in EFFECTS}


def plain(value: Any) -> Any:
    """A view (dataclasses, lists, mappings) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
