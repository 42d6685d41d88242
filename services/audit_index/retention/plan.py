"""What a sweep would remove (pure): the organisation's month partitions, its policies and
holds, and the time in; a decision per month out. The sweep and the dry run share it.

A partition holds one (organisation, month) of every stack. It is due when, for every stack
with records in it, the month ended at least that stack's retention ago (the stack's own
setting, else the organisation's; no setting: kept), and no stack in it is on legal hold.
Months go oldest first and stop at the first one kept, so "records created before the horizon
were removed" stays true (a chain's checkpoint is then its last removed record)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def month_start(month: int) -> datetime:
    """``YYYYMM`` to the first instant of that month (UTC)."""
    return datetime(month // 100, month % 100, 1, tzinfo=UTC)


def next_month(month: int) -> int:
    year, m = divmod(month, 100)
    return year * 100 + m + 1 if m < 12 else (year + 1) * 100 + 1


def to_ns(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


@dataclass(frozen=True, slots=True)
class Partition:
    """One (organisation, month): the stacks with records in it and how many (DPRs, summaries)."""

    month: int
    stacks: frozenset[str]
    records: int = 0
    summaries: int = 0


@dataclass(frozen=True, slots=True)
class Policies:
    org_days: int | None = None
    stack_days: Mapping[str, int] = field(default_factory=dict)
    holds: Mapping[str, str] = field(default_factory=dict)  # stack -> reason
    # The longest minimum of the declared frameworks: a setting made before a framework was
    # declared never removes records younger than it.
    floor_days: int = 0

    def days(self, stack: str) -> int | None:
        days = self.stack_days.get(stack, self.org_days)
        return None if days is None else max(days, self.floor_days)


@dataclass(frozen=True, slots=True)
class Decision:
    partition: Partition
    drop: bool
    why: str
    due_at: datetime | None  # when it is (or was) due; None: never under these policies

    @property
    def month(self) -> int:
        return self.partition.month


@dataclass(frozen=True, slots=True)
class Plan:
    decisions: list[Decision]
    horizon_ns: int  # records created before this go (0: nothing goes)

    @property
    def dropped(self) -> list[Decision]:
        return [d for d in self.decisions if d.drop]

    @property
    def kept(self) -> list[Decision]:
        return [d for d in self.decisions if not d.drop]

    @property
    def next(self) -> Decision | None:
        """The kept month that comes due first (None: nothing will under these policies)."""
        coming = [d for d in self.kept if d.due_at is not None]
        return min(coming, key=lambda d: (d.due_at, d.month), default=None)


def _judge(p: Partition, policies: Policies, now: datetime) -> tuple[bool, str, datetime | None]:
    end = month_start(next_month(p.month))
    held = sorted(s for s in p.stacks if s in policies.holds)
    due_at: datetime | None = end
    keeper = ""
    for stack in sorted(p.stacks):
        days = policies.days(stack)
        if days is None:
            return False, f"kept: no retention is set for stack {stack}", None
        at = end + timedelta(days=days)
        if due_at is None or at > due_at:
            due_at, keeper = at, f"stack {stack} keeps {days} days"
    if held:
        return False, f"kept: legal hold on stack {held[0]} ({policies.holds[held[0]]})", due_at
    if due_at is not None and due_at > now:
        return False, f"kept until {due_at.date().isoformat()}: {keeper or 'within retention'}", due_at
    return True, f"due since {due_at.date().isoformat() if due_at else ''}: {keeper}", due_at


def plan(partitions: Sequence[Partition], policies: Policies, now: datetime) -> Plan:
    decisions: list[Decision] = []
    horizon = 0
    blocked = ""
    for p in sorted(partitions, key=lambda x: x.month):
        drop, why, due_at = _judge(p, policies, now)
        if drop and blocked:
            drop, why = False, f"kept: an older month is kept ({blocked}); months go oldest first"
        elif not drop and not blocked:
            blocked = f"{p.month // 100}-{p.month % 100:02d}"
        if drop:
            horizon = to_ns(month_start(next_month(p.month)))
        decisions.append(Decision(p, drop, why, due_at))
    return Plan(decisions, horizon)
