"""``/api/v1/orgs/{org}/registry/...``: publishing's REST twin (namespaces, submissions of policy
packs, framework profiles and providers, the review queue, yank, My artifacts, issue reports).
Same permissions as the pages (``web/registry_publish_ports.py``). A provider is uploaded as
``multipart/form-data``: its fields and one file part ``binary_<goos>_<goarch>`` per platform
(optionally ``sha256_<goos>_<goarch>``: the manifest's digest, checked); the route's body limit
is the ``registry_max_upload_bytes`` setting, not the gateway's default."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.registry_publish_ports import (
    http_error,
    plain,
    publishing,
    submission_view,
)
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/registry", tags=["registry publishing"],
                   dependencies=[Depends(check_csrf)])
READ = require(Permission.REGISTRY_ARTIFACT_READ)
PUBLISH = require(Permission.REGISTRY_ARTIFACT_PUBLISH)
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "refused input; the detail names the problem (nothing was stored)"},
    403: {"description": "not allowed (your role, another publisher's namespace, not a platform reviewer)"},
    404: {"description": "no such namespace, submission, version or issue report"}}
CHUNK: Final = 1024 * 1024


class ClaimIn(BaseModel):
    namespace: str = Field(min_length=1, max_length=63, description="one DNS label, e.g. acme")
    display_name: str = Field(default="", max_length=100)


class PackIn(BaseModel):
    kind: str = Field(description="policy or framework")
    name: str = Field(min_length=1, max_length=200, description="<namespace>/<name>")
    version: str = Field(min_length=1, max_length=100, description="strict semantic version, e.g. 1.0.0")
    fpl: str = Field(description="the pack's or profile's FPL text, exactly as it will be signed")
    readme: str = ""
    changelog: str = ""
    description: str = ""
    category: str = ""
    domains: list[str] = Field(default_factory=list, max_length=20)
    parameter_schema: dict[str, Any] | None = None
    signature: dict[str, Any] | None = Field(default=None, description="your own .fpl.sig over the FPL (checked)")


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class YankIn(BaseModel):
    kind: str
    name: str
    version: str
    reason: str = Field(default="", max_length=2000, description="mandatory; shown to whoever asks for it")


class IssueIn(BaseModel):
    kind: str
    name: str
    version: str
    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)


class ReplyIn(BaseModel):
    body: str = Field(max_length=20_000)


async def _call(work: Any) -> Any:
    try:
        return await work
    except (ValueError, PermissionError, LookupError) as exc:
        raise http_error(exc) from None


@router.get("/publishers", responses=ERRORS)
async def namespaces(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """This organisation's namespaces (pending, confirmed or rejected, with the reviewer's reason)."""
    return [plain(p) for p in await publishing(request).port.namespaces(principal.org.org_id)]


@router.post("/publishers", status_code=201, responses=ERRORS)
async def claim(request: Request, body: ClaimIn, principal: Principal = Depends(PUBLISH)) -> dict[str, Any]:
    """Claim a publisher namespace; a platform reviewer confirms it before anything is published in it."""
    port = publishing(request).port
    return plain(await _call(port.claim_namespace(principal.org.org_id, body.namespace, body.display_name,
                                                  principal.actor)))


@router.get("/submissions", responses=ERRORS)
async def submissions(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """This organisation's submissions, newest first, each with its outcome and the reviewer's reason."""
    return [submission_view(s) for s in await publishing(request).port.submissions_of(principal.org.org_id)]


@router.get("/submissions/{submission_id}", responses=ERRORS)
async def submission(request: Request, submission_id: str, principal: Principal = Depends(READ)) -> dict[str, Any]:
    port = publishing(request).port
    found = await _call(port.submission(submission_id, org_id=principal.org.org_id, actor=principal.actor))
    return {**submission_view(found), "fpl": await port.submission_fpl(found)}


@router.post("/submissions", status_code=201, responses=ERRORS)
async def submit_pack(request: Request, body: PackIn, principal: Principal = Depends(PUBLISH)) -> dict[str, Any]:
    """Submit a policy pack or framework profile (FPL, checked as the daemon parses it) to the review queue."""
    found = publishing(request)
    given = found.inputs.pack(**body.model_dump())
    return submission_view(await _call(found.port.submit_pack(principal.org.org_id, given, principal.actor)))


async def _stream(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


async def provider_from_form(request: Request, principal: Principal) -> Any:
    """A provider submission from a multipart form (REST and the Publish page share it)."""
    found = publishing(request)
    async with request.form(max_files=len(found.platforms), max_fields=100) as form:
        binaries = {}
        expected = {}
        for plat in found.platforms:
            part = form.get(f"binary_{plat}")
            if isinstance(part, UploadFile) and (part.filename or part.size):
                binaries[plat] = _stream(part)
            digest = str(form.get(f"sha256_{plat}") or "").strip()
            if digest:
                expected[plat] = digest
        text = str(form.get("config_schema") or "").strip()
        try:
            schema = json.loads(text) if text else {}
        except ValueError as exc:
            raise http_error(ValueError(f"config_schema is not JSON: {exc}")) from None
        if not isinstance(schema, dict):
            raise http_error(ValueError("config_schema must be a JSON object"))
        smoke_text = str(form.get("smoke_config") or "").strip()
        try:
            smoke = json.loads(smoke_text) if smoke_text else {}
        except ValueError as exc:
            raise http_error(ValueError(f"smoke_config is not JSON: {exc}")) from None
        capabilities = [c.strip().upper() for c in form.getlist("capabilities") for c in str(c).split(",")
                        if c.strip()]
        given = found.inputs.provider(
            name=str(form.get("name") or "").strip(), version=str(form.get("version") or "").strip(),
            capabilities=tuple(capabilities), config_schema=schema,
            dev_only=str(form.get("dev_only") or "") in ("1", "true", "on", "yes"),
            description=str(form.get("description") or ""), changelog=str(form.get("changelog") or ""),
            readme=str(form.get("readme") or ""), expected_sha256=expected,
            smoke_config={str(k): str(v) for k, v in smoke.items()} if isinstance(smoke, dict) else {})
        return await _call(found.port.submit_provider(principal.org.org_id, given, binaries, principal.actor))


@router.post("/providers/submissions", status_code=201, responses=ERRORS, openapi_extra={
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["name", "version", "capabilities", "binary_linux_amd64"],
        "properties": {
            "name": {"type": "string", "description": "<namespace>/<name>"},
            "version": {"type": "string"},
            "capabilities": {"type": "string", "description": "comma-separated: SECRETS, KMS, CREDENTIALS, ..."},
            "config_schema": {"type": "string", "description": "JSON object: field -> {type, required, ...}"},
            "smoke_config": {"type": "string", "description": "JSON object: the config Init gets in the sandbox"},
            "dev_only": {"type": "boolean"}, "description": {"type": "string"}, "changelog": {"type": "string"},
            "readme": {"type": "string"},
            "binary_linux_amd64": {"type": "string", "format": "binary"},
            "sha256_linux_amd64": {"type": "string", "description": "the manifest's sha256_hex (checked)"}}}}}}})
async def submit_provider(request: Request, principal: Principal = Depends(PUBLISH)) -> dict[str, Any]:
    """Upload a provider: its binaries per platform (streamed; each over the limit refused before it
    is stored; checked against the given sha256), the host platform's run through the sandboxed Init
    smoke test (its reason shown when it fails), then queued for review."""
    return submission_view(await provider_from_form(request, principal))


@router.post("/yank", status_code=204, responses=ERRORS)
async def yank(request: Request, body: YankIn, principal: Principal = Depends(PUBLISH)) -> None:
    """Yank a version of one of this organisation's artifacts (the daemon API then answers 404 for it)."""
    await _call(publishing(request).port.yank(principal.org.org_id, body.kind, body.name, body.version, body.reason,
                                              principal.actor))


