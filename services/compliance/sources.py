"""What the compliance service reads of other services, each through that service's port
(never their tables): the audit index's query port (DPR statistics, tool usage, chain
integrity, the range export), the approvals service's port (the workflow summary) and the
fleet's query port (stacks and their applied governance.fms texts). ``runtime/
compliance_wiring.py`` fills them: the services' own objects in process, or gRPC clients
with the compliance certificate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sources:
    audit: Any  # the audit index's query port (IndexReader / AuditIndexClient)
    approvals: Any  # the approvals service's people port (ApprovalsApi / ApprovalsApiClient)
    fleet: Any  # the fleet's query port (FleetQuery / FleetQueryClient)
