"""``/api/v1/orgs/{org}/config-assistant``: the Config Assistant over the API. A block type and
its fields in, the governance.fms snippet out (or 422 naming the field); the block types and
their fields (with the rules the form states) for scripts. Nothing is stored or pushed."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from faramesh_cloud.fpl.snippet_fields import FieldSpec, SnippetError
from faramesh_cloud.fpl.snippets import BLOCKS, generate
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/orgs/{org}/config-assistant", tags=["config-assistant"])
READ = require(Permission.ORG_SETTINGS_READ)
BlockType = Literal["runtime", "agent", "rule", "budget", "provider", "pack", "trust", "webhooks"]
NEVER_PUSHED = "Cloud never pushes this: commit it to the stack's repository and run `faramesh apply`."


class SnippetIn(BaseModel):
    block: BlockType
    fields: dict[str, str | list[str]] = Field(
        default_factory=dict, max_length=32,
        description="The form's fields by name (GET .../blocks lists them); a multi-choice field takes a list "
                    "or a comma-separated string.")


class SnippetOut(BaseModel):
    block: str
    text: str
    language: str = Field(description="fpl (governance.fms) or yaml (a YAML policy document: webhooks)")
    where: str
    notes: list[str]
    warnings: list[str] = Field(default_factory=list, description="what these values do that may surprise")
    pushed: bool = Field(False, description="always false: " + NEVER_PUSHED)


def field_out(spec: FieldSpec) -> dict[str, Any]:
    return {"name": spec.name, "label": spec.label, "required": spec.required, "max_length": spec.max_len,
            "pattern": spec.pattern or None, "choices": list(spec.choices) or None, "multi": spec.multi,
            "default": spec.default, "help": spec.help}


@router.get("/blocks")
async def blocks(principal: Principal = Depends(READ)) -> list[dict[str, Any]]:
    """The block types, each with its fields and the rules they are checked against."""
    return [{"block": b.key, "title": b.title, "language": b.language, "where": b.where, "notes": list(b.notes),
             "fields": [field_out(s) for s in b.fields]} for b in BLOCKS.values()]


@router.post("/snippets", response_model=SnippetOut, dependencies=[Depends(check_csrf)],
             responses={422: {"description": "a field is refused: detail[0].loc names it, msg says why"}})
async def snippet(body: SnippetIn, principal: Principal = Depends(READ)) -> SnippetOut:
    """The snippet for one block. Cloud stores nothing and pushes nothing."""
    try:
        made = generate(body.block, body.fields)
    except SnippetError as err:
        raise RequestValidationError([{"loc": ("body", "fields", err.field), "msg": err.message,
                                       "type": "value_error"}]) from None
    return SnippetOut(block=made.block, text=made.text, language=made.language, where=made.where,
                      notes=[*BLOCKS[made.block].notes, NEVER_PUSHED], warnings=list(made.warnings), pushed=False)
