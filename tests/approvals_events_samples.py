"""One sample of each approvals event kind, and their golden bytes.

``tests/data/events/approvals/v1/<Kind>.bin`` holds each sample as this code wrote it
(``events.encode(...).value``). Those files are never rewritten when the code changes: a
later version must still read them (rolling restarts: old and new code share the log). To
add a kind (or a field to a sample, once the old file is kept under another name), write
the missing files with ``python -m tests.approvals_events_samples``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from faramesh_cloud.approvals import changes
from faramesh_cloud.approvals.changes import Change
from faramesh_cloud.approvals.domain import CommandType, Verdict
from faramesh_cloud.approvals.events import encode
from faramesh_cloud.platform_audit.events import Actor, ActorType

GOLDEN: Final = Path(__file__).resolve().parent / "data" / "events" / "approvals" / "v1"
ORG: Final = "7d3f4e2a-1b6c-4d8e-9f0a-2b3c4d5e6f70"
STACK: Final = "stk_payments_prod"
AT: Final = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
ALICE: Final = Actor(ActorType.USER, "11111111-1111-1111-1111-111111111111", "alice@example.com")
APPROVAL: Final = changes.approval_key(ORG, STACK, "defer-0001")
DECISION: Final = changes.decision_key(APPROVAL)
COMMAND: Final = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"
BULK: Final = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def samples() -> dict[str, Change]:
    later = AT.replace(minute=12)
    return {type(c).__name__: c for c in (
        changes.decided(ORG, STACK, APPROVAL, "defer-0001", Verdict.APPROVE, ALICE, "customer verified by phone",
                        BULK, "payments-bot", "rec-0001", AT),
        changes.expired(ORG, STACK, APPROVAL, "defer-0001", "payments-bot", AT),
        changes.handed_out(ORG, STACK, DECISION, APPROVAL, 2, later),
        changes.delivery_acknowledged(ORG, STACK, DECISION, APPROVAL, "accepted", "applied", "rec-0002", later),
        changes.command_issued(ORG, STACK, COMMAND, "payments-bot", CommandType.ISOLATE, "runaway refunds",
                               ALICE, AT),
        changes.command_delivered(ORG, STACK, COMMAND, later),
        changes.command_acknowledged(ORG, STACK, COMMAND, "applied", AT.replace(minute=11), "rec-kill",
                                     "isolated", later),
    )}


def write_missing() -> list[Path]:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, change in samples().items():
        path = GOLDEN / f"{kind}.bin"
        if not path.exists():
            path.write_bytes(encode(change).value)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write_missing():
        print(f"wrote {path}", file=sys.stderr)
