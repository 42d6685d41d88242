"""The parsed governance.fms (as written) and findings about it. Lines are 1-based in the file."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Effect words the daemon knows (FPL.md §7) and what they mean.
EFFECTS: dict[str, str] = {
    "permit": "permit",
    "allow": "permit",
    "approve": "permit",
    "deny": "deny",
    "block": "deny",
    "reject": "deny",
    "deny!": "deny",
    "defer": "defer",
}
CLAUSE_KEYWORDS = frozenset(
    {"when", "notify", "reason", "host", "port", "method", "path", "query", "header", "headers"}
)
NETWORK_CLAUSES = ("host", "port", "method", "path", "query", "header", "headers")
TOP_LEVEL_KEYWORDS = frozenset(
    {"import", "runtime", "provider", "identity", "trust", "agent", "system", "manifest"}
) | frozenset(EFFECTS)
UNIT_SUFFIXES = frozenset({"s", "ms", "m", "h", "d", "w", "b", "kb", "mb", "gb", "tb", "usd", "eur", "gbp"})


@dataclass(frozen=True, slots=True)
class Finding:
    """Something declared in governance.fms that the daemon drops, misreads or rejects."""

    kind: str
    line: int
    message: str


@dataclass(slots=True)
class Rule:
    effect_word: str
    tool: str
    line: int
    condition: str = ""
    notify: str = ""
    reason: str = ""
    network: dict[str, str] = field(default_factory=dict)
    misreads: list[str] = field(default_factory=list)  # why the condition is not what was meant

    @property
    def unconditional(self) -> bool:
        return not self.condition and not self.network


@dataclass(slots=True)
class Budget:
    id: str
    line: int
    max_usd: float = 0.0
    daily_usd: float = 0.0
    max_calls: int = 0
    warn_at: float = 0.0
    on_exceed: str = ""


@dataclass(slots=True)
class Item:
    """An agent sub-block or line kept only as a declaration (phase, credential, egress, ...)."""

    kind: str
    id: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)


@dataclass(slots=True)
class Agent:
    id: str
    line: int
    end_line: int = 0
    default: str = ""
    default_line: int = 0
    model: str = ""
    framework: str = ""
    version: str = ""
    rules: list[Rule] = field(default_factory=list)
    rules_blocks: list[tuple[int, int]] = field(default_factory=list)  # (open line, close line)
    budgets: list[Budget] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)


@dataclass(slots=True)
class Import:
    ref: str
    line: int
    alias: str = ""


@dataclass(slots=True)
class FieldBlock:
    """runtime / provider / identity: flat `key [=] value` fields (env("X") kept as `env(X)`)."""

    kind: str
    name: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class System:
    id: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Document:
    imports: list[Import] = field(default_factory=list)
    runtime: FieldBlock | None = None
    providers: list[FieldBlock] = field(default_factory=list)
    identities: list[FieldBlock] = field(default_factory=list)
    trust: list[tuple[int, str]] = field(default_factory=list)  # (line, raw text)
    trust_line: int = 0
    agents: list[Agent] = field(default_factory=list)
    systems: list[System] = field(default_factory=list)
    flat_rules: list[Rule] = field(default_factory=list)
    manifests: list[tuple[int, str]] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)  # parse errors (the daemon rejects the file)
    end_line: int = 0
