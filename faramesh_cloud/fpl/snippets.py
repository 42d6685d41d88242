"""Config Assistant: a block type and its form fields → governance.fms text (FPL.md).

`generate(block, fields) -> Snippet` validates every field (`SnippetError` names the first bad
one) and writes the block so that the daemon's parser reads back exactly the values entered;
the text is parsed again with `strict.parse_strict` before it is returned. `runtime_block` is
the one writer of the `runtime { }` block with the Cloud keys (Settings → Stacks uses it too).

Webhooks are the exception: the daemon reads them only from a YAML policy document
(`policy.Doc.Webhooks`, `faramesh serve --policy policy.yaml`); governance.fms has no webhooks
block (`webhooks { }` there is `unexpected keyword`). That form writes the YAML `webhooks:`
stanza and says so. Cloud never pushes any of it: the operator commits it and runs
`faramesh apply`. Pure: values in, text out.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from . import snippet_fields as f
from .lexer import is_bare_ident
from .snippet_fields import AMOUNT, ENV_NAME, IDENT_NAME, FieldSpec, SnippetError
from .strict import DaemonParseError, parse_strict

REGISTRY = "github.com/faramesh/faramesh-registry"
CLOUD_KEY_ENV = "FARAMESH_CLOUD_API_KEY"
WEBHOOK_EVENTS = ("permit", "deny", "defer")  # the only types the daemon sends (FORMATS §2.4)
_AGENT_ID = r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}"
_TOOL = r"[A-Za-z_*\/][A-Za-z0-9_*\/\[\].\-@%^+&\|!,]{0,199}"
_URL = r"https:\/\/[A-Za-z0-9.\-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%!$&\(\)*+,;=:@\/\-]*)?"
_HOOK_URL = r"https?:\/\/[A-Za-z0-9.\-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%!$&\(\)*+,;=:@\/\-]*)?(\?[A-Za-z0-9._~%!$&\(\)*+,;=:@\/\-?]*)?"
_KEYWORDS = frozenset({"when", "notify", "reason", "host", "port", "method", "path", "query", "header",
                       "headers", "import", "runtime", "provider", "identity", "trust", "agent", "system",
                       "manifest", "permit", "allow", "approve", "deny", "deny!", "block", "reject", "defer"})


@dataclass(frozen=True, slots=True)
class BlockSpec:
    key: str
    title: str
    fields: tuple[FieldSpec, ...]
    where: str  # where the text goes
    notes: tuple[str, ...] = ()
    language: str = "fpl"


@dataclass(frozen=True, slots=True)
class Snippet:
    block: str
    text: str
    language: str  # "fpl" (governance.fms) or "yaml" (a YAML policy document)
    where: str
    values: Mapping[str, str | list[str]]
    warnings: tuple[str, ...] = ()  # about these values (the block's notes are in BLOCKS)


def _settings(n: int) -> tuple[FieldSpec, ...]:
    return tuple(s for i in range(1, n + 1) for s in (
        FieldSpec(f"setting{i}_key", f"Setting {i} name", max_len=64, pattern=IDENT_NAME,
                  help="a setting name: letters, digits and _, not starting with a digit"),
        FieldSpec(f"setting{i}_value", f"Setting {i} value", max_len=300),
        FieldSpec(f"setting{i}_env", f"Setting {i} is read from the environment", choices=("", "on"),
                  input_type="checkbox"),
    ))


BLOCKS: dict[str, BlockSpec] = {b.key: b for b in (
    BlockSpec("runtime", "Runtime (with the Cloud keys)", (
        FieldSpec("cloud_url", "Cloud sync URL", required=True, max_len=300, pattern=_URL, input_type="url",
                  help="an https:// address (the sync channel is TLS only)"),
        FieldSpec("api_key_env", "Environment variable holding the stack API key", required=True, max_len=100,
                  pattern=ENV_NAME, default=CLOUD_KEY_ENV,
                  help="an environment variable name: letters, digits and _"),
        FieldSpec("mode", "Mode", choices=("", "enforce", "shadow", "audit")),
        FieldSpec("wal_dir", "WAL directory", max_len=300, placeholder="/var/lib/faramesh/wal"),
        FieldSpec("log_level", "Log level", choices=("", "debug", "info", "warn", "error")),
    ), "at the top level of governance.fms (one runtime block; the last one wins)",
        ("cloud_url and cloud_api_key parse today and are ignored by daemons that do not sync with "
         "Cloud yet (unknown runtime keys are accepted and ignored).",
         "The API key itself never goes in the file: the daemon reads it from the environment.")),
    BlockSpec("agent", "Agent", (
        FieldSpec("id", "Agent id", required=True, max_len=64, pattern=_AGENT_ID,
                  help="letters, digits, _, . and -, starting with a letter or _ (faramesh apply writes it unquoted)"),
        FieldSpec("default", "Default effect (no rule matched)", choices=("deny", "permit"), default="deny"),
        FieldSpec("model", "Model", max_len=100),
        FieldSpec("framework", "Framework", max_len=100),
    ), "at the top level of governance.fms",
        ("Only one agent is enforced: the first by name (sorted). Others are dropped when the "
         "daemon applies the file, and a framework pack's agent \"default\" wins over any name that "
         "sorts after it.", "model and framework are recorded but do not reach the enforced policy.")),
    BlockSpec("rule", "Rule", (
        FieldSpec("effect", "Effect", required=True, choices=("permit", "deny", "deny!", "defer"), default="defer"),
        FieldSpec("tool", "Tool (glob)", required=True, max_len=200, pattern=_TOOL,
                  help="a tool id or glob (stripe/refund, mcp/*) starting with a letter, _, * or /, then "
                       "letters, digits and _ * / [ ] . - @ % ^ + & | ! , (faramesh apply writes it unquoted)"),
        FieldSpec("condition", "When (condition)", max_len=1000, placeholder="args.amount > 500"),
        FieldSpec("notify", "Notify", max_len=200, placeholder="#payments-approvals"),
        FieldSpec("reason", "Reason", max_len=500),
    ), "inside the primary agent's rules { } block, above any broader rule that matches the same tool",
        ("Rules are first match wins, top to bottom.",
         "The condition is an expr-lang expression; `faramesh check` compiles it (Cloud checks only "
         "that the daemon reads it whole).")),
    BlockSpec("budget", "Budget", (
        FieldSpec("id", "Budget name", max_len=64, pattern=IDENT_NAME, default="session",
                  help="letters, digits and _ (the name is not used by the daemon)"),
        FieldSpec("max", "Per-session limit (USD)", max_len=13, pattern=AMOUNT, number=(0.01, 999999999.99, 0.01),
                  help="an amount in USD, up to 2 decimals"),
        FieldSpec("daily", "Per-day limit (USD)", max_len=13, pattern=AMOUNT, number=(0.01, 999999999.99, 0.01),
                  help="an amount in USD, up to 2 decimals"),
        FieldSpec("warn_at", "Warn at (fraction)", max_len=8, pattern=r"(0?\.[0-9]{1,2}|1(\.0{1,2})?)",
                  number=(0.01, 1.0, 0.01),
                  help="a fraction of the limit, 0.01 to 1, two decimals at most (faramesh apply rounds to two)"),
        FieldSpec("on_exceed", "When exceeded", choices=("deny", "defer"), default="deny"),
    ), "inside the agent block (one budget per agent reaches the daemon)",
        ("max is always per session and daily per day, whatever the block is named.",
         "max_calls is not offered: `faramesh apply` drops it.")),
    BlockSpec("provider", "Provider", (
        FieldSpec("name", "Provider name", required=True, max_len=64, pattern=r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}",
                  help="letters, digits, _, . and -"),
        FieldSpec("type", "Type", required=True, max_len=64, pattern=r"[a-z0-9][a-z0-9_\-]{0,63}",
                  help="lower-case letters, digits, _ and - (vault, aws-secrets, ...)"),
        FieldSpec("source", "Source (binary path; empty = the imported provider)", max_len=300),
        *_settings(3),
    ), "at the top level of governance.fms (import the provider pack too, see Pack import)",
        ("A setting read from the environment is written env(\"NAME\"): its value field is the variable name.",)),
    BlockSpec("pack", "Pack import", (
        FieldSpec("kind", "Kind", required=True, choices=("policies", "frameworks", "providers"), default="policies"),
        FieldSpec("name", "Name", required=True, max_len=120, pattern=r"[a-z0-9][a-z0-9_.\-]*(\/[a-z0-9][a-z0-9_.\-]*)*",
                  help="lower-case name, owner/name for policies and providers (faramesh/stripe)"),
        FieldSpec("version", "Version (pinned)", required=True, max_len=40, pattern=r"[0-9A-Za-z][0-9A-Za-z.+_\-]*",
                  help="a pinned version such as 1.0.0 (never latest)"),
        FieldSpec("alias", "Alias", max_len=64, pattern=IDENT_NAME, help="letters, digits and _"),
    ), "at the top level of governance.fms",
        ("A pack's agent joins only if no agent has its name, and only the first agent by name is "
         "enforced: a framework pack (agent \"default\") replaces your agent if its name sorts after "
         "\"default\".", "The alias is parsed and never used.")),
    BlockSpec("trust", "Trust key", (
        FieldSpec("registry", "Registry", required=True, max_len=200, default=REGISTRY,
                  pattern=r"[A-Za-z0-9.\-]+(\/[A-Za-z0-9._\-]+)*", help="a registry address such as " + REGISTRY),
        FieldSpec("public_key", "Ed25519 public key", required=True, max_len=120,
                  help="base64 of the 32-byte key, or ed25519:<base64>"),
    ), "at the top level of governance.fms",
        ("Inert in today's daemon: it parses trust key lines but no code reads them, so registry "
         "signatures are not pinned by this line (FPL.md §5).",)),
    BlockSpec("webhooks", "Webhooks", (
        FieldSpec("url", "Webhook URL", required=True, max_len=500, pattern=_HOOK_URL, input_type="url",
                  help="an http(s):// address"),
        FieldSpec("events", "Events", required=True, choices=WEBHOOK_EVENTS, multi=True),
        FieldSpec("timeout_ms", "Timeout (ms)", max_len=5, pattern=r"[0-9]{1,5}", number=(1, 60000, 1),
                  help="1 to 60000 milliseconds (the daemon's default is 5000)"),
    ), "in the stack's YAML policy document (policy.yaml), not in governance.fms",
        ("governance.fms has no webhooks block: the daemon reads webhooks only from a YAML policy "
         "document (faramesh serve --policy policy.yaml).",
         "Add secret: yourself from your secret store; Cloud never takes it. The daemon signs each "
         "POST with X-Faramesh-Signature: sha256=<HMAC-SHA256 of the body>.",
         "Only permit, deny and defer events are sent by the daemon today."), "yaml"),
)}


def generate(block: str, raw: Mapping[str, str | list[str] | None]) -> Snippet:
    """The snippet for `block` from the form's `raw` fields; SnippetError names a bad field."""
    spec = BLOCKS.get(block)
    if spec is None:
        raise SnippetError("block", f"one of {', '.join(BLOCKS)}")
    known = {s.name for s in spec.fields}
    extra = sorted(k for k in raw if k not in known)
    if extra:
        raise SnippetError(extra[0], f"not a field of the {block} form")
    values = {s.name: f.clean(s, raw.get(s.name)) for s in spec.fields}
    text = _WRITERS[block](values)
    if spec.language == "fpl":
        _self_check(block, text, spec)
    return Snippet(block, text, spec.language, spec.where, values, _warnings(block, values))


