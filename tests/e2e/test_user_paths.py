"""Issue 16, item 1: the paths a user takes, through the wire they use, on both kinds of
install (``install`` is parametrised: ``embedded`` = one ``faramesh-cloud up``;
``distributed`` = every service its own ``faramesh-cloud serve NAME`` on Kafka (Tansu),
ClickHouse through clickhouse-connect (chDB) and PostgreSQL; tests/fixtures/install.py).

A daemon speaks the sync API over TLS with its stack key (faramesh_cloud/rpc/sync_client.py);
a person speaks the gateway's REST API, signed in through its login form. Each test registers
its own stack, so the counts it checks are its own on an install the whole session shares."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2, deliveries_pb2, emergency_pb2
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from tests.approvals_support import pending_event
from tests.e2e.support import (
    Daemon,
    eventually,
    forwarded,
    forwarded_ids,
    new_stack,
    record_id,
    records,
    search,
    signed_in,
)
from tests.fixtures.install import Install
from tests.notifications_support import http_receiver
from tests.system_support import OWNER

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.chdb,
              pytest.mark.grpc]


async def test_a_daemons_pushed_dprs_are_what_a_person_finds(install: Install) -> None:
    async with signed_in(install) as (person, api):
        stack_id, key = await new_stack(person, api, "push-search")
        raws = records(30)
        async with Daemon(install, key) as daemon:
            assert await daemon.push_dprs(raws[:10]) == 10
            assert await daemon.push_dprs(raws[10:]) == 30

        async def all_found() -> bool:
            return len(await search(person, api, stack_id)) >= len(raws)
        await eventually(all_found, "the pushed records in the audit search", within_s=90)
        found = await search(person, api, stack_id)
        assert sorted(r["record_id"] for r in found) == sorted(record_id(r) for r in raws)
        assert {r["verification"] for r in found} == {"verified"}
        install.check_running()


async def test_an_owners_otlp_destination_gets_the_pushed_dprs_and_its_delivery_log_shows_them(
        install: Install) -> None:
    """Issue 16 item 7 through the user's path on either install: the owner adds a generic OTLP
    destination over REST (sealed by the forwarding service, its own process when distributed),
    a daemon pushes DPRs over sync, the local OTLP receiver gets exactly those record ids (each
    once: nothing failed, so nothing was sent again), and the delivery log over REST accounts
    for every item the receiver accepted as delivered."""
    async with signed_in(install) as (person, api), forwarded(person, api, "otlp") as (collector, destination):
        stack_id, key = await new_stack(person, api, "forward")
        raws = records(12)
        async with Daemon(install, key) as daemon:
            assert await daemon.push_dprs(raws) == 12

        await eventually(lambda: len(forwarded_ids(collector, stack_id)) >= len(raws),
                         "the pushed DPRs at the OTLP receiver", within_s=90)
        assert sorted(forwarded_ids(collector, stack_id)) == sorted(map(record_id, raws))

        async def logged() -> list[dict[str, Any]]:
            lines = await person.get(f"{api}/forwarding/deliveries", limit=1000)
            return [line for line in lines if line["destination_id"] == destination]

        async def all_logged() -> bool:  # the sender records a batch's outcome once it was answered
            return sum(int(line["items"]) for line in await logged()) >= len(collector.received)
        await eventually(all_logged, "the deliveries in the destination's delivery log", within_s=30)
        lines = await logged()
        assert {(line["outcome"], line["http_status"]) for line in lines} == {("delivered", 200)}, lines
        # every item the receiver accepted (this stack's and any other the organisation sent meanwhile)
        assert sum(int(line["items"]) for line in lines) == len(collector.received)
        install.check_running()


async def test_an_approval_round_trip_from_the_daemons_defer_to_its_decision(install: Install) -> None:
    async with signed_in(install) as (person, api):
        stack_id, key = await new_stack(person, api, "approvals")
        token = uuid.uuid4().hex[:8]
        async with Daemon(install, key) as daemon:
            assert await daemon.push([pending_event(token, deadline=datetime.now(UTC) + timedelta(hours=1))]) == 1

            async def queued() -> bool:
                return any(a["defer_token"] == token for a in await person.get(f"{api}/approvals"))
            await eventually(queued, "the defer in the approvals queue", within_s=90)
            [item] = [a for a in await person.get(f"{api}/approvals") if a["defer_token"] == token]
            assert (item["stack_id"], item["state"], item["agent_id"]) == (stack_id, "pending", "payments-bot")

            decided = await person.send("POST", f"{api}/approvals/{item['approval_id']}/decision",
                                        {"verdict": "approve", "reason": "checked with the customer"})
            assert decided.status_code == 200, decided.text

            deliveries = []
            for _ in range(30):  # held polls; each returns at once when a decision is there
                deliveries = list((await daemon.client.poll_decisions(10, wait_s=2.0)).deliveries)
                if deliveries:
                    break
            [delivery] = deliveries
            decision = delivery.approval_decision
            assert decision.defer_token == token
            assert decision.verdict == approvals_pb2.APPROVAL_VERDICT_APPROVE
            assert decision.reason == "checked with the customer"
            acked = await daemon.client.ack_decisions([deliveries_pb2.DeliveryAck(
                delivery_id=delivery.delivery_id, outcome=deliveries_pb2.DELIVERY_OUTCOME_ACCEPTED)])
            assert acked is not None
            assert list((await daemon.client.poll_decisions(10)).deliveries) == []  # acknowledged: not again

        shown = await person.get(f"{api}/approvals/{item['approval_id']}")
        assert (shown["state"], shown["resolved_by"]) == ("approved", OWNER)
        install.check_running()


@pytest.mark.parametrize("kind", ["kill", "isolate"])
async def test_an_emergency_command_reaches_the_daemon_and_its_acknowledgement_is_shown(
        install: Install, kind: str) -> None:
    async with signed_in(install) as (person, api):
        stack_id, key = await new_stack(person, api, kind)
        async with Daemon(install, key) as daemon:
            await daemon.push_dprs(records(4))  # its agents are seen in its DPRs (agent-0, agent-1)
            issued = None

            async def issue() -> bool:  # refused (404) until Cloud has seen the agent
                nonlocal issued
                issued = await person.send("POST", f"{api}/stacks/{stack_id}/agents/agent-0/{kind}",
                                           {"reason": "runaway refunds"})
                assert issued.status_code in (201, 404), issued.text
                return issued.status_code == 201
            await eventually(issue, f"the {kind} command accepted", within_s=90)
            assert issued is not None
            command_id = issued.json()["command_id"]

            commands = []
            for _ in range(60):
                commands = list((await daemon.client.poll_emergency_commands()).commands)
                if commands:
                    break
                await asyncio.sleep(0.5)
            [command] = commands
            assert (command.command_id, command.agent_id, command.reason) == (command_id, "agent-0", "runaway refunds")
            assert command.type == {"kill": emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL,
                                    "isolate": emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE}[kind]
            await daemon.client.ack_emergency_command(command_id, emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED,
                                                      message=f"{kind} applied")

        async def acknowledged() -> bool:
            shown = await person.get(f"{api}/emergency-commands/{command_id}")
            return bool(shown["acknowledged_at"])
        await eventually(acknowledged, "the acknowledgement shown", within_s=60)
        shown = await person.get(f"{api}/emergency-commands/{command_id}")
        assert (shown["type"], shown["outcome"], shown["message"]) == (kind, "applied", f"{kind} applied")
        assert [c["command_id"] for c in await person.get(f"{api}/emergency-commands", stack=stack_id)] == [command_id]
        install.check_running()


async def test_an_approval_request_reaches_a_webhook_signed_with_the_secret_a_person_was_shown(
        install: Install) -> None:
    """The signing secret is shown once when the destination is made, sealed by the
    notifications service (its own process when distributed; ``serve gateway`` never holds the
    sealing key) and opened by it to sign each delivery to the webhook."""
    async with signed_in(install) as (person, api):
        _, key = await new_stack(person, api, "notify")
        token = uuid.uuid4().hex[:8]
        with http_receiver() as receiver:
            path = f"/hook/{token}"
            made = await person.send("POST", f"{api}/notifications/destinations",
                                     {"name": f"oncall-{token}", "kind": "webhook", "url": receiver.url + path})
            assert made.status_code == 201, made.text
            destination, secret = made.json()["destination_id"], made.json()["signing_secret"]
            try:
                routed = await person.send("PUT", f"{api}/notifications/routing-rules",
                                           {"subject": "approvals",
                                            "steps": [{"after_minutes": 0, "destinations": [destination]}]})
                assert routed.status_code == 200, routed.text
                async with Daemon(install, key) as daemon:
                    await daemon.push([pending_event(token, deadline=datetime.now(UTC) + timedelta(hours=1))])
                await eventually(lambda: bool(receiver.on(path)), "the approval request at the webhook", 90)
            finally:
                await person.send("PUT", f"{api}/notifications/routing-rules", {"subject": "approvals", "steps": []})
                await person.send("DELETE", f"{api}/notifications/destinations/{destination}")
        [hook] = receiver.on(path)
        assert token in hook.body.decode()
        signed = f"{hook.headers['webhook-id']}.{hook.headers['webhook-timestamp']}.".encode() + hook.body
        expected = base64.b64encode(hmac.new(base64.b64decode(secret.removeprefix("whsec_")), signed,
                                             hashlib.sha256).digest()).decode()
        assert f"v1,{expected}" in hook.headers["webhook-signature"].split(" ")
        install.check_running()


async def test_a_compliance_report_downloads_and_an_auditor_verifies_it_offline(install: Install,
                                                                                tmp_path: Path) -> None:
    """Generated by the compliance service (its own process when distributed) from what the
    audit index holds, signed with the platform key and the document certificate; the
    auditor gets the PDF and the public keys through a share link (served by the gateway,
    which must offer the same keys the compliance service signed with) and runs
    ``faramesh-cloud verify-report``."""
    async with signed_in(install) as (person, api):
        stack_id, key = await new_stack(person, api, "report")
        raws = records(12)
        start = datetime.now(UTC) - timedelta(days=400)  # the synthetic records' clock
        async with Daemon(install, key) as daemon:
            await daemon.push_dprs(raws)

        async def indexed() -> bool:
            return len(await search(person, api, stack_id)) == len(raws)
        await eventually(indexed, "the records indexed", within_s=90)
        asked = await person.send("POST", f"{api}/compliance/reports", {
            "framework": "soc2", "stack_ids": [stack_id], "start": start.isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})
        assert asked.status_code == 202, asked.text
        report_id = asked.json()["report_id"]

        async def made() -> bool:
            report = await person.get(f"{api}/compliance/reports/{report_id}")
            assert report["state"] != "failed", report["error"]
            return bool(report["state"] == "done")
        await eventually(made, "the report made", within_s=180)
        artifact_id = (await person.get(f"{api}/compliance/reports/{report_id}"))["artifact_id"]
        download = await person.http.get(f"{api}/compliance/artifacts/{artifact_id}/download")
        assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
        shared = await person.send("POST", f"{api}/compliance/artifacts/{artifact_id}/shares",
                                   {"days": 3, "note": "auditor"})
        assert shared.status_code == 201, shared.text
        token = shared.json()["token"]

    async with httpx.AsyncClient(base_url=install.base_url, timeout=30) as auditor:  # no session
        files = {}
        for name in ("report.pdf", "platform-ed25519.pub.pem", "platform-document-cert.pem"):
            got = await auditor.get(f"/share/{token}/download" if name == "report.pdf" else f"/share/{token}/keys/{name}")
            assert got.status_code == 200, (name, got.text[:300])
            (tmp_path / name).write_bytes(got.content)
            files[name] = tmp_path / name
    assert files["report.pdf"].read_bytes() == download.content
    checked = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "faramesh_cloud", "verify-report", str(files["report.pdf"]),
        "--platform-key", str(files["platform-ed25519.pub.pem"]),
        "--certificate", str(files["platform-document-cert.pem"])], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    install.check_running()


async def test_the_daemon_registry_api_serves_a_pack_with_a_signature_that_verifies(install: Install) -> None:
    """What a daemon with ``FARAMESH_REGISTRY_URL=<cloud>/registry`` fetches (the gateway serves
    it under ``up`` and forwards it to ``serve registry`` when distributed): the pack's FPL,
    its digest, and its signature, which verifies under the key the trust list publishes."""
    async with httpx.AsyncClient(base_url=install.base_url + "/registry/", timeout=30) as daemon:
        assert (await daemon.get(".well-known/faramesh.json")).status_code == 200
        answer = await daemon.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")
        assert answer.status_code == 200, answer.text
        pack = answer.json()
        keys = {k["key_id"]: k for k in (await daemon.get("v1/trust/keys")).json()["keys"]}
    fpl = str(pack["policy_fpl"]).encode()
    assert pack["sha256_hex"] == hashlib.sha256(fpl).hexdigest()
    signature = pack["signature"]
    assert signature["algorithm"].lower() == "ed25519" and signature["key_id"] in keys
    trusted = keys[signature["key_id"]]["public_key_b64"]
    assert trusted == signature["public_key_b64"]
    VerifyKey(base64.b64decode(trusted)).verify(fpl, base64.b64decode(signature["value_b64"]))
    with pytest.raises(BadSignatureError):  # and it is a check: one byte of the pack changed fails it
        VerifyKey(base64.b64decode(trusted)).verify(fpl.replace(b"stripe", b"strip3", 1),
                                                    base64.b64decode(signature["value_b64"]))
    assert "cloud" in {k.get("origin") for k in keys.values()}  # Cloud's own registry key is published too
    install.check_running()
