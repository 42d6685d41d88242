"""Issue 16, item 1 and "Bad input and faults", on the distributed install (every service its
own ``faramesh-cloud serve NAME`` process on Kafka; tests/fixtures/install.py):

* Kill a service: SIGKILL one service process mid-run (no shutdown, no last commit); the
  others keep answering, the daemon's pushes are still acknowledged (unless ingest itself is
  the one killed: then they fail UNAVAILABLE and the daemon resends), and once the process is
  started again it catches up: every acknowledged record is searchable exactly once, the
  approval it missed is queued once, the fleet shows the status it missed, and every
  acknowledged record reaches the organisation's OTLP forwarding destination (at least once:
  the forwarding contract; a forwarding process killed between a send and its record sends
  that batch again, so the test asserts the set of record ids, not a count).
* Broker down: ingest answers UNAVAILABLE and acknowledges nothing it did not store; once the
  broker is back, what it acknowledged before and what the daemon resent is all searchable.
  Tansu keeps its data in memory only (TOOLING.md §1b), so stopping it would lose every
  record (a real Kafka cluster keeps them on disk, replicated): the broker is "down" by
  cutting the only network path to it (a TCP gate that refuses connections and drops open
  ones), which is what a client sees of a broker that is down, and its data survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from faramesh_cloud_api.sync.v1 import fleet_pb2

from faramesh_cloud.rpc.sync_client import SyncError
from faramesh_cloud.runtime.services import SERVICES
from tests.approvals_support import pending_event
from tests.e2e.support import (
    Daemon,
    Person,
    eventually,
    forwarded,
    forwarded_ids,
    new_stack,
    record_id,
    records,
    search,
    signed_in,
)
from tests.fixtures.install import SERVED, Install
from tests.notifications_support import HttpReceiver, http_receiver

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.chdb,
              pytest.mark.grpc]

# Which REST read each service answers (through the gateway, over its internal API).
READS = {"audit-index": "audit/records", "approvals": "approvals", "fleet": "fleet/stacks",
         "notifications": "notifications/destinations", "forwarding": "forwarding/destinations",
         "compliance": "compliance/reports", "registry": "registry/policies", "billing": "billing/usage"}
# Every service process but the gateway (the person's way in), ingest last.
KILLED = ("audit-index", "approvals", "fleet", "notifications", "forwarding", "compliance", "registry", "billing",
          "ingest")


@pytest.fixture
def distributed(distributed_install: Install) -> Iterator[Install]:
    distributed_install.check_running()
    yield distributed_install
    # A test that failed half-way leaves no fault behind for the next one to trip on.
    assert distributed_install.gate is not None
    distributed_install.gate.open_if_shut()
    for name, process in distributed_install.processes.items():
        if not process.running():
            distributed_install.restart(name)


async def _answers(person: Person, api: str, down: str) -> None:
    """Every read but the killed service's answers; the killed service's is a 503."""
    for service, path in READS.items():
        response = await person.http.get(f"{api}/{path}")
        expected = 503 if service == down else 200
        assert response.status_code == expected, (service, response.status_code, response.text[:300])


async def _decisions_metered(person: Person, api: str, at_least: int | None = None) -> Any:
    """This month's governed decisions on the organisation's bill; with ``at_least``: whether
    billing has metered that many (a 503 of a restarting billing service is "not yet")."""
    response = await person.http.get(f"{api}/billing/usage", params={"months": "1"})
    if at_least is not None:
        return response.status_code == 200 and response.json()[0]["meters"]["decisions"] >= at_least
    assert response.status_code == 200, response.text[:300]
    return response.json()[0]["meters"]["decisions"]


async def _all_answer(person: Person, api: str) -> None:
    """Until every service's read answers again (a restarted service's callers reconnect with a
    backoff), then the same check once more, strictly."""
    async def answering() -> bool:
        return all([(await person.http.get(f"{api}/{path}")).status_code == 200 for path in READS.values()])
    await eventually(answering, "every service answering again", within_s=60)
    await _answers(person, api, down="")


async def _caught_up(person: Person, api: str, stack_id: str, raws: list[bytes], token: str, version: str) -> None:
    """Every acknowledged record searchable exactly once, the approval queued once, the status
    shown. A service just started may answer 503 for a moment (its internal API's clients
    reconnect with a backoff): that is "not yet"."""
    async def read(path: str, **params: str) -> Any:
        response = await person.http.get(f"{api}/{path}", params=params)
        if response.status_code == 503:
            return None
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    async def all_found() -> bool:
        page = await read("audit/records", stack=stack_id, limit="1000")
        return page is not None and len(page["records"]) >= len(raws)
    await eventually(all_found, "every acknowledged record in the search", within_s=120)

    async def queued() -> bool:
        return any(a["defer_token"] == token for a in await read("approvals") or ())
    await eventually(queued, "the approval in the queue", within_s=120)

    async def status() -> bool:
        return ((await read(f"fleet/stacks/{stack_id}")) or {}).get("daemon_version") == version
    await eventually(status, "the daemon's status in the fleet", within_s=120)

    assert sorted(r["record_id"] for r in await search(person, api, stack_id)) == sorted(map(record_id, raws))
    assert [a["defer_token"] for a in await person.get(f"{api}/approvals")].count(token) == 1


@contextlib.asynccontextmanager
async def _webhook(person: Person, api: str) -> AsyncIterator[HttpReceiver]:
    """Approval requests routed to a webhook on a local receiver, for the duration."""
    with http_receiver() as receiver:
        made = await person.send("POST", f"{api}/notifications/destinations",
                                 {"name": f"kill-{uuid.uuid4().hex[:6]}", "kind": "webhook",
                                  "url": receiver.url + "/hook"})
        assert made.status_code == 201, made.text
        destination = made.json()["destination_id"]
        routed = await person.send("PUT", f"{api}/notifications/routing-rules", {
            "subject": "approvals", "steps": [{"after_minutes": 0, "destinations": [destination]}]})
        assert routed.status_code == 200, routed.text
        try:
            yield receiver
        finally:
            await person.send("PUT", f"{api}/notifications/routing-rules", {"subject": "approvals", "steps": []})
            await person.send("DELETE", f"{api}/notifications/destinations/{destination}")


def test_every_served_service_is_killed_and_read_through_the_gateway() -> None:
    """A service added to the runtime is in the distributed install, in the kill test and answers a read."""
    assert sorted(SERVED) == sorted(name for name in SERVICES if name != "demo")  # `up --demo`'s simulated fleet
    assert sorted(KILLED) == sorted(set(SERVED) - {"gateway"})
    assert sorted(READS) == sorted(set(SERVED) - {"gateway", "ingest"})


@pytest.mark.parametrize("service", KILLED)
async def test_a_killed_service_catches_up_and_the_others_keep_answering(distributed: Install, service: str) -> None:
    raws, token, version = records(20), uuid.uuid4().hex[:8], f"1.4.{uuid.uuid4().int % 1000}"
    later = [pending_event(token, deadline=datetime.now(UTC) + timedelta(hours=1)),
             fleet_pb2.StackStatus(daemon_version=version, framework="langgraph")]
    async with signed_in(distributed) as (person, api), _webhook(person, api) as receiver, \
            forwarded(person, api, f"kill-{service}") as (collector, _):
        stack_id, key = await new_stack(person, api, f"kill-{service}")
        metered_before = await _decisions_metered(person, api)
        async with Daemon(distributed, key) as daemon:
            assert await daemon.push_dprs(raws[:10]) == 10
            distributed.kill(service)  # mid-run: its consumers may not have read them yet

            if service == "ingest":
                with pytest.raises(SyncError) as refused:
                    await daemon.push_dprs(raws[10:])
                assert refused.value.code == grpc.StatusCode.UNAVAILABLE and refused.value.retryable
                await _answers(person, api, down="")
            else:
                assert await daemon.push_dprs(raws[10:]) == 20  # ingest still acknowledges
                assert await daemon.push(later) == 22
                await _answers(person, api, down=service)
                distributed.check_running_but(service)

        distributed.restart(service)
        if service == "ingest":  # the daemon reconnects, learns where Cloud is, resends the rest
            async with Daemon(distributed, key, buffer=daemon.buffer) as again:
                assert again.acked == 10
                assert await again.push_dprs(raws[10:]) == 20
                assert await again.push(later) == 22
        await _caught_up(person, api, stack_id, raws, token, version)
        # billing metered each acknowledged DPR once (its positions: a redelivered batch counts nothing twice)
        await eventually(lambda: _decisions_metered(person, api, at_least=metered_before + len(raws)),
                         "every acknowledged DPR metered", within_s=120)
        assert await _decisions_metered(person, api) == metered_before + len(raws)
        # the approval request pushed while (any) one service was down is notified, once
        await eventually(lambda: any(token in r.body.decode() for r in receiver.on("/hook")),
                         "the approval request at the webhook", within_s=120)
        # every acknowledged DPR forwarded; at least once (a killed forwarding may resend a batch)
        await eventually(lambda: set(forwarded_ids(collector, stack_id)) >= set(map(record_id, raws)),
                         "every acknowledged DPR at the OTLP destination", within_s=120)
        assert set(forwarded_ids(collector, stack_id)) == set(map(record_id, raws))
        await _all_answer(person, api)
    assert sum(token in r.body.decode() for r in receiver.on("/hook")) == 1
    distributed.check_running()


async def test_a_broker_outage_acknowledges_nothing_it_did_not_store(distributed: Install) -> None:
    assert distributed.gate is not None
    raws, token, version = records(20), uuid.uuid4().hex[:8], f"2.0.{uuid.uuid4().int % 1000}"
    later = [pending_event(token, deadline=datetime.now(UTC) + timedelta(hours=1)),
             fleet_pb2.StackStatus(daemon_version=version, framework="langgraph")]
    async with signed_in(distributed) as (person, api):
        stack_id, key = await new_stack(person, api, "broker-down")
        async with Daemon(distributed, key) as daemon:
            assert await daemon.push_dprs(raws[:10]) == 10
            distributed.gate.shut()
            try:
                with pytest.raises(SyncError) as refused:
                    await daemon.push_dprs(raws[10:])
                assert refused.value.code == grpc.StatusCode.UNAVAILABLE, refused.value
                assert refused.value.retryable
                assert "nothing from this call was acknowledged" in refused.value.message
                assert (await daemon.client.hello(daemon.buffer)).acked_through_sequence == 10
            finally:
                distributed.gate.open()

            async def resent() -> bool:  # the daemon's retry loop: resend until acknowledged
                try:
                    assert await daemon.push_dprs(raws[10:]) == 20
                    return True
                except SyncError as exc:
                    assert exc.code == grpc.StatusCode.UNAVAILABLE, exc
                    await asyncio.sleep(0.5)
                    return False
            await eventually(resent, "the resent records acknowledged once the broker is back", within_s=120)
            assert await daemon.push(later) == 22
        await _caught_up(person, api, stack_id, raws, token, version)
    distributed.check_running()