@router.get("/mine", responses=ERRORS)
async def mine(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """My artifacts: per version its state, downloads per day and total, the stacks importing it
    (this organisation's by id and name, every other organisation's as a count), submissions
    with outcomes, issue reports with replies."""
    names = {s.stack_id: s.name for s in await _stacks(request, principal)}
    out = []
    for artifact in await publishing(request).port.my_artifacts(principal.org.org_id):
        view = plain(artifact)
        for v in view["versions"]:
            v["used_by"]["own_stacks"] = [{"stack_id": s, "name": names.get(s, s)}
                                          for s in v["used_by"].pop("own_stack_ids")]
        view["submissions"] = [submission_view(s) for s in artifact.submissions]
        out.append(view)
    return out


async def _stacks(request: Request, principal: Principal) -> list[Any]:
    from faramesh_cloud.gateway.web.deps import web

    return list(await web(request).stacks.list_stacks(principal.org.org_id))


@router.get("/issues", responses=ERRORS)
async def issues(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """Issue reports this organisation filed, with the publishers' replies."""
    return [plain(i) for i in await publishing(request).port.issues_filed(principal.org.org_id)]


@router.post("/issues", status_code=201, responses=ERRORS)
async def file_issue(request: Request, body: IssueIn, principal: Principal = Depends(READ)) -> dict[str, Any]:
    port = publishing(request).port
    return plain(await _call(port.file_issue(principal.org.org_id, body.kind, body.name, body.version, body.title,
                                             body.body, principal.actor)))


@router.post("/issues/{issue_id}/replies", status_code=201, responses=ERRORS)
async def reply(request: Request, issue_id: str, body: ReplyIn, principal: Principal = Depends(PUBLISH)) -> dict[str, Any]:
    """The publisher's reply to an issue report against one of its artifacts."""
    return plain(await _call(publishing(request).port.reply_issue(principal.org.org_id, issue_id, body.body,
                                                                  principal.actor)))


# --- review (platform reviewers) ---------------------------------------------------------------
@router.get("/review/queue", responses=ERRORS)
async def review_queue(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """Submissions waiting for review, oldest first (platform reviewers only)."""
    port = publishing(request).port
    return [{**submission_view(s), "fpl": await port.submission_fpl(s)}
            for s in await _call(port.review_queue(principal.actor))]


@router.get("/review/namespaces", responses=ERRORS)
async def review_namespaces(request: Request, principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    return [plain(p) for p in await _call(publishing(request).port.pending_namespaces(principal.actor))]


@router.post("/review/namespaces/{namespace}/confirm", responses=ERRORS)
async def confirm_namespace(request: Request, namespace: str, body: ReasonIn,
                            principal: Principal = Depends(READ)) -> dict[str, Any]:
    return plain(await _call(publishing(request).port.review_namespace(namespace, True, body.reason, principal.actor)))


@router.post("/review/namespaces/{namespace}/reject", responses=ERRORS)
async def reject_namespace(request: Request, namespace: str, body: ReasonIn,
                           principal: Principal = Depends(READ)) -> dict[str, Any]:
    return plain(await _call(publishing(request).port.review_namespace(namespace, False, body.reason,
                                                                       principal.actor)))


@router.post("/review/submissions/{submission_id}/approve", responses=ERRORS)
async def approve(request: Request, submission_id: str, body: NoteIn,
                  principal: Principal = Depends(READ)) -> dict[str, Any]:
    """Approve: the version is published, signed with Cloud's active registry key."""
    return submission_view(await _call(publishing(request).port.approve(submission_id, body.note, principal.actor)))


@router.post("/review/submissions/{submission_id}/reject", responses=ERRORS)
async def reject(request: Request, submission_id: str, body: ReasonIn,
                 principal: Principal = Depends(READ)) -> dict[str, Any]:
    """Reject with a reason (mandatory) the publisher reads."""
    return submission_view(await _call(publishing(request).port.reject(submission_id, body.reason, principal.actor)))
