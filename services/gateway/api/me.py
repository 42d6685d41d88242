"""``/api/v1/me``: who the caller is and which organisations they belong to."""

from __future__ import annotations

from fastapi import APIRouter, Request

from faramesh_cloud.gateway.api.models import MembershipOut, MeOut, OrgOut
from faramesh_cloud.gateway.web.auth import LoginRequired, caller
from faramesh_cloud.gateway.web.deps import web

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.get("/me", response_model=MeOut)
async def me(request: Request) -> MeOut:
    """The signed-in user (session cookie) or the platform API key making the call."""
    found = await caller(request)
    if found is None:
        raise LoginRequired("sign in first, or send a platform API key as 'Authorization: Bearer fmc_pk_...'")
    if found.api_key is not None and found.key_org is not None:
        org = found.key_org
        return MeOut(kind="api_key", id=found.api_key.key_id, label=found.api_key.name,
                     memberships=[MembershipOut(org=OrgOut(**org.as_json()), role=found.api_key.role)])
    assert found.session is not None
    user = found.session.user
    memberships = await web(request).identity.members.memberships_of(user.user_id)
    return MeOut(kind="user", id=user.user_id, label=user.email, csrf_token=found.session.csrf_token,
                 memberships=[MembershipOut(org=OrgOut(**m.org.as_json()), role=m.role) for m in memberships])
