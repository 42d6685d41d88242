"""What the daemon enforces from an applied governance.fms (FPL.md §1 steps 4-7), and what it
drops, misreads or rejects on the way, as findings with the line in the applied file.

`materialize(text, packs=None) -> EnforcedPolicy` is pure. Imports of registry packs are merged
per §4 from `packs` (`"<kind>/<name>@<version>"` -> pack text, e.g. read from the registry by the
caller) or else from the pinned catalogue in `packs.PACKS`; an import found in neither is an
`import_unresolved` finding (its effect on the primary agent cannot be known).

The primary agent's rules and the flat rules are written out the way the daemon's emitter does
(`governance/emit.go`: the tool id is written *unquoted*) and parsed again, so a quoted tool id
outside the identifier set shows up as it really loads (`tool_mangled`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .lexer import is_bare_ident
from .model import EFFECTS, Agent, Document, FieldBlock, Finding, Import, Item, Rule
from .packs import PACKS
from .parser import parse
from .pathmatch import covers, match_tool

_REGISTRY_PREFIX = "faramesh/faramesh-registry/"
_KINDS = ("policies", "frameworks", "providers")


@dataclass(frozen=True, slots=True)
class EnforcedRule:
    rule_id: str  # fpl-<n>, as the daemon numbers it (§9)
    effect: str  # permit | deny | defer (or the unknown word as written)
    effect_word: str  # as written: deny!, allow, block, ...
    tool: str
    line: int  # line in the applied file (for a pack's rule: the import line)
    condition: str = ""
    notify: str = ""
    reason: str = ""
    network: tuple[tuple[str, str], ...] = ()
    source: str = ""  # "" = the applied file, else the import ref it came from
    flat: bool = False  # a top-level rule (not the agent's)

    @property
    def strict(self) -> bool:
        return self.effect_word == "deny!"

    @property
    def unconditional(self) -> bool:
        return not self.condition and not self.network

    def matches(self, tool_id: str) -> bool:
        return match_tool(self.tool, tool_id)


@dataclass(frozen=True, slots=True)
class EnforcedBudget:
    session_usd: float
    daily_usd: float
    warn_at: float
    on_exceed: str
    line: int
    declared_id: str


@dataclass(frozen=True, slots=True)
class DeclaredAgent:
    id: str
    line: int
    source: str = ""  # "" = the applied file, else the import ref


@dataclass(frozen=True, slots=True)
class EnforcedPolicy:
    primary_agent: str  # "" when the file has only flat rules (or nothing loadable)
    primary_source: str  # "" = the applied file, else the import ref that supplied it
    primary_line: int
    agents: tuple[DeclaredAgent, ...]
    default_effect: str
    default_line: int
    rules: tuple[EnforcedRule, ...]
    budget: EnforcedBudget | None
    runtime: Mapping[str, str]
    runtime_line: int
    runtime_source: str
    providers: tuple[FieldBlock, ...]
    imports: tuple[Import, ...]
    trust_lines: tuple[tuple[int, str], ...]
    credentials: tuple[Item, ...]
    findings: tuple[Finding, ...]
    loads: bool  # False: the daemon would refuse this file (check, compile or load error)
    rules_blocks: tuple[tuple[int, int], ...] = ()  # primary agent's rules { } (open, close) lines
    agent_end_line: int = 0
    file_end_line: int = 0
    document: Document | None = field(default=None, compare=False, repr=False)

    def rule(self, rule_id: str) -> EnforcedRule | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)

    def first_match(self, tool_id: str) -> EnforcedRule | None:
        """The first rule whose tool pattern matches (its condition may still not hold)."""
        return next((r for r in self.rules if r.matches(tool_id)), None)

    def findings_of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]


# Finding kinds that make the daemon refuse the policy (check, compile or load fails).
FATAL_KINDS = frozenset(
    {"parse_error", "no_policy", "strict_conflict", "import_invalid", "import_unparseable",
     "credential_breaks", "budget_extra", "system_rejected", "load_fails"}
)


def split_ref(ref: str) -> tuple[str, str, str] | None:
    """(kind, name, version) of an import ref (FPL.md §4), or None if it is not one."""
    path = ref
    first, _, rest = path.partition("/")
    if "." in first and rest:
        path = rest
    path = path.removeprefix(_REGISTRY_PREFIX)
    kind, _, tail = path.partition("/")
    if kind not in _KINDS or "@" not in tail:
        return None
    name, _, version = tail.rpartition("@")
    if not name or not version or version.lower() == "latest":
        return None
    return kind, name, version


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _emit_rule(rule: Rule) -> str:
    """One rule as emit.go `emitFlatRule` writes it (tool unquoted)."""
    out = f"{rule.effect_word} {rule.tool}"
    if rule.condition:
        out += f" when {rule.condition}"
    if rule.notify:
        out += f" notify: {_go_quote(rule.notify)}"
    if rule.reason:
        out += f" reason: {_go_quote(rule.reason)}"
    return out


@dataclass(slots=True)
class _Src:
    rule: Rule
    line: int  # line in the applied file
    source: str
    flat: bool


def materialize(text: str, packs: Mapping[str, str] | None = None) -> EnforcedPolicy:
    """The policy the daemon enforces from governance.fms `text`, with findings (never raises)."""
    doc = parse(text)
    findings: list[Finding] = list(doc.errors)

    if not doc.agents and not doc.flat_rules:
        findings.append(Finding("no_policy", 1, "no agent and no rules: `faramesh check` fails"))
    for ag in doc.agents:
        _check_strict_conflicts(ag, findings)

    # ── imports (§4): agents added if new, flat rules appended, runtime if the file has none ──
    agents: dict[str, tuple[Agent, str, int]] = {}
    for ag in doc.agents:
        if ag.id in agents:
            prev = agents[ag.id][0]
            findings.append(Finding(
                "agent_dropped", prev.line,
                f"agent {ag.id!r} is declared again on line {ag.line}; the later block replaces this one",
            ))
        agents[ag.id] = (ag, "", ag.line)
    flat: list[_Src] = [_Src(r, r.line, "", True) for r in doc.flat_rules]
    runtime, runtime_line, runtime_source = doc.runtime, doc.runtime.line if doc.runtime else 0, ""
    providers = list(doc.providers)
    pack_agents: list[tuple[Agent, str, int]] = []
    for imp in doc.imports:
        parts = split_ref(imp.ref)
        if parts is None:
            findings.append(Finding("import_invalid", imp.line, f"import {imp.ref!r} is not a pinned registry reference"))
            continue
        kind, name, version = parts
        if kind == "providers":
            continue
        key = f"{kind}/{name}@{version}"
        pack_text = (packs or {}).get(key, PACKS.get(key))
        if pack_text is None:
            findings.append(Finding(
                "import_unresolved", imp.line,
                f"{key} is not in the known catalogue: if it brings an agent whose name sorts "
                "first, that agent replaces the primary agent",
            ))
            continue
        pdoc = parse(pack_text)
        if pdoc.errors:
            err = pdoc.errors[0]
            findings.append(Finding(
                "import_unparseable", imp.line,
                f"{key} does not parse with the daemon's FPL parser (pack line {err.line}: {err.message}); compile fails",
            ))
            continue
        for pag in pdoc.agents:
            if pag.id in agents:
                findings.append(Finding(
                    "agent_dropped", imp.line,
                    f"{key} brings agent {pag.id!r}, which the file already declares; the pack's block is ignored",
                ))
                continue
            agents[pag.id] = (pag, key, imp.line)
            pack_agents.append((pag, key, imp.line))
        flat.extend(_Src(r, imp.line, key, True) for r in pdoc.flat_rules)
        if runtime is None and pdoc.runtime is not None:
            runtime, runtime_line, runtime_source = pdoc.runtime, imp.line, key

    # ── step 6: only the primary agent (first by sorted name) is materialised ──
    primary: Agent | None = None
    primary_source, primary_line = "", 0
    if agents:
        pid = sorted(agents)[0]
        primary, primary_source, primary_line = agents[pid]
        for aid, (_ag, src, line) in sorted(agents.items()):
            if aid == pid:
                continue
            if src:
                msg = f"{src} brings agent {aid!r}; only {pid!r} (first by name) is enforced, so its rules never apply"
            elif primary_source:
                msg = (f"agent {aid!r} is replaced by agent {pid!r} from {primary_source}, which sorts first; "
                       f"the daemon enforces that pack's rules for every agent")
            else:
                msg = (f"agent {aid!r} is not enforced: only {pid!r} (first by name) reaches the daemon, "
                       f"and {aid!r}'s calls are evaluated against {pid!r}'s rules")
            findings.append(Finding("agent_dropped", line, msg))
        if primary_source:
            own = sorted(a.id for a in doc.agents)
            rules_words = ", ".join(_emit_rule(r) for r in primary.rules) or "no rules"
            findings.append(Finding(
                "pack_replaces_primary", primary_line,
                f"{primary_source} brings agent {pid!r}, which sorts before "
                f"{', '.join(repr(a) for a in own) or 'any agent of the file'}: the daemon enforces "
                f"the pack's agent ({rules_words}; default {primary.default or 'deny'}) instead",
            ))

    # ── the primary agent's declarations the daemon drops (§6 table, §8) ──
    budget: EnforcedBudget | None = None
    credentials: tuple[Item, ...] = ()
    src_rules: list[_Src] = []
    if primary is not None:
        at = (lambda line: primary_line) if primary_source else (lambda line: line)
        src_rules = [_Src(r, at(r.line), primary_source, False) for r in primary.rules]
        _agent_drops(primary, at, findings)
        credentials = tuple(i for i in primary.items if i.kind == "credential")
        if primary.budgets:
            b = primary.budgets[0]
            budget = EnforcedBudget(b.max_usd, b.daily_usd, b.warn_at, b.on_exceed, at(b.line), b.id)
        if not is_bare_ident(primary.id) and not any(c in primary.id for c in " \t/-"):
            findings.append(Finding(
                "load_fails", primary_line,
                f"agent id {primary.id!r} is written unquoted into governance.policy.fpl and does not parse there",
            ))
    _system_checks(doc, findings)
    for line, raw in doc.trust:
        if raw.startswith("key "):
            findings.append(Finding(
                "trust_key_inert", line,
                "trust `key` lines parse but nothing reads them: registry keys are not pinned by governance.fms",
            ))

    # ── emit + re-parse (what governance.policy.fpl really holds), number fpl-<n> (§9) ──
    rules = _emit_and_number(src_rules + flat, findings)
    for r in rules:
        if r.effect_word not in EFFECTS:
            findings.append(Finding(
                "unknown_effect", r.line,
                f"effect {r.effect_word!r} is not an effect; neither the parser nor the loader rejects it",
            ))
    _shadowing(rules, findings)

    loads = not any(f.kind in FATAL_KINDS for f in findings)
    return EnforcedPolicy(
        primary_agent=primary.id if primary else "",
        primary_source=primary_source,
        primary_line=primary_line,
        agents=tuple(DeclaredAgent(a.id, line, src) for a, src, line in
                     [(ag, "", ag.line) for ag in doc.agents] + pack_agents),
        default_effect=(primary.default if primary and primary.default else "deny"),
        default_line=(primary_line if primary_source else primary.default_line) if primary else 0,
        rules=tuple(rules),
        budget=budget,
        runtime=dict(runtime.fields) if runtime else {},
        runtime_line=runtime_line,
        runtime_source=runtime_source,
        providers=tuple(providers),
        imports=tuple(doc.imports),
        trust_lines=tuple(doc.trust),
        credentials=credentials,
        findings=tuple(sorted(findings, key=lambda f: (f.line, f.kind))),
        loads=loads,
        rules_blocks=tuple(primary.rules_blocks) if primary and not primary_source else (),
        agent_end_line=primary.end_line if primary and not primary_source else 0,
        file_end_line=doc.end_line,
        document=doc,
    )


def _check_strict_conflicts(ag: Agent, findings: list[Finding]) -> None:
    strict = {r.tool: r.line for r in ag.rules if r.effect_word == "deny!"}
    for r in ag.rules:
        if EFFECTS.get(r.effect_word) == "permit" and r.tool in strict:
            findings.append(Finding(
                "strict_conflict", r.line,
                f"`deny! {r.tool}` (line {strict[r.tool]}) and a permit of the same tool in agent "
                f"{ag.id!r}: `faramesh check` fails",
            ))


def _agent_drops(ag: Agent, at: object, findings: list[Finding]) -> None:
    line_of = at if callable(at) else (lambda line: line)
    for item in ag.items:
        line = line_of(item.line)
        if item.kind == "phase":
            findings.append(Finding(
                "phase_dropped", line,
                f"phase {item.id!r} ({len(item.rules)} rules) is dropped when governance.fms is materialised",
            ))
        elif item.kind in ("delegate", "ambient", "selector"):
            findings.append(Finding(
                f"{item.kind}_dropped", line,
                f"{item.kind} {item.id!r} is dropped when governance.fms is materialised".replace(" ''", ""),
            ))
        elif item.kind == "credential":
            findings.append(Finding(
                "credential_breaks", line,
                f"credential {item.id!r} is emitted as `backend = X` without `scope`, which the daemon "
                "rejects at load: the policy does not load (use a provider block)",
            ))
        elif item.kind == "var":
            findings.append(Finding(
                "var_dropped", line, f"var {item.id!r} is dropped: `vars.{item.id}` is empty in conditions",
            ))
    for i, b in enumerate(ag.budgets):
        line = line_of(b.line)
        if i == 1:
            findings.append(Finding(
                "budget_extra", line, "a second budget block: the daemon refuses to load more than one",
            ))
        if b.max_calls:
            findings.append(Finding(
                "max_calls_dropped", line, f"max_calls {b.max_calls} is dropped when governance.fms is materialised",
            ))
        if ("day" in b.id.lower() or "dai" in b.id.lower()) and b.max_usd and not b.daily_usd:
            findings.append(Finding(
                "budget_scope_ignored", line,
                f"budget {b.id!r}: the block id is ignored, so `max ${b.max_usd:g}` is a per-session "
                "limit; write `daily $N` for a daily one",
            ))


def _system_checks(doc: Document, findings: list[Finding]) -> None:
    for i, s in enumerate(doc.systems):
        if i == 1:
            findings.append(Finding("system_rejected", s.line, "a second system block: the daemon loads only one"))
        if s.fields.get("kill_switch_default"):
            findings.append(Finding("system_rejected", s.line, "kill_switch_default is rejected by the daemon"))
        olf = s.fields.get("on_policy_load_failure", "")
        if olf and olf not in ("deny_all", "deny"):
            findings.append(Finding(
                "system_rejected", s.line, f"on_policy_load_failure {olf!r} is rejected (only deny_all/deny)",
            ))


def _emit_and_number(srcs: list[_Src], findings: list[Finding]) -> list[EnforcedRule]:
    """Agent rules then flat rules, written as the emitter does, parsed again, numbered."""
    agent_srcs = [s for s in srcs if not s.flat]
    flat_srcs = [s for s in srcs if s.flat]
    body = "\n".join(_emit_rule(s.rule) for s in agent_srcs)
    emitted = parse("agent _ {\nrules {\n" + body + "\n}\n}\n" + "\n".join(_emit_rule(s.rule) for s in flat_srcs) + "\n")
    by_line: dict[int, _Src] = {}
    for i, s in enumerate(agent_srcs):
        by_line[3 + i] = s
    base = 5 + max(len(agent_srcs), 1)  # the agent block's lines, then its two closing braces
    for i, s in enumerate(flat_srcs):
        by_line[base + i] = s
    for err in emitted.errors:
        src = by_line.get(err.line)
        findings.append(Finding(
            "load_fails", src.line if src else 1,
            f"the materialised policy does not parse ({err.message})"
            + (f": tool {src.rule.tool!r} is written unquoted" if src else ""),
        ))
    out: list[EnforcedRule] = []
    parsed = [(r, False) for r in (emitted.agents[0].rules if emitted.agents else [])]
    parsed += [(r, True) for r in emitted.flat_rules]
    seen_mangled: set[int] = set()
    for rule, _is_flat in parsed:
        src = by_line.get(rule.line)
        if src is None:
            continue
        if (rule.tool != src.rule.tool or rule.effect_word != src.rule.effect_word) and id(src) not in seen_mangled:
            seen_mangled.add(id(src))
            findings.append(Finding(
                "tool_mangled", src.line,
                f"tool {src.rule.tool!r} is written unquoted into governance.policy.fpl, where it reads as "
                f"`{rule.effect_word} {rule.tool}`: the rule does not match {src.rule.tool!r}",
            ))
        if src.rule.network and id(src) not in seen_mangled:
            seen_mangled.add(id(src))
            findings.append(Finding(
                "clause_dropped", src.line,
                f"{_emit_rule(src.rule)}: its {', '.join(sorted(src.rule.network))} clause is not written "
                "into governance.policy.fpl (emit.go), so the rule applies to every call of the tool",
            ))
        for why in src.rule.misreads:
            findings.append(Finding("condition_misread", src.line, f"{_emit_rule(src.rule)}: {why}"))
        src.rule.misreads = []
        out.append(EnforcedRule(
            rule_id=f"fpl-{len(out)}",
            effect=EFFECTS.get(rule.effect_word, rule.effect_word),
            effect_word=rule.effect_word,
            tool=rule.tool,
            line=src.line,
            condition=rule.condition,
            notify=rule.notify,
            reason=rule.reason,
            network=tuple(sorted(rule.network.items())),
            source=src.source,
            flat=src.flat,
        ))
    for s in srcs:  # a rule whose misread we have not reported (its emitted line vanished)
        for why in s.rule.misreads:
            findings.append(Finding("condition_misread", s.line, f"{_emit_rule(s.rule)}: {why}"))
    if any("$" in r.condition.split() for r in out):
        findings.append(Finding("load_fails", next(r.line for r in out if "$" in r.condition.split()),
                                "a condition contains `$`: the daemon fails to load the policy"))
    return out


def _shadowing(rules: list[EnforcedRule], findings: list[Finding]) -> None:
    for j, later in enumerate(rules):
        for earlier in rules[:j]:
            if earlier.unconditional and covers(earlier.tool, later.tool):
                findings.append(Finding(
                    "rule_shadowed", later.line,
                    f"{later.rule_id} `{later.effect_word} {later.tool}` never applies: {earlier.rule_id} "
                    f"`{earlier.effect_word} {earlier.tool}` (line {earlier.line}) matches every call to it first",
                ))
                break
