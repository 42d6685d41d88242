"""Just-in-time provisioning for OIDC sign-in (the protocol itself is the gateway's: Authlib).

Given verified ID-token claims for an organisation's issuer:

* the user is found by ``(issuer, sub)``; failing that a new user is made from ``email``;
* an existing account with that email is linked only when it belongs to no organisation
  but this one (otherwise an organisation's identity provider could take over an account
  that reaches other organisations); such people sign in with their password;
* a non-member joins with the role the attribute mapping gives (none: turned away);
* a member who joined through SSO gets the mapped role again at every sign-in, so changes
  in the identity provider's groups take effect (owners are never changed by SSO);
* every member signing in with SSO gets their synced Cloud groups set from the same claim
  (``groups.py``: IdP group names mapped to Cloud groups; manual memberships are kept).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity.claims import claim_person
from faramesh_cloud.identity.domain import IdentityError, OrgRef, User
from faramesh_cloud.identity.groups import GroupStore, claim_values
from faramesh_cloud.identity.members import MemberStore
from faramesh_cloud.identity.org_settings import SsoConfig
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.rows import USER_COLUMNS, normal_email, user
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction


class SsoProvisioner:
    def __init__(self, db: Database, audit: PlatformAuditLog, members: MemberStore,
                 region: Region | None = None, groups: GroupStore | None = None) -> None:
        self._db = db
        self._groups = groups or GroupStore(db, audit)
        self._region = region
        self._audit = audit
        self._members = members

    async def sign_in(self, org: OrgRef, config: SsoConfig, claims: Mapping[str, object], ip: str = "") -> User:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise IdentityError("the identity provider sent no subject ('sub'); check its configuration")
        raw_email = claims.get("email")
        if not isinstance(raw_email, str):
            raise IdentityError("the identity provider sent no email claim; add the 'email' scope to the SSO "
                                "settings and release the email claim to this client")
        email = normal_email(raw_email)
        name = claims.get("name") if isinstance(claims.get("name"), str) else ""
        mapped = config.role_for(claims)
        issuer = config.issuer
        async with tenant_transaction(self._db, org.org_id) as conn:
            row = await (await conn.execute(
                f"SELECT {USER_COLUMNS} FROM user_oidc_identities i JOIN users u ON u.user_id = i.user_id "
                "WHERE i.issuer = %s AND i.subject = %s AND u.disabled_at IS NULL", (issuer, subject),
            )).fetchone()
            if row is None:
                row = await (await conn.execute(
                    f"SELECT {USER_COLUMNS} FROM users u WHERE u.email = %s", (email,))).fetchone()
                if row is not None:
                    # The user's memberships elsewhere are visible to this check only (RLS).
                    await conn.execute("SELECT set_config('app.user_id', %s, true)", (str(row[0]),))
                    others = await (await conn.execute(
                        "SELECT count(*) FROM memberships WHERE user_id = %s AND org_id <> %s",
                        (row[0], org.org_id))).fetchone()
                    if others and int(others[0]) > 0:
                        raise IdentityError(f"an account for {email} already exists and belongs to other "
                                            "organisations; sign in with its password instead of SSO")
                else:
                    await claim_person(self._region, email)
                    row = await (await conn.execute(
                        f"INSERT INTO users AS u (user_id, email, name) VALUES (%s, %s, %s) RETURNING {USER_COLUMNS}",
                        (str(uuid.uuid4()), email, str(name)[:200]))).fetchone()
                assert row is not None
                await conn.execute(
                    "INSERT INTO user_oidc_identities (issuer, subject, user_id) VALUES (%s, %s, %s)",
                    (issuer, subject, row[0]))
            signed_in = user(row)
            actor = Actor(ActorType.USER, signed_in.user_id, signed_in.email, ip)
            member = await (await conn.execute(
                "SELECT role, source FROM memberships WHERE org_id = %s AND user_id = %s",
                (org.org_id, signed_in.user_id))).fetchone()
            if member is None:
                if mapped is None:
                    raise IdentityError(f"your identity provider's {config.role_claim!r} claim maps to no role "
                                        f"in {org.name}; ask an admin of {org.name} to add a mapping or invite you")
                await self._members.add_in(conn, org.org_id, signed_in.user_id, signed_in.email, mapped, "sso",
                                           actor, {"via": "sso", "issuer": issuer})
            elif member[1] == "sso" and mapped is not None and member[0] != mapped.value and member[0] != Role.OWNER:
                await conn.execute("UPDATE memberships SET role = %s WHERE org_id = %s AND user_id = %s",
                                   (mapped.value, org.org_id, signed_in.user_id))
                await self._audit.append_in(conn, org.org_id, AuditAction.MEMBER_ROLE_CHANGED,
                                            Actor.system("sso attribute mapping"),
                                            target=Target("member", signed_in.user_id),
                                            details={"email": signed_in.email, "from": member[0], "to": mapped.value})
            await self._groups.sync_in(conn, org.org_id, signed_in.user_id, signed_in.email,
                                       claim_values(claims, config.role_claim))
        return signed_in