def _warnings(block: str, v: Mapping[str, str | list[str]]) -> tuple[str, ...]:
    """What these values do that the form cannot see (FPL.md §4, §6)."""
    if block == "agent" and _s(v, "id") > "default":  # sort.Strings order: bytes (the ids are ASCII)
        return (f'"{_s(v, "id")}" sorts after "default": if the file also imports a framework pack, that '
                f'pack\'s agent "default" becomes the enforced agent (its permit * replaces your rules). '
                'Name the agent so it sorts first, or import no framework pack.',)
    if block == "pack" and _s(v, "kind") == "frameworks":
        return ('A framework pack brings agent "default" (permit *): it is enforced instead of your agent '
                'whenever your agent\'s name sorts after "default".',)
    if block == "rule" and _s(v, "effect") in ("permit", "defer") and _s(v, "tool") == "*" and not _s(v, "condition"):
        return ("An unconditional rule on * matches every tool: rules below it never apply.",)
    return ()


def runtime_block(cloud_url: str, api_key_env: str = CLOUD_KEY_ENV, *, mode: str = "", wal_dir: str = "",
                  log_level: str = "") -> str:
    """The `runtime { }` block with the Cloud keys (and any other runtime keys given)."""
    pairs = [(k, f.fpl_string(v, k)) for k, v in (("mode", mode), ("wal_dir", wal_dir), ("log_level", log_level)) if v]
    pairs += [("cloud_url", f.fpl_string(cloud_url, "cloud_url")),
              ("cloud_api_key", f'env("{api_key_env}")')]
    width = max(len(k) for k, _ in pairs)
    return "runtime {\n" + "".join(f"  {k.ljust(width)} = {v}\n" for k, v in pairs) + "}"


