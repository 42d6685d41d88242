"""One contract for the gateway's ``ForwardingPort``, held by both adapters: the forwarding
service's ``ForwardingApi`` in process, and ``ForwardingClient`` talking to the service's real
servicer over real mutual TLS on 127.0.0.1. On the same data (real PostgreSQL) every method
gives the same values; the same refusals with the same words and kinds (an SSRF-refused URL,
a name in use, an unknown id, a malformed organisation id); the actor reaches the platform
audit log; secrets never come back; another organisation's destinations are not found; and a
caller other than the gateway is refused at the TLS layer."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.forwarding.api import ForwardingApi
from faramesh_cloud.forwarding.client import ForwardingClient
from faramesh_cloud.forwarding.domain import ForwardingConflict, InvalidForwarding
from faramesh_cloud.forwarding.senders import Senders
from faramesh_cloud.forwarding.service import COMPONENT
from faramesh_cloud.forwarding.servicer import internal_server
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]
OWNER = Actor(ActorType.USER, str(uuid.uuid4()), "owner@acme.test", "203.0.113.7")
DD_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def api(database: Database) -> ForwardingApi:
    await migrate(database, [COMPONENT])
    audit = PlatformAuditLog(database)
    await audit.start()
    return ForwardingApi(database, SecretBox(secrets.token_bytes(32)), audit, Senders(allow_private=False),
                         allow_private=False, clock=lambda: datetime.now(UTC))


@contextlib.asynccontextmanager
async def adapter(kind: str, api: ForwardingApi, tls: ServiceTls, caller: str = "gateway") -> AsyncIterator[Any]:
    if kind == "in-process":
        yield api
        return
    server = internal_server(api, "127.0.0.1:0", tls("forwarding"))
    await server.start()
    client = ForwardingClient(server.address, tls(caller))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


@pytest.mark.parametrize("kind", ["in-process", "grpc"])
async def test_both_adapters_answer_alike(kind: str, api: ForwardingApi, internal_tls: ServiceTls,
                                          database: Database) -> None:
    stacks = StackStore(database)
    await stacks.start()
    acme = (await stacks.create_org(f"acme-{uuid.uuid4().hex[:8]}", "Acme")).org_id
    beta = (await stacks.create_org(f"beta-{uuid.uuid4().hex[:8]}", "Beta")).org_id
    async with adapter(kind, api, internal_tls) as port:
        made = await port.create_destination(acme, "dd", "datadog", {"site": "datadoghq.eu", "api_key": DD_KEY},
                                             OWNER, forward_metrics=False)
        assert made == await api.destination(acme, made.destination_id)
        assert (made.name, made.kind.value, made.config, made.forward_dprs, made.forward_metrics) == (
            "dd", "datadog", {"site": "datadoghq.eu", "key_hint": DD_KEY[-4:]}, True, False)
        assert await port.destinations(acme) == await api.destinations(acme) == [made]
        assert await port.destinations(beta) == []
        with pytest.raises(LookupError, match="no forwarding destination"):
            await port.destination(beta, made.destination_id)  # another organisation's: not found
        with pytest.raises(ForwardingConflict, match="exists already"):
            await port.create_destination(acme, "dd", "datadog", {"api_key": DD_KEY}, OWNER)
        with pytest.raises(InvalidForwarding, match="loopback address"):
            await port.create_destination(acme, "x", "otlp", {"url": "https://127.0.0.1/"}, OWNER)
        with pytest.raises(InvalidForwarding, match="is not an organisation id"):
            await port.destinations("not-a-uuid")
        assert await port.backlog(acme) == {} and await port.deliveries(acme) == []
        with pytest.raises(LookupError):
            await port.delete_destination(beta, made.destination_id, OWNER)
        gone = await port.delete_destination(acme, made.destination_id, OWNER)
        assert gone.destination_id == made.destination_id and await port.destinations(acme) == []
    entries = await PlatformAuditLog(database).entries(acme)
    assert [(e.action, e.actor.label, e.actor.ip) for e in entries] == [
        ("org:forwarding:create", "owner@acme.test", "203.0.113.7"),
        ("org:forwarding:delete", "owner@acme.test", "203.0.113.7")]
    assert DD_KEY not in str([e.details for e in entries])


async def test_only_the_gateway_may_call(api: ForwardingApi, internal_tls: ServiceTls) -> None:
    async with adapter("grpc", api, internal_tls, caller="ingest") as port:
        with pytest.raises(ServiceUnavailable):
            await port.destinations(str(uuid.uuid4()))
