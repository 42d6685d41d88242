"""The policy-rule catalogue: what a framework control can require of the *enforced* policy
(`fpl.materialize`), each with words a person reads and a pure check. `POLICY_RULES` by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from faramesh_cloud.fpl import EnforcedPolicy
from faramesh_cloud.fpl.materialize import FATAL_KINDS


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    holds: bool
    detail: str
    lines: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    name: str
    words: str
    check: Callable[[EnforcedPolicy], PolicyCheck]


def _loads(p: EnforcedPolicy) -> PolicyCheck | None:
    if p.loads:
        return None
    bad = [f for f in p.findings if f.kind in FATAL_KINDS]
    return PolicyCheck(False, "the daemon would not load this policy", sorted({f.line for f in bad}))


def _default_deny(p: EnforcedPolicy) -> PolicyCheck:
    lines = [p.default_line] if p.default_line else []
    if (fail := _loads(p)) is not None:
        return fail
    if p.default_effect == "deny":
        return PolicyCheck(True, "calls no rule matches are denied (default deny)", lines)
    return PolicyCheck(False, f"calls no rule matches get the default {p.default_effect!r}", lines)


def _any_rule(pred: Callable[..., bool], yes: str, no: str) -> Callable[[EnforcedPolicy], PolicyCheck]:
    def check(p: EnforcedPolicy) -> PolicyCheck:
        if (fail := _loads(p)) is not None:
            return fail
        hits = [r for r in p.rules if pred(r)]
        if hits:
            tools = ", ".join(f"{r.rule_id} {r.effect_word} {r.tool}" for r in hits)
            return PolicyCheck(True, f"{yes}: {tools}", sorted({r.line for r in hits}))
        return PolicyCheck(False, no, [])
    return check


def _budgets(p: EnforcedPolicy) -> PolicyCheck:
    if (fail := _loads(p)) is not None:
        return fail
    b = p.budget
    if b and (b.session_usd or b.daily_usd):
        return PolicyCheck(
            True, f"budget: ${b.session_usd:g} per session, ${b.daily_usd:g} per day, "
            f"on exceed {b.on_exceed or 'deny'}", [b.line],
        )
    return PolicyCheck(False, "no spending budget reaches the daemon", [b.line] if b else [])


def _credential_broker(p: EnforcedPolicy) -> PolicyCheck:
    broken = p.findings_of("credential_breaks")
    if broken:
        return PolicyCheck(False, "a credential block breaks the policy", [f.line for f in broken])
    prov = [b for b in p.providers]
    imports = [i for i in p.imports if "/providers/" in f"/{i.ref}" or i.ref.startswith("providers/")]
    if prov or imports:
        names = ", ".join([b.name for b in prov] + [i.ref for i in imports])
        return PolicyCheck(True, f"credentials come from a provider: {names}",
                           sorted({b.line for b in prov} | {i.line for i in imports}))
    return PolicyCheck(False, "no credential provider is declared", [])


def _retention(p: EnforcedPolicy) -> PolicyCheck:
    rt = p.runtime
    lines = [p.runtime_line] if p.runtime_line else []
    if rt.get("wal_dir") and rt.get("backend") in ("sqlite", "postgres"):
        return PolicyCheck(
            True, f"DPRs are kept: WAL in {rt['wal_dir']!r}, store {rt['backend']!r} "
            "(the daemon has no wal_retention setting; retention is the store's)", lines,
        )
    return PolicyCheck(False, "runtime sets no WAL directory with a durable DPR store", lines)


def _cloud_sync(p: EnforcedPolicy) -> PolicyCheck:
    keys = [k for k in p.runtime if k.startswith("cloud")]
    lines = [p.runtime_line] if p.runtime_line else []
    if keys:
        return PolicyCheck(True, f"runtime declares {', '.join(keys)} (the daemon does not read these "
                           "keys yet: declared, not enforced)", lines)
    return PolicyCheck(False, "the runtime block declares no Cloud sync", lines)


def _trust_keys(p: EnforcedPolicy) -> PolicyCheck:
    keys = [line for line, raw in p.trust_lines if raw.startswith("key ")]
    return PolicyCheck(False, "governance.fms cannot pin registry keys: the daemon reads no trust "
                       "`key` line (FPL.md §5)" + (" (declared, inert)" if keys else ""), keys)


def _no_permit_all(p: EnforcedPolicy) -> PolicyCheck:
    if (fail := _loads(p)) is not None:
        return fail
    bad = [r for r in p.rules if r.effect == "permit" and r.unconditional and r.tool in ("*", "")]
    if bad:
        where = ", ".join(f"{r.rule_id} (line {r.line}{', from ' + r.source if r.source else ''})" for r in bad)
        return PolicyCheck(False, f"an unconditional `permit *` is enforced: {where}", [r.line for r in bad])
    return PolicyCheck(True, "no unconditional `permit *` is enforced", [])


def _no_dropped(p: EnforcedPolicy) -> PolicyCheck:
    if p.findings:
        kinds = sorted({f.kind for f in p.findings})
        return PolicyCheck(False, f"{len(p.findings)} declared-but-not-enforced findings: {', '.join(kinds)}",
                           sorted({f.line for f in p.findings}))
    return PolicyCheck(True, "everything declared reaches the daemon", [])


_RULES = [
    PolicyRule("default_deny", "Calls that match no rule are denied.", _default_deny),
    PolicyRule("defer_rules_present", "Some rule defers a call to a human approver.",
               _any_rule(lambda r: r.effect == "defer", "defer rules", "no rule defers to a human")),
    PolicyRule("strict_deny_present", "Some tool is denied unconditionally with deny!.",
               _any_rule(lambda r: r.strict, "strict denies", "no deny! rule")),
    PolicyRule("budgets_declared", "A spending budget limits the agent.", _budgets),
    PolicyRule("credential_broker", "Credentials come from a broker/provider, not the agent.",
               _credential_broker),
    PolicyRule("audit_retention_declared", "The runtime keeps decision records durably.", _retention),
    PolicyRule("cloud_sync_declared", "The runtime block declares sync to Faramesh Cloud.", _cloud_sync),
    PolicyRule("trust_keys_pinned", "The trust block pins registry signing keys.", _trust_keys),
    PolicyRule("no_permit_all", "No unconditional `permit *` is enforced.", _no_permit_all),
    PolicyRule("no_dropped_declarations", "Everything governance.fms declares is enforced.", _no_dropped),
]

POLICY_RULES: dict[str, PolicyRule] = {r.name: r for r in _RULES}