def _s(values: Mapping[str, str | list[str]], name: str) -> str:
    value = values[name]
    return value if isinstance(value, str) else ",".join(value)


def _runtime(v: Mapping[str, str | list[str]]) -> str:
    return runtime_block(_s(v, "cloud_url"), _s(v, "api_key_env"), mode=_s(v, "mode"), wal_dir=_s(v, "wal_dir"),
                         log_level=_s(v, "log_level"))


def _agent(v: Mapping[str, str | list[str]]) -> str:
    if _s(v, "id") in _KEYWORDS:
        raise SnippetError("id", f"{_s(v, 'id')!r} is an FPL keyword: faramesh apply writes the id unquoted")
    lines = [f'agent "{_s(v, "id")}" {{', f"  default {_s(v, 'default')}"]
    lines += [f"  {k} {f.fpl_string(_s(v, k), k)}" for k in ("model", "framework") if _s(v, k)]
    lines += ["  rules {", "    # rules from the Rule form go here, narrowest first", "  }", "}"]
    return "\n".join(lines)


def _rule(v: Mapping[str, str | list[str]]) -> str:
    tool = _s(v, "tool")
    if tool in _KEYWORDS or not is_bare_ident(tool):
        raise SnippetError("tool", f"{tool!r} is an FPL keyword, not a tool id" if tool in _KEYWORDS
                           else "faramesh apply writes the tool unquoted: it must read as one FPL identifier")
    out = f"{_s(v, 'effect')} {tool}"
    if _s(v, "condition"):
        out += f" when {f.condition(_s(v, 'condition'))}"
    for clause in ("notify", "reason"):
        if _s(v, clause):
            out += f' {clause}: "{f.plain_text(_s(v, clause), clause)}"'
    return out


