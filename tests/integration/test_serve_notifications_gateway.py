"""Distributed mode, two processes: `faramesh-cloud serve notifications` and `faramesh-cloud
serve gateway` on one PostgreSQL, each with its own data dir, internal port range and
certificate from one operator CA. The gateway dials the notifications service at
``FARAMESH_CLOUD_NOTIFICATIONS_ADDRESS``: a destination a person creates on the gateway is
checked and sealed by the notifications process (with ITS settings and key: private
destinations allowed there, not on the gateway), a test send is delivered by it to a local
webhook receiver, and the gateway holds no sealing key. With the notifications process
stopped, the same request is a 503 that names the service."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.notifications.client import NotificationsClient
from faramesh_cloud.rpc.internal_pki import embedded
from tests.fakes.slack import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, interaction_body, sign
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_serve_fleet_gateway import _serve, _sign_up, _stop, _tls_env
from tests.integration.test_up import free_port
from tests.notifications_support import http_receiver
from tests.ports import free_internal_base
from tests.serve_support import wait_until_it_answers
from tests.simulator_support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]


async def _wait_for_notifications(address: str, pki: Path, proc: subprocess.Popen[bytes]) -> None:
    client = NotificationsClient(address, embedded(pki, "gateway"), timeout_s=2.0)
    await wait_until_it_answers("notifications", client, lambda: client.destinations(str(uuid.uuid4())), proc)


def test_serve_gateway_changes_routing_and_test_sends_through_serve_notifications(tmp_path: Path,
                                                                                   pg_url: str, shared_secrets: SharedSecrets) -> None:
    pki = tmp_path / "pki"
    notifications_base, gateway_base, http = free_internal_base(), free_internal_base(), free_port()
    address = f"127.0.0.1:{notifications_base + 3}"  # internal_base_port + the notifications index (3)
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    notifications = _serve("notifications", tmp_path / "notifications", {
        **common, **_tls_env(pki, "notifications"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(notifications_base),
        "FARAMESH_CLOUD_ALLOW_PRIVATE_DESTINATIONS": "true"})
    gateway = None
    outputs = []
    try:
        asyncio.run(_wait_for_notifications(address, pki, notifications))
        gateway = _serve("gateway", tmp_path / "gateway", {
            **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(gateway_base),
            "FARAMESH_CLOUD_NOTIFICATIONS_ADDRESS": address, "FARAMESH_CLOUD_HTTP_PORT": str(http),
            "FARAMESH_CLOUD_SLACK_CLIENT_ID": CLIENT_ID, "FARAMESH_CLOUD_SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "FARAMESH_CLOUD_SLACK_SIGNING_SECRET": SIGNING_SECRET})
        client, org = _sign_up(f"http://127.0.0.1:{http}", gateway)
        with http_receiver() as receiver:
            try:
                headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
                made = client.post(f"/api/v1/orgs/{org}/notifications/destinations", headers=headers,
                                   json={"name": "receiver", "kind": "webhook", "url": receiver.url + "/hook"})
                assert made.status_code == 201, made.text  # loopback: allowed by the notifications process
                destination_id = made.json()["destination_id"]
                tested = client.post(f"/api/v1/orgs/{org}/notifications/destinations/{destination_id}/test",
                                     headers=headers)
                assert tested.status_code == 202, tested.text
                asyncio.run(eventually(lambda: len(receiver.on("/hook")) == 1, "the test notification",
                                       within_s=60))
                assert receiver.on("/hook")[0].json()["type"] == "notification.test"
                assert client.get(f"/o/{org}/settings/integrations").status_code == 200
                # The Slack app from the gateway's settings; its interaction endpoint asks the
                # notifications process (SlackCall) for the workspace, which this org has not connected.
                assert client.get(f"/api/v1/orgs/{org}/integrations/slack").json()["configured"] is True
                org_id = client.get("/api/v1/me").json()["memberships"][0]["org"]["id"]
                body = interaction_body({"type": "block_actions", "team": {"id": "T0NOTHERE"}, "user": {"id": "U1"},
                                         "actions": [{"action_id": "faramesh_approve", "value": json.dumps(
                                             {"org": org_id, "stack": "s", "token": "t"})}]})
                foreign = httpx.post(f"http://127.0.0.1:{http}/integrations/slack/interactions", content=body,
                                     headers=sign(body))
                assert foreign.status_code == 403 and "not connected" in foreign.text
                stale = httpx.post(f"http://127.0.0.1:{http}/integrations/slack/interactions", content=body,
                                   headers=sign(body, timestamp=1))
                assert stale.status_code == 401
                # The sealing key is the shared secret (FARAMESH_CLOUD_SECRETS_DIR): neither process made one
                # of its own, and the notifications process opened what it sealed with it to send the test.
                assert not (tmp_path / "notifications" / "keys").exists()
                assert not (tmp_path / "gateway" / "keys").exists()

                outputs.append(_stop(notifications))
                down = client.get(f"/api/v1/orgs/{org}/notifications/destinations")
                assert down.status_code == 503, down.text
                assert "notifications service is not answering" in down.json()["detail"]
            finally:
                client.close()
    finally:
        outputs.append(_stop(notifications))
        if gateway is not None:
            outputs.append(_stop(gateway))
    assert notifications.returncode == 0, "\n".join(outputs)[-4000:]
    assert gateway is not None and gateway.returncode == 0, "\n".join(outputs)[-4000:]
