"""A stack's registry imports: the import lines of the governance.fms the stack last applied
(the text the fleet stores, as the Config tab shows it), each judged by the registry against
the keys the organisation trusts. Shared by the stack tab, the Registry section's overview of
every stack and the REST twin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
from faramesh_cloud.gateway.web.fleet_view import load_stack, visible_stacks
from faramesh_cloud.gateway.web.registry_ports import registry_port
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission


@dataclass(frozen=True)
class StackImports:
    stack_id: str
    name: str
    applied: bool  # false: the stack never synced its governance.fms text
    governance_sha256: str
    imports: list[Any]

    def count(self, status: str) -> int:
        return sum(1 for i in self.imports if i.status == status)


async def _judge(request: Request, principal: Principal, stack: Any) -> StackImports:
    sha = stack.config_text_sha256
    text = await fleet_ports(request).query.config_text(principal.org.org_id, stack.stack_id, sha) if sha else None
    if text is None:
        return StackImports(stack.stack_id, stack.name, False, "", [])
    found = list(await registry_port(request).check_imports(text.text, org_id=principal.org.org_id))
    return StackImports(stack.stack_id, stack.name, True, text.sha256, found)


async def stack_imports(request: Request, principal: Principal, stack_id: str) -> StackImports:
    """One stack's (404 when unknown here or hidden from the member)."""
    return await _judge(request, principal, await load_stack(request, principal, stack_id))


async def every_stack_imports(request: Request, principal: Principal) -> list[StackImports]:
    """Every stack the member may read the details of."""
    out = []
    for view in await visible_stacks(request, principal):
        if principal.access.allows(Permission.FLEET_STACK_READ, view.stack_id):
            out.append(await _judge(request, principal, view))
    return out
