"""A session with delegation and a DEFER → approval → resume (the session explorer's tests,
HTTP and browser): the records, and Cloud's approval of the DEFER."""

from __future__ import annotations

import json
import random
import time

from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
from faramesh_cloud.approvals.projection import ApprovalSink
from faramesh_cloud.approvals.queries import ApprovalQueries
from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.log.port import Message
from faramesh_cloud.simulator.records import AgentWriter, rfc3339_nano
from faramesh_cloud.sql.database import Database
from tests.approvals_support import pending_event
from tests.integration.audit_support import BASE_NS, HMAC_KEY, SEED

SESSION = "case-7"
TOKEN = "abcd1234"
S = 1_000_000_000


def _writer(agent: str, seed: int) -> AgentWriter:
    return AgentWriter(agent, random.Random(seed), ed25519_seed=SEED, hmac_key=HMAC_KEY, signed_share=0.5,
                       sessions=[SESSION])


def session_records() -> dict[str, dict]:  # type: ignore[type-arg]
    """orchestrator spawns refunds-bot (record-linked), refunds-bot defers, mailer (invoked by
    planner, who has no record in the session) is denied, refunds-bot resumes with the envelope."""
    orch, bot, mailer = _writer("orchestrator", 1), _writer("refunds-bot", 2), _writer("mailer", 3)
    spawn = orch.next(BASE_NS, effect="PERMIT", tool_id="agents/spawn", action_type="agent_delegation",
                      session_id=SESSION)
    defer = bot.next(BASE_NS + 1 * S, effect="DEFER", tool_id="stripe/refund", reason_code="RULE_DEFER",
                     defer_token=TOKEN, invoked_by_agent_id="orchestrator",
                     invoked_by_dpr_record_id=spawn["record_id"], session_id=SESSION)
    denied = mailer.next(BASE_NS + 2 * S, effect="DENY", tool_id="mail/send", invoked_by_agent_id="planner",
                         session_id=SESSION)
    envelope = {"token": TOKEN, "approver_id": "ada", "approved": True, "reason": "ok", "status": "approved",
                "resolved_at": rfc3339_nano(BASE_NS + 4 * S), "signature": "00" * 32}
    resume = bot.next(BASE_NS + 5 * S, effect="PERMIT", tool_id="stripe/refund", reason_code="APPROVAL_GRANTED",
                      approval_envelope=json.dumps(envelope), invoked_by_agent_id="orchestrator",
                      session_id=SESSION)
    return {"spawn": spawn, "defer": defer, "denied": denied, "resume": resume}


async def seed_approval(database: Database, org_id: str, stack_id: str) -> str:
    """Cloud's approval of the DEFER, resolved on the daemon; its approval id."""
    facts = []
    for n, state in enumerate((approvals_pb2.APPROVAL_STATE_PENDING, approvals_pb2.APPROVAL_STATE_APPROVED)):
        headers = Origin(org_id, stack_id, "sync", n, "buf-test", time.time_ns()).headers()
        headers[H_KIND] = b"approval_event"
        event = pending_event(TOKEN, "refunds-bot", session=SESSION, state=state, approver="ada", reason="ok",
                              source=approvals_pb2.RESOLUTION_SOURCE_LOCAL)
        fact = ApprovalProcessor().process(Message(SYNC_ITEMS, 0, n, stack_key(org_id, stack_id),
                                                   event.SerializeToString(), headers, int(time.time() * 1000)))
        assert isinstance(fact, ApprovalFact)
        facts.append(fact)
    sink = ApprovalSink(database)
    for fact in facts:
        await sink.write([fact])
    (approval,) = await ApprovalQueries(database).history(org_id)
    return str(approval.approval_id)


