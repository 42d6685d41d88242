"""``Identity``: every identity store, built on one database and one platform audit log.

The composition root builds one and injects it into the gateway; other code receives it
(or one of its stores) and never builds its own.
"""

from __future__ import annotations

from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity.api_keys import ApiKeyStore
from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.groups import GroupStore
from faramesh_cloud.identity.invitations import InvitationStore
from faramesh_cloud.identity.members import MemberStore
from faramesh_cloud.identity.org_settings import OrgSettingsStore
from faramesh_cloud.identity.passwords import Passwords
from faramesh_cloud.identity.sessions import SessionStore
from faramesh_cloud.identity.sso import SsoProvisioner
from faramesh_cloud.identity.throttle import LoginThrottle
from faramesh_cloud.identity.users import UserStore
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

COMPONENT = ("identity", "faramesh_cloud.identity")


class Identity:
    def __init__(self, db: Database, audit: PlatformAuditLog, config: IdentityConfig | None = None,
                 region: Region | None = None) -> None:
        # region: a multi-region install's region (people and organisations made here are
        # claimed in the global directory; sign-in asks it where an unknown email lives).
        self.region = region
        self.config = config or IdentityConfig()
        self.db = db
        self.audit = audit
        self.throttle = LoginThrottle(db, self.config)
        self.passwords = Passwords(time_cost=self.config.password_time_cost,
                                   memory_kib=self.config.password_memory_kib)
        self.users = UserStore(db, audit, self.throttle, self.passwords, region)
        self.sessions = SessionStore(db, self.config, self.users)
        self.members = MemberStore(db, audit)
        self.invitations = InvitationStore(db, audit, self.members, self.config, self.passwords,
                                           region)
        self.api_keys = ApiKeyStore(db, audit)
        self.orgs = OrgSettingsStore(db, audit, region)
        self.groups = GroupStore(db, audit)
        self.sso = SsoProvisioner(db, audit, self.members, region, self.groups)

    async def start(self) -> None:
        """Apply the identity and platform-audit migrations (the ``stacks`` ones first)."""
        await migrate(self.db, [COMPONENT, ("platform_audit", "faramesh_cloud.platform_audit")])
