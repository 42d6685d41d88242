"""What people do with notifications (the gateway's ``NotificationsPort``): destinations,
routing rules, test sends and the delivery history. Refusals raise ``InvalidRouting``
(``code`` ``invalid``, or ``conflict`` for a ``RoutingConflict``); unknown ids raise
``LookupError``; a change while the service rebuilds its state from the log raises
``CatchingUp`` (an ``rpc.errors.ServiceBusy``: the gateway answers 503 with Retry-After).
The gateway calls this object in process when the service runs in its process, and through
``servicer.py`` / ``client.py`` (the internal gRPC API) otherwise.

Each change is a command handler: in ONE tenant transaction, holding the organisation's
routing lock (so two changes of one organisation are checked and logged one after the
other), it checks the request against the service's own state, builds the event, applies it
with ``apply.record`` (the same ``apply`` the consumer of ``notifications.events.v1`` uses,
and the outbox row the relay puts on the log) and appends the platform audit entry.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from faramesh_cloud.egress.ssrf import Resolver
from faramesh_cloud.identity.groups import group_names_in
from faramesh_cloud.notifications.apply import enqueue, record
from faramesh_cloud.notifications.changes import (
    DestinationCreated,
    DestinationDeleted,
    DestinationSecretRotated,
    DestinationUpdated,
    RoutingRuleDeleted,
    RoutingRuleSet,
)
from faramesh_cloud.notifications.destinations import prepare, prepare_update
from faramesh_cloud.notifications.domain import (
    DeliveryView,
    Destination,
    Event,
    InvalidRouting,
    Kind,
    Notice,
    Rule,
    Subject,
    parse_steps,
    parse_subject,
    steps_json,
)
from faramesh_cloud.notifications.payloads import new_webhook_secret
from faramesh_cloud.notifications.projection import names
from faramesh_cloud.notifications.slack_calls import SlackCalls
from faramesh_cloud.notifications.store import (
    DESTINATION_CREATED,
    DESTINATION_DELETED,
    DESTINATION_TESTED,
    DESTINATION_UPDATED,
    RULE_DELETED,
    RULE_SET,
    SECRET_ROTATED,
    InUse,
    RoutingStore,
    find_destination,
    find_rule,
    org_destinations,
    org_rules,
    scope_rule,
    scope_text,
    sealed_secret,
)
from faramesh_cloud.platform_audit.events import Actor, Target
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Clock = Callable[[], datetime]
Conn = AsyncConnection[Any]
MAX_OVERLAP_S = 7 * 24 * 3600


RETRY_WHILE_REBUILDING_S = 30
MAX_DELIVERIES = 1000


class CatchingUp(ServiceBusy):
    """A change refused while the service rebuilds its state from the log (not the person's
    fault, and not for long): try again in ``retry_after_s``."""

    def __init__(self) -> None:
        super().__init__("notifications", "notifications is rebuilding its routing and delivery history from the "
                         f"log; try again in {RETRY_WHILE_REBUILDING_S} seconds", RETRY_WHILE_REBUILDING_S)


def _event_id() -> str:
    return str(uuid.uuid4())


class NotificationsApi:
    def __init__(self, db: Database, store: RoutingStore, *, allow_private: bool, resolver: Resolver,
                 clock: Clock, wake: Callable[[], None] = lambda: None, slack: SlackCalls | None = None) -> None:
        self._slack = slack
        self._db = db
        self._store = store
        self._allow_private = allow_private
        self._resolver = resolver
        self._clock = clock
        self._wake = wake

    kinds: Sequence[Kind] = tuple(Kind)
    subjects: Sequence[Subject] = tuple(Subject)

    @asynccontextmanager
    async def _command(self, org_id: str) -> AsyncIterator[Conn]:
        """The tenant transaction of one change, holding the organisation's routing lock;
        refused while the service rebuilds its state from the log."""
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notifications/routing/{org_id}",))
            cur = await conn.execute("SELECT catching_up FROM notification_catch_up")
            row = await cur.fetchone()
            if row is not None and row[0]:
                raise CatchingUp()
            yield conn

    async def _audit(self, conn: Conn, org_id: str, action: str, actor: Actor, target: Target,
                     details: dict[str, Any]) -> None:
        await self._store.audit.append_in(conn, org_id, action, actor, target=target, details=details)

    # Destinations -------------------------------------------------------------------------
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
        destination_id = str(uuid.uuid4())
        sealed = self._store.box.seal(org_id, destination_id, prepared.secret)
        async with self._command(org_id) as conn:
            if any(d.name == name for d in await org_destinations(conn, org_id)):
                raise InUse(f"a destination named {name!r} exists already; pick another name")
            change = DestinationCreated(_event_id(), self._clock(), org_id, actor, destination_id, name, Kind(kind),
                                        prepared.config, sealed)
            await record(conn, change)
            await self._audit(conn, org_id, DESTINATION_CREATED, actor, Target("destination", destination_id),
                              {"name": name, "kind": kind})
            created = await find_destination(conn, org_id, destination_id)
        return created, prepared.shown_once

    async def update_destination(self, org_id: str, destination_id: str, name: str, fields: dict[str, Any],
                                 actor: Actor) -> Destination:
        """Edit the name (empty: keep it) and the shown fields; the secret stays as it is."""
        name = name.strip()
        if len(name) > 100:
            raise InvalidRouting("a destination's name is 1-100 characters")
        before = await self._store.destination(org_id, destination_id)
        config = await asyncio.to_thread(prepare_update, before.kind, before.config, fields,
                                         allow_private=self._allow_private, resolver=self._resolver)
        async with self._command(org_id) as conn:
            found = await find_destination(conn, org_id, destination_id)
            name = name or found.name
            if name != found.name and any(d.name == name for d in await org_destinations(conn, org_id)):
                raise InUse(f"a destination named {name!r} exists already; pick another name")
            changed = sorted(k for k in set(config) | set(found.config) if config.get(k) != found.config.get(k))
            if name == found.name and not changed:
                return found
            await record(conn, DestinationUpdated(_event_id(), self._clock(), org_id, actor, found.destination_id,
                                                  name, config))
            await self._audit(conn, org_id, DESTINATION_UPDATED, actor, Target("destination", found.destination_id),
                              {"kind": found.kind.value, "name": {"from": found.name, "to": name},
                               "changed": {k: {"from": found.config.get(k), "to": config.get(k)} for k in changed}})
            return await find_destination(conn, org_id, found.destination_id)

    async def delete_destination(self, org_id: str, destination_id: str, actor: Actor) -> Destination:
        async with self._command(org_id) as conn:
            found = await find_destination(conn, org_id, destination_id)
            users = [r for r in await org_rules(conn, org_id) if found.destination_id in r.destination_ids()]
            if users:
                scopes = ", ".join(scope_text(r) for r in users)
                raise InUse(f"{found.name} is used by routing rules ({scopes}); change those rules first")
            await record(conn, DestinationDeleted(_event_id(), self._clock(), org_id, actor, found.destination_id,
                                                  found.name))
            await self._audit(conn, org_id, DESTINATION_DELETED, actor, Target("destination", found.destination_id),
                              {"name": found.name, "kind": found.kind.value})
        return found

    async def rotate_secret(self, org_id: str, destination_id: str, overlap_s: int,
                            actor: Actor) -> tuple[Destination, str]:
        """A webhook's new signing secret (shown once); the old one also signs for ``overlap_s``."""
        if not 0 <= overlap_s <= MAX_OVERLAP_S:
            raise InvalidRouting(f"the overlap is 0 to {MAX_OVERLAP_S} seconds (7 days)")
        new_secret = new_webhook_secret()
        now = self._clock()
        async with self._command(org_id) as conn:
            found = await find_destination(conn, org_id, destination_id)
            if found.kind is not Kind.WEBHOOK:
                raise InvalidRouting("only webhook destinations have a signing secret")
            box = self._store.box
            old = box.open(org_id, found.destination_id, await sealed_secret(conn, org_id, found.destination_id))
            secret = {"signing_secret": new_secret, "previous_secret": old["signing_secret"],
                      "previous_until": str(int(now.timestamp()) + overlap_s)}
            await record(conn, DestinationSecretRotated(_event_id(), now, org_id, actor, found.destination_id,
                                                        box.seal(org_id, found.destination_id, secret), overlap_s))
            await self._audit(conn, org_id, SECRET_ROTATED, actor, Target("destination", found.destination_id),
                              {"name": found.name, "overlap_s": overlap_s})
        return found, new_secret

    async def test_destination(self, org_id: str, destination_id: str, actor: Actor) -> str:
        """Queue a test notification; returns its reference (shown in the delivery history)."""
        now = self._clock()
        reference = f"test-{uuid.uuid4().hex[:12]}"
        async with self._command(org_id) as conn:
            found = await find_destination(conn, org_id, destination_id)
            slug, _ = await names(conn, org_id, "")
            notice = Notice(event=Event.TEST, org_id=org_id, org_slug=slug, stack_id="", stack_name="",
                            defer_token=reference, agent_id="", tool_id="", reason="", priority="normal",
                            matched_rule_id="", session_id="", created_at=now.isoformat(), deadline="", link="")
            await enqueue(conn, found.destination_id, notice, now)
            await self._audit(conn, org_id, DESTINATION_TESTED, actor, Target("destination", found.destination_id),
                              {"name": found.name})
        self._wake()
        return reference

    # Rules --------------------------------------------------------------------------------
    async def rules(self, org_id: str, *, stack_id: str | None = None) -> list[Rule]:
        """All rules, or those that can apply on ``stack_id`` (its own and organisation-wide)."""
        rules = await self._store.rules(org_id)
        return rules if stack_id is None else [r for r in rules if r.stack_id in ("", stack_id)]

    async def rule(self, org_id: str, rule_id: str) -> Rule:
        return await self._store.rule(org_id, rule_id)

    async def put_rule(self, org_id: str, stack_id: str, agent_id: str, steps: Sequence[Any], actor: Actor,
                       subject: str = Subject.APPROVALS.value) -> Rule:
        """Create or replace the rule of one scope for ``subject`` (approvals or chain_integrity)."""
        agent_id = agent_id.strip()
        stack_id = stack_id.strip()
        if len(agent_id) > 200:
            raise InvalidRouting("an agent id is at most 200 characters")
        routed = parse_subject(subject)
        async with self._command(org_id) as conn:
            destinations = await org_destinations(conn, org_id)
            checked = parse_steps(steps, [d.destination_id for d in destinations], routed,
                                  groups=await group_names_in(conn, org_id),
                                  emails=[d.destination_id for d in destinations if d.kind is Kind.EMAIL])
            existing = await scope_rule(conn, org_id, routed, stack_id, agent_id)
            rule_id = existing.rule_id if existing is not None else str(uuid.uuid4())
            await record(conn, RoutingRuleSet(_event_id(), self._clock(), org_id, actor, rule_id, routed, stack_id,
                                              agent_id, checked))
            await self._audit(conn, org_id, RULE_SET, actor, Target("routing_rule", rule_id),
                              {"subject": routed.value, "stack_id": stack_id, "agent_id": agent_id,
                               "steps": steps_json(checked)})
            return await find_rule(conn, org_id, rule_id)

    async def delete_rule(self, org_id: str, rule_id: str, actor: Actor) -> Rule:
        async with self._command(org_id) as conn:
            rule = await find_rule(conn, org_id, rule_id)
            await record(conn, RoutingRuleDeleted(_event_id(), self._clock(), org_id, actor, rule.rule_id,
                                                  rule.subject, rule.stack_id, rule.agent_id))
            await self._audit(conn, org_id, RULE_DELETED, actor, Target("routing_rule", rule.rule_id),
                              {"subject": rule.subject.value, "stack_id": rule.stack_id, "agent_id": rule.agent_id})
        return rule

    async def deliveries(self, org_id: str, *, stack_id: str | None = None, limit: int = 50) -> list[DeliveryView]:
        if not 1 <= limit <= MAX_DELIVERIES:
            raise InvalidRouting(f"ask for 1 to {MAX_DELIVERIES} deliveries, not {limit}")
        return await self._store.deliveries(org_id, stack_id=stack_id, limit=limit)

    async def slack_call(self, org_id: str, team_id: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """A Slack Web API call with the bot token of the organisation's workspace ``team_id``
        (``slack_calls.py``: the approve-from-Slack flow); Slack's answer as it came."""
        if self._slack is None:
            raise InvalidRouting("this notifications service makes no Slack Web API calls")
        return await self._slack.call(org_id, team_id, method, args)
