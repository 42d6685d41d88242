"""The fleet query API: tenant-scoped reads for Home and Fleet. Every function takes the
organisation first and filters by it; a stack or agent of another organisation is simply
not found, and an ``org_id`` that is not an organisation id (a UUID) is refused
(:class:`InvalidQuery`) rather than read as "no rows"."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from faramesh_cloud.fleet.domain import (
    AgentView,
    ApplyView,
    BudgetView,
    ConfigText,
    ContactMinute,
    CredentialView,
    InvalidQuery,
    ProviderView,
    StackBurn,
    StackView,
)
from faramesh_cloud.fleet.git_providers import Provider
from faramesh_cloud.fleet.git_providers import commit_url as provider_commit_url
from faramesh_cloud.fleet.health import commit_url, stack_health, sync_status
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.domain import Stack


class StackLister(Protocol):
    """The organisation's stacks (``StackStore`` satisfies it)."""

    async def list_stacks(self, org_id: str) -> list[Stack]: ...


_STACK_COLS = ("stack_id, daemon_version, platform, framework, runtime_mode, layers, applied_commit, "
               "applied_remote, applied_branch, applied_at, applied_operator, applied_summary, policy_version, "
               "health_ok, lifecycle, uptime_s, active_sessions, down_backends, status_ns, governance_sha256, "
               "config_text_sha256, config_sha_mismatch")


def _org(org_id: str) -> str:
    try:
        uuid.UUID(org_id)
    except (ValueError, TypeError, AttributeError):
        raise InvalidQuery(f"org_id {org_id!r} is not an organisation id (a UUID); every fleet query is "
                           "scoped to one organisation") from None
    return org_id


def _at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


GitLink = tuple[Provider, str, str]  # a mapped stack's provider, API base URL and repository


def _commit_url(link: GitLink | None, remote: str, commit: str) -> str:
    """The provider's commit page when the stack is mapped to a repository (Settings →
    Integrations → Git), else the page guessed from the remote the daemon reported."""
    if link is not None and commit:
        return provider_commit_url(link[0], link[1], link[2], commit)
    return commit_url(remote, commit)


def _stack_view(stack: Stack, row: tuple[Any, ...] | None, agents: int, providers: Sequence[str],
                now: datetime, disconnect_after_s: float, link: GitLink | None = None) -> StackView:
    sync = sync_status(stack.last_seen_at, now, disconnect_after_s)
    if row is None:
        return StackView(stack.stack_id, stack.name, stack.environment, stack.last_seen_at, sync, "unknown")
    (_, version, platform, framework, mode, layers, commit, remote, branch, applied_at, operator, summary,
     policy, ok, lifecycle, uptime, sessions, down, status_ns, gov_sha, text_sha, mismatch) = row
    return StackView(
        stack_id=stack.stack_id, name=stack.name, environment=stack.environment, last_seen_at=stack.last_seen_at,
        sync_status=sync, health=stack_health(ok, lifecycle, down, providers), daemon_version=version,
        platform=dict(platform or {}), framework=framework, runtime_mode=mode, enforcement_layers=list(layers),
        last_apply_at=applied_at, commit=commit, commit_url=_commit_url(link, remote, commit),
        applied_operator=operator, applied_summary=summary, applied_branch=branch, applied_remote=remote,
        policy_version=policy, governance_sha256=gov_sha, config_text_sha256=text_sha, config_sha_mismatch=mismatch,
        uptime_s=uptime, lifecycle=lifecycle, active_sessions=sessions, agent_count=agents,
        unavailable_backends=list(down), status_observed_at=_at(status_ns) if status_ns >= 0 else None)


