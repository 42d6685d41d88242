"""Settings → Config Assistant: pick a block type, fill its form (checked here with the rules the
HTML states), read the generated governance.fms snippet and copy it. Nothing is stored or pushed:
the page says to commit the text and run `faramesh apply`. Generating changes nothing, so there
is no platform audit entry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.fpl.snippet_fields import SnippetError
from faramesh_cloud.fpl.snippets import BLOCKS, generate
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = require(Permission.ORG_SETTINGS_READ)


def _prefill(request: Request, block: str) -> dict[str, str]:
    """The form's starting values: the defaults, and this Cloud's sync URL for the runtime block."""
    values = {s.name: s.default for s in BLOCKS[block].fields}
    fleet = getattr(request.app.state, "fleet", None)
    if block == "runtime" and fleet is not None:
        values["cloud_url"] = fleet.cloud_url
    return values


async def render(request: Request, principal: Principal, block: str, values: dict[str, Any],
                 **extra: Any) -> Response:
    return await page(request, "settings/config_assistant.html", principal, {
        "tab": "config-assistant", "blocks": list(BLOCKS.values()), "spec": BLOCKS[block], "values": values,
        **extra}, section="settings", status_code=400 if "problem" in extra else 200)


@router.get("/o/{org}/settings/config-assistant", response_class=HTMLResponse)
async def assistant(request: Request, block: str = "runtime", principal: Principal = Depends(READ)) -> Response:
    block = block if block in BLOCKS else "runtime"
    return await render(request, principal, block, _prefill(request, block))


@router.post("/o/{org}/settings/config-assistant", dependencies=[Depends(check_csrf)])
async def make(request: Request, principal: Principal = Depends(READ)) -> Response:
    form = await request.form()
    block = str(form.get("block", ""))
    if block not in BLOCKS:
        return await render(request, principal, "runtime", _prefill(request, "runtime"),
                            problem="pick a block type", error_field="block")
    spec = BLOCKS[block]
    values: dict[str, Any] = {s.name: ([str(v) for v in form.getlist(s.name)] if s.multi else str(form.get(s.name, "")))
                              for s in spec.fields}
    try:
        made = generate(block, values)
    except SnippetError as err:
        return await render(request, principal, block, values, problem=err.message, error_field=err.field)
    return await render(request, principal, block, values, snippet=made)
