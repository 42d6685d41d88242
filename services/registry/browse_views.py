"""What the Registry section shows, as plain values (pure): artifact rows and details, a
version's strict verification, an FPL body's rule preview, a schema as a checklist, import
snippets, trust keys and a stack's imports. The gateway reads these by attribute."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from faramesh_cloud.fpl.materialize import split_ref
from faramesh_cloud.fpl.parser import parse
from faramesh_cloud.registry.strict import Verification

REGISTRY_HOST: Final = "github.com/faramesh/faramesh-registry"
PLURAL: Final = {"provider": "providers", "policy": "policies", "framework": "frameworks"}
SINGULAR: Final = {v: k for k, v in PLURAL.items()}


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One row of a config or parameter schema, as a form shows it."""

    name: str
    type: str
    required: bool
    default: str  # "" when none (a JSON rendering otherwise)
    description: str


@dataclass(frozen=True, slots=True)
class RuleLine:
    line: int
    agent: str  # "" for a top-level rule
    effect: str  # permit | deny | defer (the word as written in `effect_word`)
    tool: str
    condition: str


@dataclass(frozen=True, slots=True)
class RulePreview:
    """An FPL body summarised: rule counts per effect, every rule, or why it does not parse."""

    lines: Sequence[str]
    rules: Sequence[RuleLine]
    counts: Mapping[str, int]
    parses: bool
    error_line: int = 0
    error_message: str = ""


@dataclass(frozen=True, slots=True)
class Platform:
    platform: str
    sha256: str
    size: int
    hosted: bool  # false: Cloud has the signature, not the bytes (signature-only)


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: str
    state: str  # published | yanked
    published_at: datetime | None
    source: str
    changelog: str
    key_id: str
    downloads: int
    yanked_at: datetime | None = None
    yank_reason: str = ""


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    kind: str
    name: str
    namespace: str
    description: str
    category: str
    domains: Sequence[str]
    trust_tier: str
    capabilities: Sequence[str]
    latest_version: str
    downloads: int
    platforms: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ArtifactDetail:
    """One artifact at one version (the latest published unless asked), with its history."""

    artifact: ArtifactRow
    version: VersionRow
    versions: Sequence[VersionRow]
    verification: Verification
    import_line: str
    readme: str = ""
    schema: Sequence[SchemaField] = ()  # providers: config_schema; packs: parameter/config schema
    platforms: Sequence[Platform] = ()
    preview: RulePreview | None = None  # policies and framework profiles
    meta: Mapping[str, Any] = field(default_factory=dict)
    faramesh_version: str = ""
    dev_only: bool = False


@dataclass(frozen=True, slots=True)
class KeyView:
    key_id: str
    algorithm: str
    public_key_b64: str
    owner: str
    origin: str
    created_at: datetime | None
    retired_at: datetime | None
    trust_snippet: str  # the `trust { key … }` block for governance.fms ("" for the official key)


@dataclass(frozen=True, slots=True)
class ImportCheck:
    """One import line of a stack's applied governance.fms, judged by this registry."""

    line: int
    ref: str
    kind: str
    name: str
    version: str
    status: str  # verified | unverified | not-in-registry | yanked | not-a-registry-import
    reason: str
    key_id: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Any]
    total: int
    next_cursor: str | None


def import_line(kind: str, name: str, version: str) -> str:
    return f'import "{REGISTRY_HOST}/{PLURAL[kind]}/{name}@{version}"'


def trust_snippet(key_id: str, public_key_b64: str) -> str:
    return f'trust {{\n  key "{key_id}" ed25519:{public_key_b64}\n}}'


def _default(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value)


def schema_fields(schema: Mapping[str, Any] | None) -> list[SchemaField]:
    """A config/parameter schema (``{name: {type, required, default, description}}``) as rows.
    A parameter is required when the schema says so, or when it declares neither ``required``
    nor a default (nothing would fill it)."""
    rows = []
    for name in sorted(schema or {}):
        spec = (schema or {})[name]
        spec = spec if isinstance(spec, Mapping) else {"type": str(spec)}
        required = bool(spec["required"]) if "required" in spec else "default" not in spec
        rows.append(SchemaField(name, str(spec.get("type", "")), required, _default(spec.get("default")),
                                str(spec.get("description", ""))))
    return rows


def rule_preview(text: str) -> RulePreview:
    """The FPL body with its rules as the daemon's parser reads them (or its first error)."""
    doc = parse(text)
    lines = text.splitlines()
    if doc.errors:
        first = doc.errors[0]
        return RulePreview(lines, (), {}, False, first.line, first.message)
    rules = [RuleLine(r.line, a.id, r.effect_word, r.tool, r.condition) for a in doc.agents for r in a.rules]
    rules += [RuleLine(r.line, "", r.effect_word, r.tool, r.condition) for r in doc.flat_rules]
    rules.sort(key=lambda r: r.line)
    counts = {"permit": 0, "deny": 0, "defer": 0}
    for r in rules:
        word = r.effect.rstrip("!").lower()
        counts[word] = counts.get(word, 0) + 1
    return RulePreview(lines, rules, counts, True)


def registry_imports(text: str) -> list[tuple[int, str, tuple[str, str, str] | None]]:
    """(line, ref, (plural kind, name, version) or None) of each import of a governance.fms."""
    return [(i.line, i.ref, split_ref(i.ref)) for i in parse(text).imports]
