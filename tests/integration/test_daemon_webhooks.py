"""Daemon webhooks over HTTP: only a body signed with the stack's secret is stored; a defer
also becomes a pending approval on sync.items.v1. Real PostgreSQL and PostgresLog."""

from __future__ import annotations

import json
import uuid

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.events.legacy import SOURCE_WEBHOOK, LegacyDecision
from faramesh_cloud.events.topics import LEGACY_DECISIONS, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.ingest.webhook_events import signature_for
from faramesh_cloud.stacks.domain import StackError
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.daemon_feeds import RECEIVED_NS, Feeds, feeds_fixture, nothing_appended  # noqa: F401
from tests.fixtures.ingest import MakeTenant, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def event(kind: str = "deny", **extra: str) -> bytes:
    body = {"version": "1.0", "type": kind, "timestamp": "2026-05-17T13:42:19Z", "agent_id": "payments-bot",
            "session_id": "sess-7c1d", "tool_id": "http/post", "effect": kind.upper(), "rule_id": "rule-9",
            "reason_code": f"RULE_{kind.upper()}", "reason": "egress to unknown host",
            "record_id": f"rec-{kind}", **extra}
    return json.dumps(body, separators=(",", ":")).encode()


def signed(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "faramesh-webhook/1.0",
            "X-Faramesh-Signature": signature_for(secret.encode(), body)}


async def test_a_signed_deny_is_stored_as_an_unverified_summary(feeds: Feeds, tenant: MakeTenant) -> None:
    acme = await tenant()
    secret = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
    body = event("deny")
    response = await feeds.client.post(f"/v1/webhooks/faramesh/{acme.stack.stack_id}",
                                       headers=signed(secret, body), content=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "pending_approval": False}
    [message] = await read_topic(feeds.log, LEGACY_DECISIONS)
    origin = Origin.from_headers(message.headers)
    assert (origin.org_id, origin.stack_id, origin.source, origin.received_ns) == (
        acme.org.org_id, acme.stack.stack_id, SOURCE_WEBHOOK, RECEIVED_NS)
    assert message.key == stack_key(acme.org.org_id, acme.stack.stack_id)
    decision = LegacyDecision.from_json(message.value)
    assert (decision.effect, decision.record_id, decision.reason) == ("DENY", "rec-deny", "egress to unknown host")
    assert decision.decided_at == "2026-05-17T13:42:19.000000000Z"
    assert await read_topic(feeds.log, SYNC_ITEMS) == []


async def test_a_bad_or_missing_signature_gets_401_and_nothing_is_stored(
    feeds: Feeds, tenant: MakeTenant
) -> None:
    acme, globex = await tenant(), await tenant(name="globex")
    secret = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
    other_secret = await feeds.secrets.set_secret(globex.org.org_id, globex.stack.stack_id)
    body = event("defer", defer_token="9f3a2c71")
    url = f"/v1/webhooks/faramesh/{acme.stack.stack_id}"
    cases = [
        (url, {}),
        (url, signed(other_secret, body)),  # another stack's secret
        (url, signed(secret, body + b" ")),  # signed other bytes
        (url, {"X-Faramesh-Signature": "sha256=" + "0" * 64}),
        (f"/v1/webhooks/faramesh/{uuid.uuid4()}", signed(secret, body)),  # unknown stack
        ("/v1/webhooks/faramesh/not-a-uuid", signed(secret, body)),
    ]
    for path, headers in cases:
        response = await feeds.client.post(path, headers=headers, content=body)
        assert response.status_code == 401, (path, headers)
        assert "X-Faramesh-Signature" in response.json()["error"]
    await nothing_appended(feeds.log)


async def test_a_defer_becomes_a_pending_approval_on_sync_items(feeds: Feeds, tenant: MakeTenant) -> None:
    acme = await tenant()
    secret = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
    body = event("defer", defer_token="9f3a2c71")
    response = await feeds.client.post(f"/v1/webhooks/faramesh/{acme.stack.stack_id}",
                                       headers=signed(secret, body), content=body)
    assert response.status_code == 200
    assert response.json()["pending_approval"] is True

    [decision] = await read_topic(feeds.log, LEGACY_DECISIONS)
    assert LegacyDecision.from_json(decision.value).defer_token == "9f3a2c71"
    [item] = await read_topic(feeds.log, SYNC_ITEMS)
    assert item.headers["kind"] == b"approval_event"  # as the sync channel's approval events
    origin = Origin.from_headers(item.headers)
    assert (origin.org_id, origin.stack_id, origin.source) == (acme.org.org_id, acme.stack.stack_id, "webhook")
    change = approvals_pb2.ApprovalEvent.FromString(item.value)
    assert change.state == approvals_pb2.APPROVAL_STATE_PENDING
    approval = change.approval
    assert (approval.defer_token, approval.agent_id, approval.tool_id, approval.session_id) == (
        "9f3a2c71", "payments-bot", "http/post", "sess-7c1d")
    assert (approval.dpr_record_id, approval.matched_rule_id, approval.reason_code) == (
        "rec-defer", "rule-9", "RULE_DEFER")
    assert approval.created_at.ToJsonString() == "2026-05-17T13:42:19Z"


async def test_a_malformed_signed_event_gets_422_naming_the_field(feeds: Feeds, tenant: MakeTenant) -> None:
    acme = await tenant()
    secret = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
    body = event("defer")  # no defer_token
    response = await feeds.client.post(f"/v1/webhooks/faramesh/{acme.stack.stack_id}",
                                       headers=signed(secret, body), content=body)
    assert (response.status_code, response.json()["field"]) == (422, "defer_token")
    await nothing_appended(feeds.log)


async def test_rotation_keeps_the_old_secret_for_the_overlap_only(feeds: Feeds, tenant: MakeTenant) -> None:
    acme = await tenant()
    url = f"/v1/webhooks/faramesh/{acme.stack.stack_id}"
    first = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
    second = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id, overlap_s=3600)
    body = event("permit")
    for secret in (first, second):
        assert (await feeds.client.post(url, headers=signed(secret, body), content=body)).status_code == 200
    third = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id, "operator-chosen-secret-1")
    assert third == "operator-chosen-secret-1"
    for secret, status in ((first, 401), (second, 401), (third, 200)):
        assert (await feeds.client.post(url, headers=signed(secret, body), content=body)).status_code == status
    assert len(await read_topic(feeds.log, LEGACY_DECISIONS)) == 3


async def test_secrets_are_managed_within_the_stacks_organisation_only(
    feeds: Feeds, tenant: MakeTenant, stack_store: StackStore
) -> None:
    acme, globex = await tenant(), await tenant(name="globex")
    with pytest.raises(StackError, match="has no stack"):
        await feeds.secrets.set_secret(globex.org.org_id, acme.stack.stack_id)
    assert not await feeds.secrets.has_secret(acme.org.org_id, acme.stack.stack_id)
    secret = await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
    assert not await feeds.secrets.remove(globex.org.org_id, acme.stack.stack_id)
    assert await feeds.secrets.has_secret(acme.org.org_id, acme.stack.stack_id)

    await stack_store.deregister_stack(acme.org.org_id, acme.stack.stack_id)
    body = event("deny")
    response = await feeds.client.post(f"/v1/webhooks/faramesh/{acme.stack.stack_id}",
                                       headers=signed(secret, body), content=body)
    assert response.status_code == 401  # a deregistered stack takes no webhooks
    with pytest.raises(StackError, match="deregistered"):
        await feeds.secrets.set_secret(acme.org.org_id, acme.stack.stack_id)