def _amount(text: str) -> str:
    return format(Decimal(text).normalize(), "f")


def _money(text: str) -> str:
    """`20` for whole amounts, else cents: `50.50`."""
    value = Decimal(text)
    return str(int(value)) if value == value.to_integral_value() else format(value.quantize(Decimal("0.01")), "f")


def _budget(v: Mapping[str, str | list[str]]) -> str:
    if not _s(v, "max") and not _s(v, "daily"):
        raise SnippetError("max", "give a per-session limit, a per-day limit, or both")
    lines = [f"budget {_s(v, 'id') or 'session'} {{"]
    lines += [f"  {k} ${_money(_s(v, k))}" for k in ("max", "daily") if _s(v, k)]
    if _s(v, "warn_at"):
        lines.append(f"  warn_at {_amount(_s(v, 'warn_at'))}")
    lines += [f"  on_exceed {_s(v, 'on_exceed')}", "}"]
    return "\n".join(lines)


def _provider(v: Mapping[str, str | list[str]]) -> str:
    lines = [f'provider "{_s(v, "name")}" {{', f'  type = "{_s(v, "type")}"']
    if _s(v, "source"):
        lines.append(f"  source = {f.fpl_string(_s(v, 'source'), 'source')}")
    seen = {"type", "source"}
    for i in range(1, 4):
        key, value, env = (_s(v, f"setting{i}_{p}") for p in ("key", "value", "env"))
        if not key and not value:
            continue
        if not key:
            raise SnippetError(f"setting{i}_key", "name the setting")
        if key in seen or key == "capabilities":
            raise SnippetError(f"setting{i}_key", f"{key!r} is set elsewhere in this form" if key in seen
                               else "capabilities is not a free-form setting")
        seen.add(key)
        if env:
            if not value or not _fullmatch(ENV_NAME, value):
                raise SnippetError(f"setting{i}_value", "the environment variable's name: letters, digits and _")
            lines.append(f'  {key} = env("{value}")')
        else:
            lines.append(f"  {key} = {f.fpl_string(value, f'setting{i}_value')}")
    return "\n".join([*lines, "}"])


