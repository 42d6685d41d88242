"""What the end-to-end suite does as a person (the gateway's REST API, signed in through the
login form) and as a daemon (the sync API over TLS with a stack key), on an
:class:`~tests.fixtures.install.Install` of either mode."""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from google.protobuf.message import Message

from faramesh_cloud.rpc.sync_client import SyncClient, push_item
from tests.fixtures.identity import PASSWORD
from tests.fixtures.install import Install
from tests.forwarding_receivers import Receiver, receiver
from tests.simulator_support import eventually
from tests.sync_items import dpr_item, synthetic_records
from tests.system_support import OWNER, Person, _csrf

__all__ = ["Daemon", "Person", "eventually", "forwarded", "forwarded_ids", "new_stack", "records", "search",
           "signed_in"]


@contextlib.asynccontextmanager
async def signed_in(install: Install) -> AsyncIterator[tuple[Person, str]]:
    """A person signed in to the install (the first one to ask sets it up through /setup);
    the person and the organisation's REST prefix ``/api/v1/orgs/<slug>``."""
    async with Person(install.base_url) as person:
        if not install.org:  # a fresh install: the first owner and the organisation, through /setup
            form = await person.http.get("/setup")
            assert form.status_code == 200, form.text[:300]
            data = {"name": "Owner", "email": OWNER, "password": PASSWORD, "org_name": "E2E", "org_slug": "e2e",
                    "csrf_token": _csrf(form.text)}
            answer = await person.http.post("/setup", data=data)
            assert answer.status_code == 303, answer.text[:500]
            install.org = "e2e"
        slug = await person.sign_in(install.org)
        yield person, f"/api/v1/orgs/{slug}"


async def new_stack(person: Person, api: str, name: str) -> tuple[str, str]:
    """A stack registered over REST: its id and its stack key (what an operator gives the daemon)."""
    made = await person.send("POST", f"{api}/stacks", {"name": f"{name}-{uuid.uuid4().hex[:6]}"})
    assert made.status_code == 201, made.text
    return made.json()["stack_id"], made.json()["api_key"]


def records(count: int) -> list[bytes]:
    """``count`` signed DPRs of two agents, as a daemon writes them, with record ids of their own."""
    return synthetic_records(count, seed=random.randrange(1 << 30))


def record_id(raw: bytes) -> str:
    return str(json.loads(raw)["record_id"])


async def search(person: Person, api: str, stack_id: str) -> list[dict[str, Any]]:
    """Every record the audit search shows for the stack (page by page)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await person.get(f"{api}/audit/records", stack=stack_id, limit=1000,
                                **({"cursor": cursor} if cursor else {}))
        found += page["records"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


@contextlib.asynccontextmanager
async def forwarded(person: Person, api: str, name: str) -> AsyncIterator[tuple[Receiver, str]]:
    """A generic OTLP destination added over REST (DPRs only, no decision metrics), pointing at a
    local OTLP/HTTP receiver that checks the wire format; the receiver and the destination's id.
    Deleted again on the way out (the organisation is the whole session's)."""
    token = uuid.uuid4().hex
    with receiver("otlp", f"Bearer {token}") as collector:
        made = await person.send("POST", f"{api}/forwarding/destinations", {
            "name": f"{name}-{uuid.uuid4().hex[:6]}", "kind": "otlp", "url": collector.url,
            "headers": f"authorization=Bearer {token}", "forward_metrics": False})
        assert made.status_code == 201, made.text
        destination = made.json()["destination_id"]
        try:
            yield collector, destination
        finally:
            await person.send("DELETE", f"{api}/forwarding/destinations/{destination}")


def _forwarded(collector: Receiver) -> Iterator[tuple[str, str]]:
    for resource, log_record in list(collector.received):
        attributes = {kv.key: kv.value.string_value for kv in resource.attributes}
        yield attributes["faramesh.stack_id"], str(json.loads(log_record.body.string_value)["record_id"])


def forwarded_ids(collector: Receiver, stack_id: str) -> list[str]:
    """The record ids of ``stack_id``'s DPRs the receiver accepted, one per delivery (a record
    delivered twice is there twice)."""
    return [record for stack, record in _forwarded(collector) if stack == stack_id]


class Daemon:
    """One daemon buffer on the sync API (TLS, pinned certificate, the stack key)."""

    def __init__(self, install: Install, key: str, buffer: str = "") -> None:
        self.client = SyncClient(install.sync_target, key, root_certificates=install.sync_ca)
        self.buffer = buffer or str(uuid.uuid4())
        self.sequence = 0
        self.acked = 0

    async def __aenter__(self) -> Daemon:
        """Hello: where Cloud's acknowledgements of this buffer stand (the daemon resends after it)."""
        self.acked = self.sequence = int((await self.client.hello(self.buffer)).acked_through_sequence)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    async def push_dprs(self, raws: list[bytes]) -> int:
        """Push the records as the next items of this buffer; the acknowledged sequence."""
        items = [dpr_item(self.sequence + i + 1, raw) for i, raw in enumerate(raws)]
        response = await self.client.push(self.buffer, items)
        assert not response.rejections, response
        self.sequence = self.acked = int(response.acked_through_sequence)
        return self.acked

    async def push(self, payloads: list[Message]) -> int:
        """Push other kinds of item (an approval event, health, status…); the acknowledged sequence."""
        items = [push_item(self.sequence + i + 1, p) for i, p in enumerate(payloads)]
        response = await self.client.push(self.buffer, items)
        assert not response.rejections, response
        self.sequence = self.acked = int(response.acked_through_sequence)
        return self.acked