class FleetQuery:
    """Reads of the fleet projection, joined with the stack registry for names and sync."""

    def __init__(self, db: Database, stacks: StackLister, disconnect_after_s: float = 120.0) -> None:
        self._db = db
        self._stacks = stacks
        self.disconnect_after_s = disconnect_after_s

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async with self._db.connection() as conn:
            cur = await conn.execute(sql, params)
            return list(await cur.fetchall())

    async def _links(self, org_id: str, stack_id: str | None = None) -> dict[str, GitLink]:
        rows = await self._fetch(
            "SELECT m.stack_id, c.provider, c.base_url, m.repository FROM fleet_git_mappings m JOIN "
            "fleet_git_connections c USING (connection_id) WHERE m.org_id = %s::uuid AND c.org_id = m.org_id"
            + (" AND m.stack_id = %s" if stack_id is not None else ""),
            (org_id,) if stack_id is None else (org_id, stack_id))
        return {r[0]: (Provider(r[1]), r[2], r[3]) for r in rows}

    async def stacks(self, org_id: str, now: datetime | None = None) -> list[StackView]:
        """Every registered stack of the organisation, by name."""
        now = now or datetime.now(UTC)
        registered = [s for s in await self._stacks.list_stacks(_org(org_id)) if s.registered]
        rows = {r[0]: r for r in await self._fetch(
            f"SELECT {_STACK_COLS} FROM fleet_stacks WHERE org_id = %s", (org_id,))}
        agents = dict(await self._fetch(  # type: ignore[arg-type]
            "SELECT stack_id, count(*) FROM fleet_agents WHERE org_id = %s AND in_status GROUP BY stack_id",
            (org_id,)))
        providers: dict[str, list[str]] = {}
        for stack_id, health in await self._fetch(
                "SELECT stack_id, health FROM fleet_providers WHERE org_id = %s", (org_id,)):
            providers.setdefault(stack_id, []).append(health)
        links = await self._links(org_id)
        views = [_stack_view(s, rows.get(s.stack_id), int(agents.get(s.stack_id, 0)),
                             providers.get(s.stack_id, []), now, self.disconnect_after_s, links.get(s.stack_id))
                 for s in registered]
        return sorted(views, key=lambda v: v.name.lower())

    async def stack(self, org_id: str, stack_id: str, now: datetime | None = None) -> StackView | None:
        return next((v for v in await self.stacks(org_id, now) if v.stack_id == stack_id), None)

    async def _budgets(self, org_id: str, where: str, params: Sequence[Any]) -> list[BudgetView]:
        rows = await self._fetch(
            "SELECT stack_id, agent_id, scope, session_id, spent_usd, ceiling_usd, observed_ns FROM fleet_budgets "
            f"WHERE org_id = %s {where} ORDER BY stack_id, agent_id, scope, session_id", (_org(org_id), *params))
        return [BudgetView(s, a, sc, ses, sp, ce, _at(ns)) for s, a, sc, ses, sp, ce, ns in rows]

    async def _credentials(self, org_id: str, where: str, params: Sequence[Any]) -> list[CredentialView]:
        rows = await self._fetch(
            "SELECT stack_id, agent_id, credential_key, source, scope, expires_at, event, observed_ns "
            f"FROM fleet_credentials WHERE org_id = %s {where} ORDER BY expires_at NULLS LAST, agent_id",
            (_org(org_id), *params))
        return [CredentialView(s, a, k, src, sc, exp, ev, _at(ns)) for s, a, k, src, sc, exp, ev, ns in rows]

    async def agents(self, org_id: str, stack_id: str) -> list[AgentView]:
        """Agents of one stack: those its status names, plus any with budgets or credentials."""
        rows = await self._fetch(
            "SELECT agent_id, killed, isolated, active_sessions, in_status FROM fleet_agents "
            "WHERE org_id = %s AND stack_id = %s", (_org(org_id), stack_id))
        budgets = await self._budgets(org_id, "AND stack_id = %s", (stack_id,))
        creds = await self._credentials(org_id, "AND stack_id = %s", (stack_id,))
        known: dict[str, tuple[Any, ...]] = {r[0]: r for r in rows}
        names = sorted(set(known) | {b.agent_id for b in budgets} | {c.agent_id for c in creds})
        views = []
        for name in names:
            row = known.get(name)
            views.append(AgentView(
                stack_id, name, row[1] if row else None, row[2] if row else None, int(row[3]) if row else 0,
                bool(row[4]) if row else False,
                [b for b in budgets if b.agent_id == name], [c for c in creds if c.agent_id == name]))
        return views

    async def agent(self, org_id: str, stack_id: str, agent_id: str) -> AgentView | None:
        return next((a for a in await self.agents(org_id, stack_id) if a.agent_id == agent_id), None)

    async def apply_history(self, org_id: str, stack_id: str) -> list[ApplyView]:
        rows = await self._fetch(
            "SELECT commit, applied_at, operator, summary, branch, policy_version, remote_url, first_seen_ns, "
            "text_sha256 FROM fleet_applies WHERE org_id = %s AND stack_id = %s ORDER BY applied_at DESC, commit",
            (_org(org_id), stack_id))
        link = (await self._links(_org(org_id), stack_id)).get(stack_id)
        return [ApplyView(stack_id, c, at, op, su, br, pv, _commit_url(link, rem, c), _at(ns), ts)
                for c, at, op, su, br, pv, rem, ns, ts in rows]

    async def config_text(self, org_id: str, stack_id: str, sha256: str) -> ConfigText | None:
        """A governance.fms text the stack applied (its current one or one in its apply
        history); None when the stack never reported a text with that key."""
        rows = await self._fetch(
            "SELECT c.sha256, c.body, c.first_seen_ns FROM fleet_config_texts c WHERE c.org_id = %s "
            "AND c.sha256 = %s AND (EXISTS (SELECT 1 FROM fleet_applies a WHERE a.org_id = c.org_id "
            "AND a.stack_id = %s AND a.text_sha256 = c.sha256) OR EXISTS (SELECT 1 FROM fleet_stacks s "
            "WHERE s.org_id = c.org_id AND s.stack_id = %s AND s.config_text_sha256 = c.sha256))",
            (_org(org_id), sha256, stack_id, stack_id))
        return ConfigText(rows[0][0], rows[0][1], _at(rows[0][2])) if rows else None

    async def providers(self, org_id: str, stack_id: str) -> list[ProviderView]:
        rows = await self._fetch(
            "SELECT name, version, capabilities, health, health_message, last_success_at, identity_verified_at "
            "FROM fleet_providers WHERE org_id = %s AND stack_id = %s ORDER BY name", (_org(org_id), stack_id))
        return [ProviderView(stack_id, n, v, list(c), h, m, ls, iv) for n, v, c, h, m, ls, iv in rows]

    async def budgets_near_ceiling(self, org_id: str, within: float = 0.10) -> list[BudgetView]:
        """Budgets whose spend is within ``within`` (a fraction) of their ceiling, or past it."""
        return [b for b in await self._budgets(org_id, "AND ceiling_usd > 0 AND spent_usd >= ceiling_usd * %s",
                                               (1.0 - within,))]

    async def credentials_expiring(self, org_id: str, now: datetime | None = None,
                                   within: timedelta = timedelta(hours=24)) -> list[CredentialView]:
        """Live credentials (issued or renewed) whose expiry falls between now and now + within."""
        now = now or datetime.now(UTC)
        return await self._credentials(
            org_id, "AND event IN ('issued', 'renewed') AND expires_at > %s AND expires_at <= %s",
            (now, now + within))

    async def budget_burn(self, org_id: str) -> list[StackBurn]:
        """Per registered stack: today's consumption, summed over its agents' daily budgets."""
        names = {s.stack_id: s.name for s in await self._stacks.list_stacks(_org(org_id)) if s.registered}
        rows = await self._fetch(
            "SELECT stack_id, sum(spent_usd), sum(ceiling_usd) FROM fleet_budgets "
            "WHERE org_id = %s AND scope = 'daily' GROUP BY stack_id", (org_id,))
        burns = [StackBurn(s, names[s], float(sp), float(ce)) for s, sp, ce in rows if s in names]
        return sorted(burns, key=lambda b: b.name.lower())

    async def contact(self, org_id: str, stack_id: str, start_ns: int, end_ns: int) -> list[ContactMinute]:
        """The minutes in [start_ns, end_ns) in which Cloud heard from the stack's daemon, oldest first."""
        if not 0 <= start_ns < end_ns:
            raise InvalidQuery(f"the contact range must have 0 <= start < end, got {start_ns}..{end_ns}")
        rows = await self._fetch(
            "SELECT (extract(epoch FROM minute))::bigint, items FROM fleet_contact WHERE org_id = %s "
            "AND stack_id = %s AND minute >= %s AND minute < %s ORDER BY minute",
            (_org(org_id), stack_id, _at(start_ns), _at(end_ns)))
        return [ContactMinute(int(m) * 1_000_000_000, int(n)) for m, n in rows]
