"""The daemon-facing HTTP API (REGISTRY_PROTOCOL.md §9): GET only, no auth, public.

Mounted at ``/registry`` (the gateway's port under ``up``; the registry's own listener under
``serve registry``), so a daemon sets ``FARAMESH_REGISTRY_URL=https://<cloud>/registry``.

Routes under the base (the mount's path):
* ``/.well-known/faramesh.json``, ``/v1/search?q=&kind=&tier=`` (``results`` for the daemon and
  ``packs`` for faramesh-registry's web/hub), ``/v1/stats``, ``/v1/trust/keys[/{key_id}]``.
* ``/v1/{policies|frameworks|providers}/{name}/versions[/{version}]``: ``{name}`` arrives with
  ``/`` as ``%2F`` (``faramesh%2Fstripe``) or plain; it is read from the *raw* path (Starlette
  has already decoded ``%2F`` in ``path``), segment by segment.
* ``/v1/providers/{name}/versions/{version}/binaries/{platform}[.sig]``: a provider binary
  (streamed from the BlobStore) or its bare-base64 ``.sig``; the manifest's ``downloads`` point
  here with absolute URLs built from the request's own base URL.

Yanked versions answer 404 on R1-R3 and the binary routes, and are listed with ``yanked:
true`` by the versions list. Errors are ``text/plain`` (the daemon shows the body to its user):
404 for an unknown kind, name, version, key or binary; 400 for a malformed version or name or
an unknown ``format``/``kind``. Download counts: R1, R2 and binary downloads (R4), batched.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any, Final
from urllib.parse import unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from faramesh_cloud.blobstore import BlobNotFound
from faramesh_cloud.registry.domain import Kind, Version, check_platform, parse_name
from faramesh_cloud.registry.reads import Blobs, DownloadCounter
from faramesh_cloud.registry.signatures import b64
from faramesh_cloud.registry.snapshot import OFFICIAL_KEY_ID
from faramesh_cloud.registry.store import RegistryStore, SearchFilter, VersionRow

API_VERSION: Final = "1"
MOUNT: Final = "/registry"
REGISTRY_ID: Final = "faramesh-cloud"


class HttpError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body) + b"\n", status, media_type="application/json")


def _segments(request: Request) -> list[str]:
    """The path under the base, split on ``/`` *before* percent-decoding each segment."""
    raw = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
    raw = raw.split("?", 1)[0]
    root = request.scope.get("root_path", "")
    if root and raw.startswith(root):
        raw = raw[len(root):]
    return [unquote(s) for s in raw.strip("/").split("/")] if raw.strip("/") else []


def base_url(request: Request) -> str:
    """``scheme://host[:port]<base path>`` as the client reached this API."""
    return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"


