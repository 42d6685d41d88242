"""The public share page of one evidence-library artifact: ``/share/{token}`` (no session, no
navigation, nothing of the organisation beyond its name and the artifact's facts): the
download, its SHA-256, the platform's public keys as downloadable PEM and how to verify
offline. ``/share/{token}/download`` streams the bytes; ``/share/{token}/keys/{file}`` one
public key. Every use, refused ones included, is in the organisation's platform audit log
with the client's address (the socket peer, or the forwarded one from a trusted proxy:
``Settings.http_trusted_proxies``) and User-Agent. Expired or revoked: 410 saying which and
when; unknown: 404. Search engines are told not to index and browsers not to send the URL on.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse

from faramesh_cloud.gateway.api.compliance import attachment
from faramesh_cloud.gateway.web.compliance_ports import compliance_port, gone, public_keys
from faramesh_cloud.gateway.web.deps import client_ip

router = APIRouter(include_in_schema=False)
# fmc_sh_ + 43 url-safe base64 characters; anything else is not looked up
TOKEN: Final = re.compile(r"fmc_sh_[A-Za-z0-9_-]{16,90}")
PRIVATE: Final = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _headers(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


async def _plain(request: Request, template: str, context: dict[str, Any], status_code: int) -> Response:
    templates = request.app.state.templates
    return _headers(templates.TemplateResponse(request, template, context, status_code=status_code))


async def _open(request: Request, token: str) -> tuple[Any, Response | None]:
    """The opened link, or the page to answer instead (404 / 410)."""
    if not TOKEN.fullmatch(token):
        return None, await _plain(request, "share/gone.html", {"title": "No such link", "message":
                                  "This share link does not exist. Check that you copied all of it."}, 404)
    try:
        opened = await compliance_port(request).open_link(token, ip=client_ip(request),
                                                          user_agent=request.headers.get("user-agent", "")[:300])
    except LookupError:
        return None, await _plain(request, "share/gone.html", {"title": "No such link", "message":
                                  "This share link does not exist. Check that you copied all of it."}, 404)
    except Exception as exc:
        if not gone(exc):
            raise
        return None, await _plain(request, "share/gone.html", {
            "title": "This link is no longer valid", "message": str(exc),
            "next": "Ask the person who shared it for a new link. A report you already downloaded stays "
                    "verifiable offline: its signatures do not depend on the link."}, 410)
    return opened, None


@router.get("/share/{token}", response_class=HTMLResponse, name="share_page")
async def share_page(request: Request, token: str) -> Response:
    opened, refusal = await _open(request, token)
    if refusal is not None:
        return refusal
    keys = public_keys(request)
    return await _plain(request, "share/page.html", {
        "opened": opened, "artifact": opened.artifact, "link": opened.link, "token": token, "keys": keys,
        "document_cert": next((k for k in keys if "CERTIFICATE" in k.pem), None)}, 200)


@router.get("/share/{token}/download", response_class=StreamingResponse, name="share_download")
async def share_download(request: Request, token: str) -> Response:
    opened, refusal = await _open(request, token)
    if refusal is not None:
        return refusal
    _, chunks = await compliance_port(request).stream(opened.org_id, opened.artifact.artifact_id)
    return _headers(attachment(opened.artifact, chunks))


@router.get("/share/{token}/keys/{filename}", name="share_key")
async def share_key(request: Request, token: str, filename: str) -> Response:
    _, refusal = await _open(request, token)
    if refusal is not None:
        return refusal
    for key in public_keys(request):
        if key.filename == filename:
            return _headers(PlainTextResponse(key.pem, media_type="application/x-pem-file", headers={
                "Content-Disposition": f'attachment; filename="{key.filename}"'}))
    return await _plain(request, "share/gone.html", {"title": "No such key", "message":
                        f"There is no public key file {filename[:80]!r} here."}, 404)
