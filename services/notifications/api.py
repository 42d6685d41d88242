"""What people do with notifications (the gateway's ``NotificationsPort``): destinations,
routing rules, test sends and the delivery history. Refusals raise ``InvalidRouting``
(``code`` ``invalid`` or ``conflict``); unknown ids raise ``LookupError``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from faramesh_cloud.notifications.destinations import prepare
from faramesh_cloud.notifications.domain import (
    Destination,
    Event,
    InvalidRouting,
    Kind,
    Notice,
    Rule,
    Subject,
    parse_steps,
    parse_subject,
)
from faramesh_cloud.notifications.payloads import new_webhook_secret
from faramesh_cloud.notifications.projection import names
from faramesh_cloud.notifications.ssrf import Resolver
from faramesh_cloud.notifications.store import DeliveryView, RoutingStore
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Clock = Callable[[], datetime]
MAX_OVERLAP_S = 7 * 24 * 3600


class NotificationsApi:
    def __init__(self, db: Database, store: RoutingStore, *, allow_private: bool, resolver: Resolver,
                 clock: Clock, wake: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._store = store
        self._allow_private = allow_private
        self._resolver = resolver
        self._clock = clock
        self._wake = wake

    kinds: Sequence[Kind] = tuple(Kind)

    async def destinations(self, org_id: str) -> list[Destination]:
        return await self._store.destinations(org_id)

    async def destination(self, org_id: str, destination_id: str) -> Destination:
        return await self._store.destination(org_id, destination_id)

    async def create_destination(self, org_id: str, name: str, kind: str, fields: dict[str, Any],
                                 actor: Actor) -> tuple[Destination, dict[str, str]]:
        """The destination and what is shown only now (a webhook's signing secret)."""
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidRouting("give the destination a name (1-100 characters), e.g. payments-oncall")
        prepared = await asyncio.to_thread(prepare, kind, fields, allow_private=self._allow_private,
                                           resolver=self._resolver)
        destination = await self._store.create_destination(org_id, name, Kind(kind), prepared, actor)
        return destination, prepared.shown_once

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Destination:
        return await self._store.delete_destination(org_id, destination_id, actor)

    async def rotate_secret(self, org_id: str, destination_id: str, overlap_s: int,
                            actor: Actor) -> tuple[Destination, str]:
        """A webhook's new signing secret (shown once); the old one also signs for ``overlap_s``."""
        if not 0 <= overlap_s <= MAX_OVERLAP_S:
            raise InvalidRouting(f"the overlap is 0 to {MAX_OVERLAP_S} seconds (7 days)")
        secret = new_webhook_secret()
        found = await self._store.rotate_secret(org_id, destination_id, secret, overlap_s, self._clock(), actor)
        return found, secret

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str:
        """Queue a test notification; returns its reference (shown in the delivery history)."""
        now = self._clock()
        async with tenant_transaction(self._db, org_id) as conn:
            slug, _ = await names(conn, org_id, "")
        reference = f"test-{uuid.uuid4().hex[:12]}"
        notice = Notice(event=Event.TEST, org_id=org_id, org_slug=slug, stack_id="", stack_name="",
                        defer_token=reference, agent_id="", tool_id="", reason="", priority="normal",
                        matched_rule_id="", session_id="", created_at=now.isoformat(), deadline="", link="")
        await self._store.queue_test(org_id, destination_id, notice, actor, now)
        self._wake()
        return reference

    async def rules(self, org_id: str, *, stack_id: str | None = None) -> list[Rule]:
        """All rules, or those that can apply on ``stack_id`` (its own and organisation-wide)."""
        rules = await self._store.rules(org_id)
        return rules if stack_id is None else [r for r in rules if r.stack_id in ("", stack_id)]

    async def rule(self, org_id: str, rule_id: str) -> Rule:
        return await self._store.rule(org_id, rule_id)

    subjects: Sequence[Subject] = tuple(Subject)

    async def put_rule(self, org_id: str, stack_id: str, agent_id: str, steps: Sequence[Any], actor: Actor,
                       subject: str = Subject.APPROVALS.value) -> Rule:
        """Create or replace the rule of one scope for ``subject`` (approvals or chain_integrity)."""
        agent_id = agent_id.strip()
        if len(agent_id) > 200:
            raise InvalidRouting("an agent id is at most 200 characters")
        routed = parse_subject(subject)
        known = [d.destination_id for d in await self._store.destinations(org_id)]
        return await self._store.put_rule(org_id, stack_id.strip(), agent_id, parse_steps(steps, known, routed),
                                          actor, routed)

    async def delete_rule(self, org_id: str, rule_id: str, actor: Actor) -> Rule:
        return await self._store.delete_rule(org_id, rule_id, actor)

    async def deliveries(self, org_id: str, *, stack_id: str | None = None, limit: int = 50) -> list[DeliveryView]:
        return await self._store.deliveries(org_id, stack_id=stack_id, limit=limit)