class RegistryHttp:
    def __init__(self, store: RegistryStore, blobs: Blobs, downloads: DownloadCounter) -> None:
        self._store = store
        self._blobs = blobs
        self._downloads = downloads
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "HEAD"])])

    async def _handle(self, request: Request) -> Response:
        try:
            return await self._route(request, _segments(request))
        except HttpError as exc:
            return PlainTextResponse(exc.text + "\n", exc.status)

    async def _route(self, request: Request, seg: list[str]) -> Response:
        if seg == [".well-known", "faramesh.json"]:
            return await self._well_known(request)
        if len(seg) < 2 or seg[0] != "v1":
            raise HttpError(404, "not found: this is a Faramesh registry (API under /v1)")
        if seg[1:] == ["search"]:
            return await self._search(request)
        if seg[1:] == ["stats"]:
            return await self._stats()
        if seg[1:3] == ["trust", "keys"] and len(seg) <= 4:
            return await self._keys(seg[3] if len(seg) == 4 else None)
        try:
            kind = Kind.parse(seg[1])
        except ValueError:
            raise HttpError(404, f"not found: unknown kind {seg[1]!r} (want providers, policies or frameworks)") from None
        if seg[1] != kind.plural:
            raise HttpError(404, f"not found: the path uses the plural kind ({kind.plural})")
        rest = seg[2:]
        if kind is Kind.PROVIDER and len(rest) >= 5 and rest[-2] == "binaries" and rest[-4] == "versions":
            return await self._binary(kind, "/".join(rest[:-4]), rest[-3], rest[-1])
        if len(rest) >= 2 and rest[-1] == "versions":
            return await self._versions(kind, "/".join(rest[:-1]))
        if len(rest) >= 3 and rest[-2] == "versions":
            return await self._version(request, kind, "/".join(rest[:-2]), rest[-1])
        raise HttpError(404, f"not found: use /v1/{kind.plural}/<name>/versions[/<version>]")

    # --- discovery, search, stats, keys -----------------------------------------------------------
    async def _well_known(self, request: Request) -> Response:
        root = request.scope.get("root_path", "")
        keys = await self._store.keys()
        return _json({
            "api_version": API_VERSION, "registry_id": REGISTRY_ID, "search": f"{root}/v1/search",
            "artifact": {"providers": f"{root}/v1/providers/{{name}}/versions/{{version}}",
                         "policies": f"{root}/v1/policies/{{name}}/versions/{{version}}",
                         "frameworks": f"{root}/v1/frameworks/{{name}}/versions/{{version}}",
                         "versions_list": f"{root}/v1/{{kind}}/{{name}}/versions"},
            "trust": {"official_key_ids": [k.key_id for k in keys if k.origin == "official"],
                      "registry_key_ids": [k.key_id for k in keys if k.origin == "cloud" and k.retired_at is None],
                      "keys_url": f"{root}/v1/trust/keys"},
            "telemetry": {"downloads_aggregate": f"{root}/v1/stats"},
        })

    async def _search(self, request: Request) -> Response:
        q = request.query_params
        kind_text = q.get("kind", "").strip()
        try:
            kind = Kind.parse(kind_text) if kind_text else None
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        tier = q.get("tier", "").strip().lower()
        if tier and tier not in ("official", "community"):
            raise HttpError(400, f"unknown tier {tier!r} (want official or community)")
        items: list[dict[str, Any]] = []
        offset = 0
        while True:  # every match (the daemon does not page)
            page = await self._store.search(SearchFilter(kind=kind, text=q.get("q", "").strip(), tier=tier,
                                                         limit=200, offset=offset))
            for a in page.items:
                if not a.latest_version:
                    continue
                category = ",".join(a.capabilities) if a.kind == "provider" and a.capabilities else a.category
                items.append({"kind": a.kind, "name": a.name, "latest_version": a.latest_version,
                              "description": a.description, "trust_tier": a.trust_tier, "category": category})
            offset += page.limit
            if offset >= page.total:
                break
        return _json({"api_version": API_VERSION, "results": items, "packs": items})

    async def _stats(self) -> Response:
        s = await self._store.stats()
        return _json({"api_version": API_VERSION, "total_artifacts": s.total, "official_count": s.official,
                      "provider_count": s.by_kind.get("provider", 0), "policy_count": s.by_kind.get("policy", 0),
                      "framework_count": s.by_kind.get("framework", 0)})

    async def _keys(self, key_id: str | None) -> Response:
        keys = [{"key_id": k.key_id, "algorithm": k.algorithm,
                 "public_key_b64": b64(k.public_key),
                 "purpose": k.purpose or ("official registry key" if k.key_id == OFFICIAL_KEY_ID else ""),
                 "owner": k.owner, "origin": k.origin, "created_at": k.created_at.isoformat(),
                 "retired_at": k.retired_at.isoformat() if k.retired_at else None} for k in await self._store.keys()]
        if key_id is None:
            return _json({"api_version": API_VERSION, "keys": keys})
        for k in keys:
            if k["key_id"] == key_id:
                return _json({"api_version": API_VERSION, **k})
        raise HttpError(404, "key not found")

    # --- versions --------------------------------------------------------------------------------
    @staticmethod
    def _check(kind: Kind, name: str, version: str | None) -> None:
        try:
            parse_name(kind, name)
            if version is not None:
                Version.parse(version)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None

    async def _published(self, kind: Kind, name: str, version: str) -> VersionRow:
        self._check(kind, name, version)
        row = await self._store.version(kind, name, version)
        if row is None:
            known = await self._store.artifact(kind, name)
            if known is None:
                raise HttpError(404, f"{kind.value} {name} not found")
            raise HttpError(404, f"{kind.value} {name}@{version} not found")
        if row.yanked:
            raise HttpError(404, f"{kind.value} {name}@{version} was yanked" + (f": {row.yank_reason}"
                                                                                if row.yank_reason else ""))
        return row

    async def _versions(self, kind: Kind, name: str) -> Response:
        self._check(kind, name, None)
        rows = await self._store.versions(kind, name)
        if not rows:
            raise HttpError(404, f"{kind.value} {name} not found")
        listed = []
        for v in rows:
            item: dict[str, Any] = {"version": v.version, "published_at": v.published_at.isoformat()}
            if v.changelog:
                item["changelog"] = v.changelog
            if v.yanked:
                item["yanked"] = True
            listed.append(item)
        return _json({"api_version": API_VERSION, "kind": kind.value, "name": name, "versions": listed})

    async def _version(self, request: Request, kind: Kind, name: str, version: str) -> Response:
        row = await self._published(kind, name, version)
        artifact = await self._store.artifact(kind, name)
        assert artifact is not None
        if kind is Kind.PROVIDER:
            return await self._provider(request, row, artifact.trust_tier, artifact.capabilities)
        fmt = request.query_params.get("format", "")
        if fmt not in ("", "fpl", "yaml", "json"):
            raise HttpError(400, f"unknown format {fmt!r} (want fpl, yaml or json)")
        if fmt in ("yaml", "json"):
            sidecar = row.yaml_sha256 if fmt == "yaml" else None
            if sidecar is None:
                raise HttpError(404, f"{kind.value} {name}@{version} has no {fmt} form")
            return PlainTextResponse(await self._blobs.text(sidecar) or "", media_type=f"application/{fmt}")
        body = await self._blobs.text(row.body_sha256)
        assert body is not None
        answer: dict[str, Any] = {
            "api_version": API_VERSION, "kind": kind.value, "name": name, "version": version,
            "description": artifact.description, "policy_fpl": body,
            "sha256_hex": hashlib.sha256(body.encode()).hexdigest(), "trust_tier": artifact.trust_tier,
        }
        if row.yaml_sha256:
            answer["policy_yaml"] = await self._blobs.text(row.yaml_sha256)
        if row.changelog:
            answer["changelog"] = row.changelog
        if row.readme_sha256:
            answer["readme_markdown"] = await self._blobs.text(row.readme_sha256)
        for field in ("parameter_schema", "rules_summary", "compatibility", "faramesh_version"):
            if field in row.meta:
                answer[field] = row.meta[field]
        answer["signature"] = row.signature
        self._downloads.count(kind, name, version)
        return _json(answer)

    async def _provider(self, request: Request, row: VersionRow, tier: str, capabilities: tuple[str, ...]) -> Response:
        base = base_url(request)
        path = f"{base}/v1/providers/{row.name.replace('/', '%2F')}/versions/{row.version}/binaries"
        downloads = {b.platform: {"url": f"{path}/{b.platform}", "sha256_hex": b.sha256, "size": b.size}
                     for b in await self._store.binaries(row.name, row.version)}
        answer: dict[str, Any] = {"api_version": API_VERSION, "kind": "provider", "name": row.name,
                                  "version": row.version, "trust_tier": tier}
        if row.meta.get("dev_only"):
            answer["dev_only"] = True
        answer |= {"capabilities": list(capabilities), "downloads": downloads}
        if row.readme_sha256:
            answer["readme_markdown"] = await self._blobs.text(row.readme_sha256)
        if "config_schema" in row.meta:
            answer["config_schema"] = row.meta["config_schema"]
        answer["signature"] = row.signature
        answer["manifest"] = row.manifest  # exactly as signed (its file:// URLs are the publisher's)
        return _json(answer)

    async def _binary(self, kind: Kind, name: str, version: str, file: str) -> Response:
        row = await self._published(kind, name, version)
        sig = file.endswith(".sig")
        platform = file.removesuffix(".sig")
        try:
            check_platform(platform)
        except ValueError as exc:
            raise HttpError(404, f"not found: {exc}") from None
        binary = next((b for b in await self._store.binaries(name, version) if b.platform == platform), None)
        if binary is None:
            raise HttpError(404, f"provider {name}@{version} has no {platform} build")
        if sig:
            return PlainTextResponse(binary.signature_b64)
        if not binary.hosted:
            raise HttpError(404, f"provider {name}@{version} {platform}: this registry lists the binary's sha256 and "
                                 "signature but does not host its bytes (seeded from a catalog snapshot without "
                                 "binaries); install it from a local checkout of faramesh-registry "
                                 "(FARAMESH_REGISTRY_ROOT) or have it published here")
        stat = await self._blobs.store.stat(binary.sha256)
        if stat is None:
            raise HttpError(404, f"provider {name}@{version} {platform}: the binary's bytes are missing from "
                                 "the blob store; tell the operator")
        self._downloads.count(kind, name, row.version)
        return StreamingResponse(self._stream(binary.sha256), media_type="application/octet-stream",
                                 headers={"content-length": str(stat.size)})

    async def _stream(self, sha256: str) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._blobs.store.open(sha256):
                yield chunk
        except BlobNotFound:
            return