def _pack(v: Mapping[str, str | list[str]]) -> str:
    version = _s(v, "version")
    if version.lower() == "latest":
        raise SnippetError("version", "pin a version: @latest is refused by the daemon")
    if _s(v, "kind") == "frameworks" and "/" in _s(v, "name"):
        raise SnippetError("name", "framework packs have a bare name (langgraph)")
    out = f'import "{REGISTRY}/{_s(v, "kind")}/{_s(v, "name")}@{version}"'
    return out + (f" as {_s(v, 'alias')}" if _s(v, "alias") else "")


def public_key_b64(text: str, field: str = "public_key") -> str:
    """The base64 of a 32-byte Ed25519 key given as base64 or `ed25519:<base64>`."""
    b64 = text.removeprefix("ed25519:")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise SnippetError(field, "not base64") from None
    if len(raw) != 32:
        raise SnippetError(field, f"an Ed25519 public key is 32 bytes, this is {len(raw)}")
    return base64.b64encode(raw).decode()


def _trust(v: Mapping[str, str | list[str]]) -> str:
    key = public_key_b64(_s(v, "public_key"))
    return f'trust {{\n  key "{_s(v, "registry")}" "ed25519:{key}"\n}}'


def _webhooks(v: Mapping[str, str | list[str]]) -> str:
    events = v["events"] if isinstance(v["events"], list) else [v["events"]]
    lines = ["webhooks:", f"  url: {json.dumps(_s(v, 'url'))}",
             f"  events: [{', '.join(json.dumps(e) for e in events)}]"]
    if _s(v, "timeout_ms"):
        lines.append(f"  timeout_ms: {int(_s(v, 'timeout_ms'))}")
    return "\n".join(lines)


def _fullmatch(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


_WRITERS = {"runtime": _runtime, "agent": _agent, "rule": _rule, "budget": _budget, "provider": _provider,
            "pack": _pack, "trust": _trust, "webhooks": _webhooks}


def in_context(block: str, text: str) -> str:
    """`text` placed where it goes, as a whole governance.fms the daemon's parser can read."""
    if block == "rule":
        return f'agent "_" {{\n  rules {{\n    {text}\n  }}\n}}\n'
    if block == "budget":
        return f'agent "_" {{\n{text}\n}}\n'
    return text + "\n"


def _self_check(block: str, text: str, spec: BlockSpec) -> None:
    try:
        parse_strict(in_context(block, text))
    except DaemonParseError as err:  # a gap in the checks above: say so rather than show it
        raise SnippetError(spec.fields[0].name, f"Cloud cannot write this so the daemon reads it: {err.message}") from None
