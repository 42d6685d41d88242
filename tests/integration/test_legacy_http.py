"""The legacy Horizon feed over HTTP, as today's daemon calls it: stack keys as bearer
tokens, the vector body, and nothing stored on any error. Real PostgreSQL, real PostgresLog,
the ASGI app through httpx."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.ingest.legacy_feed import parse_batch
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.daemon_feeds import (  # noqa: F401
    RECEIVED_NS,
    Feeds,
    build_app,
    feeds_fixture,
    nothing_appended,
)
from tests.fixtures.ingest import MakeTenant, Tenant, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

VECTOR = "horizon_ingest_batch_example.json"
VECTOR_ORG = b'"org_id":"org_01HZX3EXAMPLE"'


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "User-Agent": "faramesh-cli/0.9.0"}


def vector_for(vectors_dir: Path, org_id: str) -> bytes:
    """The vector with only its org_id value swapped for the key's organisation."""
    body = (vectors_dir / VECTOR).read_bytes()
    assert body.count(VECTOR_ORG) == 1
    return body.replace(VECTOR_ORG, f'"org_id":"{org_id}"'.encode())


async def test_auth_me_answers_the_stacks_pseudo_identity(feeds: Feeds, tenant: MakeTenant) -> None:
    acme = await tenant()
    response = await feeds.client.get("/v1/auth/me", headers=bearer(acme.key))
    assert response.status_code == 200
    body = response.json()
    assert (body["org_id"], body["org_name"]) == (acme.org.org_id, acme.org.name)
    assert body["email"] == f"stack-{acme.stack.stack_id}@{acme.org.slug}.stacks.faramesh-cloud.invalid"
    assert (body["stack_id"], body["stack_name"]) == (acme.stack.stack_id, "payments-prod")


async def test_bad_missing_revoked_and_deregistered_keys_get_401(
    feeds: Feeds, tenant: MakeTenant, stack_store: StackStore, vectors_dir: Path
) -> None:
    acme, other = await tenant(), await tenant(name="other")
    revoked_key = acme.key
    await stack_store.rotate_key(acme.org.org_id, acme.stack.stack_id, overlap_s=0)
    await stack_store.deregister_stack(other.org.org_id, other.stack.stack_id)
    unknown = "fmc_sk_" + "0" * 16 + "_" + "A" * 43
    cases: list[dict[str, str]] = [
        {}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "},
        bearer("hzn_tok_from_horizon"), bearer(unknown), bearer(revoked_key), bearer(other.key),
    ]
    for headers in cases:
        me = await feeds.client.get("/v1/auth/me", headers=headers)
        push = await feeds.client.post("/v1/ingest/dpr", headers=headers,
                                       content=vector_for(vectors_dir, acme.org.org_id))
        for response in (me, push):
            assert response.status_code == 401, headers
            assert response.json()["error"]
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert revoked_key not in response.text
    await nothing_appended(feeds.log)


async def test_the_vector_body_is_stored_as_unverified_summaries_with_origin_headers(
    feeds: Feeds, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    body = vector_for(vectors_dir, acme.org.org_id)
    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key), content=body)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 6

    messages = await read_topic(feeds.log, LEGACY_DECISIONS)
    assert len(messages) == 6
    messages.sort(key=lambda m: int(m.headers["seq"]))
    expected = parse_batch(body).events
    buffers = set()
    for index, (message, event) in enumerate(zip(messages, expected, strict=True)):
        assert message.key == stack_key(acme.org.org_id, acme.stack.stack_id)
        origin = Origin.from_headers(message.headers)
        assert (origin.org_id, origin.stack_id, origin.source, origin.sequence, origin.received_ns) == (
            acme.org.org_id, acme.stack.stack_id, SOURCE_HORIZON, index, RECEIVED_NS)
        buffers.add(origin.buffer)
        stored = LegacyDecision.from_json(message.value)
        assert stored == event
        assert json.loads(message.value)["verification"] == "unverified (legacy feed)"
    assert len(buffers) == 1 and uuid.UUID(buffers.pop())  # one request id for the batch
    assert [LegacyDecision.from_json(m.value).record_id[-2:] for m in messages] == ["01", "02", "03", "04", "05", "06"]


async def test_the_vector_byte_for_byte_names_another_org_and_gets_403(
    feeds: Feeds, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key),
                                       content=(vectors_dir / VECTOR).read_bytes())
    assert response.status_code == 403
    body = response.json()
    assert body["field"] == "org_id"
    assert "org_01HZX3EXAMPLE" in body["error"] and acme.org.org_id in body["error"]
    await nothing_appended(feeds.log)


async def test_a_daemon_that_logged_in_offline_sends_no_org_and_is_accepted(
    feeds: Feeds, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key),
                                       content=vector_for(vectors_dir, ""))
    assert response.status_code == 200
    assert len(await read_topic(feeds.log, LEGACY_DECISIONS)) == 6


async def test_a_bad_event_refuses_the_whole_batch_naming_the_field(
    feeds: Feeds, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme = await tenant()
    batch = json.loads(vector_for(vectors_dir, acme.org.org_id))
    batch["events"][3]["timestamp"] = "2026-05-17 13:45:03"
    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key), json=batch)
    assert response.status_code == 422
    assert response.json()["field"] == "events[3].timestamp"
    assert "RFC 3339" in response.json()["error"]

    # A real date that nanoseconds since 1970 cannot hold (a daemon with a wild clock).
    batch["events"][3]["timestamp"] = "2999-01-01T00:00:00+02:00"
    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key), json=batch)
    assert (response.status_code, response.json()["field"]) == (422, "events[3].timestamp")
    assert "daemon's clock" in response.json()["error"]

    batch["events"][3]["timestamp"] = "2026-05-17T13:45:03Z"
    batch["events"][5]["latency_ms"] = "6"
    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key), json=batch)
    assert (response.status_code, response.json()["field"]) == (422, "events[5].latency_ms")

    response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key), content=b'{"events": [')
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    await nothing_appended(feeds.log)


async def test_an_oversized_body_gets_413_and_nothing_is_stored(
    database: Database, postgres_log: PostgresLog, stack_store: StackStore, tenant: MakeTenant,
    vectors_dir: Path,
) -> None:
    secrets = WebhookSecretStore(database)
    await secrets.start()
    await postgres_log.create_topic(LEGACY_DECISIONS, DEFAULT_PARTITIONS[LEGACY_DECISIONS])
    app = build_app(database, postgres_log, stack_store, secrets, max_body_bytes=1024)
    acme = await tenant()
    body = vector_for(vectors_dir, acme.org.org_id)
    assert len(body) > 1024
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloud") as client:
        response = await client.post("/v1/ingest/dpr", headers=bearer(acme.key), content=body)
    assert response.status_code == 413 and "1024" in response.json()["error"]
    assert await read_topic(postgres_log, LEGACY_DECISIONS) == []


async def test_events_of_two_stacks_stay_in_their_own_tenancy(
    feeds: Feeds, tenant: MakeTenant, vectors_dir: Path
) -> None:
    acme, globex = await tenant(), await tenant(name="globex-prod")
    for who in (acme, globex):
        response = await feeds.client.post("/v1/ingest/dpr", headers=bearer(who.key),
                                           content=vector_for(vectors_dir, who.org.org_id))
        assert response.status_code == 200
    owners: dict[bytes, set[tuple[str, str]]] = {}
    for message in await read_topic(feeds.log, LEGACY_DECISIONS):
        origin = Origin.from_headers(message.headers)
        owners.setdefault(message.key, set()).add((origin.org_id, origin.stack_id))
    assert owners == {
        stack_key(t.org.org_id, t.stack.stack_id): {(t.org.org_id, t.stack.stack_id)} for t in (acme, globex)
    }


async def test_contact_through_the_feed_marks_the_stack_seen(
    feeds: Feeds, tenant: MakeTenant, stack_store: StackStore, vectors_dir: Path
) -> None:
    acme: Tenant = await tenant()
    await feeds.client.post("/v1/ingest/dpr", headers=bearer(acme.key), content=vector_for(vectors_dir, ""))
    stack = await stack_store.get_stack(acme.org.org_id, acme.stack.stack_id)
    assert stack is not None and stack.last_seen_at is not None
