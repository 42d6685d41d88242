"""The explain view's content for one DPR, shared by the page and the API: every stored copy,
the fields grouped as the spec lists them (values as pretty JSON text, rendered escaped),
chain neighbours and, on request, the server-side verification."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import Request

from faramesh_cloud.dpr.fields import HASHED_JCS, HASHED_LEGACY, JCS_ALGORITHM
from faramesh_cloud.gateway.web.audit_common import reader, summary_json
from faramesh_cloud.gateway.web.dpr_verify import Check, verify_record
from faramesh_cloud.identity.domain import NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

# The Explain view's sections, each a compact list of the fields present (in this order).
GROUPS: Final = (
    ("identity", "Identity", ("agent_id", "session_id", "principal_id_hash", "intercept_adapter",
                              "execution_environment", "invoked_by_agent_id", "invoked_by_dpr_record_id",
                              "inner_governance_dpr_record_id", "signer_public_key", "lamport_seq",
                              "workflow_phase", "phase_transition_record")),
    ("decision", "Decision", ("effect", "reason_code", "reason", "denial_token", "defer_token", "parent_defer_token",
                              "cascade_reason", "cascade_depth", "cascade_path", "approval_envelope",
                              "incident_category", "incident_severity", "degraded_mode", "hardening_mode")),
    ("rules", "Rule and policy", ("matched_rule_id", "policy_version", "policy_source_type", "policy_source_id",
                                  "fpl_version", "custom_operators_evaluated", "operator_results",
                                  "operator_registry_hash")),
    ("credentials", "Credentials", ("credential_brokered", "credential_source", "credential_scope")),
    ("args", "Arguments (post-redaction)", ("tool_id", "action_type", "selector_snapshot", "args_structural_sig",
                                            "arg_provenance", "reasoning_summary")),
    ("latency", "Latency", ("execution_timeout_ms",)),
)
# Fields whose value is a JSON document carried as a string (shown parsed and indented).
JSON_STRINGS: Final = frozenset({"approval_envelope"})
# How the daemon marks redacted values (FARAMESH_FORMATS 1.11): a redact rule's HMAC of the
# value, or the selector snapshot's "[redacted]".
_REDACTED: Final = re.compile(r'"\[redacted\]"|"hmac:[A-Za-z0-9+/=_-]*"')
REDACTION_NOTES: Final = {
    "redacted": "removed by the daemon before the record was written (a secret-looking key or value)",
    "hmac": "replaced by the daemon's redact rule with an HMAC of the value before the record was written",
}
NOT_FOUND: Final = "no DPR with this id in this organisation"

# What an unverified row is, by its source, and why it cannot be verified.
SUMMARY_OF: Final = {
    "legacy-feed": ("Decision summary from the legacy Horizon feed",
                    "sent by the daemon's Horizon syncer (faramesh serve --sync-horizon) to POST /v1/ingest/dpr; "
                    "the request was authenticated with the stack's API key"),
    "webhook": ("Decision summary from a daemon webhook",
                "sent by the daemon's webhook sender to POST /v1/webhooks/faramesh/{stack}; its HMAC signature "
                "proves only that the sender holds the stack's webhook secret, not what the daemon recorded"),
}
WHY_UNVERIFIED: Final = (
    "This feed carries no record_hash, prev_record_hash or signature (FARAMESH_FORMATS §2.1, §2.4), so Cloud "
    "cannot check that these fields are what the daemon recorded, nor place the decision on the agent's hash "
    "chain: it is never part of chain integrity, findings or alerts. When the full DPR with this record_id "
    "arrives (gRPC sync or faramesh-cloud import-wal), the DPR replaces this summary."
)
NO_ID_NOTE: Final = ("The daemon sent no record_id. This row's id was made from its place on the log; without an "
                     "id a retried webhook cannot be told from a second identical decision, so such events are "
                     "never merged.")


def summary_facts(detail: Any) -> dict[str, Any]:
    """What Explain says about an unverified summary: what it is, why it cannot be verified,
    the time the daemon sent and how it was stored, and how many copies arrived."""
    s = detail.summary
    event = detail.record()
    title, how = SUMMARY_OF.get(s.source, ("Decision summary", "received over a legacy feed"))
    sent = str(event.get("timestamp", ""))
    if event.get("decided_at") is None:
        time_note = "the daemon sent no time (Go's zero time): placed at the time Cloud received it"
    elif event.get("decided_at_ns") != s.created_ns:
        time_note = "the daemon's time is outside what the index holds (1900-2262): placed at the time Cloud received it"
    else:
        time_note = "the daemon's time, normalised to UTC"
    receipt = detail.receipt
    return {
        "title": title, "how": how, "why": WHY_UNVERIFIED, "sent_timestamp": sent, "stored_at": s.created_at,
        "time_note": time_note, "latency_ms": event.get("latency_ms"),
        "deliveries": receipt.deliveries if receipt else 1,
        "sources": receipt.sources if receipt else [s.source],
        "record_id_note": NO_ID_NOTE if not event.get("record_id") else None,
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _segments(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (piece, mark): mark is ``redacted`` or ``hmac`` for a value the daemon
    redacted, '' otherwise (the template escapes every piece)."""
    out: list[tuple[str, str]] = []
    at = 0
    for m in _REDACTED.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], ""))
        out.append((m.group(0), "hmac" if m.group(0).startswith('"hmac:') else "redacted"))
        at = m.end()
    if at < len(text):
        out.append((text[at:], ""))
    return out


def field_view(name: str, value: Any) -> dict[str, Any]:
    """One field as Explain shows it: its text (JSON documents indented), whether it needs a
    block (a document or several lines) or fits inline, and its redacted parts marked."""
    if name in JSON_STRINGS and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    text = _text(value)
    if isinstance(value, str) and (value == "[redacted]" or value.startswith("hmac:")):
        segments = [(text, "hmac" if value.startswith("hmac:") else "redacted")]
    else:
        segments = _segments(text) if not isinstance(value, str) else [(text, "")]
    return {"name": name, "text": text, "block": isinstance(value, dict | list) or "\n" in text,
            "segments": segments, "redacted": sum(1 for _, mark in segments if mark)}


def hashed_fields(record: dict[str, Any]) -> frozenset[str]:
    """The fields the record hash (and signature) cover, by the record's canonicalisation."""
    table = HASHED_JCS if str(record.get("canonicalization_algorithm", "")).strip() == JCS_ALGORITHM else HASHED_LEGACY
    return frozenset(name for name, _, _ in table)


def grouped(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Sections of the fields present in the record (``field_view`` each); fields no section
    names go under Other, and any field whose name speaks of latency or duration joins Latency."""
    used: set[str] = set()
    out = []
    for key, title, names in GROUPS:
        fields = [field_view(n, record[n]) for n in names if n in record and record[n] not in (None, "")]
        if key == "latency":
            fields += [field_view(n, v) for n, v in record.items()
                       if ("latency" in n or "duration" in n) and n not in names]
        used.update(f["name"] for f in fields)
        out.append({"key": key, "title": title, "fields": fields, "redacted": sum(f["redacted"] for f in fields)})
    out.append({"key": "other", "title": "Other fields",
                "fields": [field_view(n, v) for n, v in sorted(record.items()) if n not in used], "redacted": 0})
    return out


def _at(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ms(ns: int) -> str:
    ms = ns / 1e6
    return f"{ms:,.0f} ms" if abs(ms) < 120_000 else f"{ms / 60_000:,.1f} min"


def latency(detail: Any, record: dict[str, Any]) -> list[dict[str, str]]:
    """The latency breakdown: when the daemon decided, when Cloud received the record (and
    how long after), and the latencies the record itself states."""
    s = detail.summary
    rows = [{"stage": "Decided by the daemon", "at": s.created_at, "after": ""}]
    if detail.received_ns:
        delay = detail.received_ns - s.created_ns
        rows.append({"stage": "Received by Cloud", "at": _at(detail.received_ns),
                     "after": _ms(delay) if delay >= 0 else "before the daemon's clock (clock skew)"})
    for name, value in record.items():
        if ("latency" in name or "duration" in name) and isinstance(value, int | float):
            rows.append({"stage": f"{name} (from the record)", "at": "", "after": f"{value:,} ms"
                         if name.endswith("_ms") else str(value)})
    if isinstance(record.get("execution_timeout_ms"), int | float):
        rows.append({"stage": "Tool timeout requested", "at": "", "after": f"{record['execution_timeout_ms']:,} ms"})
    return rows


async def _pinned(request: Request, org_id: str, stack_id: str) -> frozenset[str]:
    """The stack's unrevoked pinned signing keys (empty when none, or Settings → Stacks is
    not running on this instance)."""
    ports = getattr(request.app.state, "fleet", None)
    if ports is None:
        return frozenset()
    try:
        pins = await ports.registry.signing_keys.list(org_id, stack_id)
    except ValueError:  # a stack id that is not a registered stack's (e.g. imported records)
        return frozenset()
    return frozenset(k.public_key for k in pins if k.active)


async def _checkpoint(audit: Any, org_id: str, stack_id: str, agent_id: str) -> Any | None:
    """The agent chain's retention checkpoint, if retention removed its earlier records."""
    for stack in await audit.chain_integrity(org_id, stack_id):
        for agent in stack.agents:
            if agent.agent_id == agent_id:
                return agent.checkpoint
    return None


def state_facts(detail: Any) -> dict[str, Any]:
    """What the chain verifier says of one stored DPR (issue 18): ``verifying`` (searchable,
    not checked yet: how many messages of its partition the verifier has still to check),
    ``verified``, or ``failed`` with the open critical findings."""
    s = detail.summary
    failing = [f for f in detail.findings if str(f.severity) == "critical"]
    if s.state == "verifying":
        says = (f"Verifying: searchable, not yet checked by the chain verifier ({detail.verifier_behind} "
                f"message{'s' if detail.verifier_behind != 1 else ''} of its log partition still to check).")
    elif s.state == "failed":
        says = "Failed: " + "; ".join(f"{f.kind}: {f.message}" for f in failing)
    else:
        says = "Verified by the chain verifier."
    return {"state": s.state, "verifier_behind": detail.verifier_behind, "says": says,
            "findings": [f.kind for f in failing]}


async def explain(request: Request, principal: Principal, record_id: str, *, verify: bool = False) -> dict[str, Any]:
    audit = reader(request)
    org_id = principal.org.org_id
    # A per-stack role override can hide a stack: its copies are not shown, as if absent.
    copies = [c for c in await audit.get_record(org_id, record_id)
              if principal.access.allows(Permission.AUDIT_RECORD_READ, c.summary.stack_id)]
    if not copies:
        raise NotFound(NOT_FOUND)
    views = []
    for detail in copies:
        s = detail.summary
        record = detail.record()
        if s.verification == "unverified":
            views.append({
                "summary": s, "detail": detail, "record": record, "groups": grouped(record), "hashed": frozenset(),
                "latency": latency(detail, record),
                "prev": None, "next": None, "findings": [], "unverified": summary_facts(detail),
                "checks": [Check("verifiable", None, WHY_UNVERIFIED)] if verify else [],
            })
            continue
        prev, nxt = await audit.neighbours(org_id, s.stack_id, s.agent_id, s.record_hash, detail.prev_record_hash)
        checks: list[Check] = verify_record(detail.raw, s.agent_id, detail.chain_index, prev, nxt,
                                            await _pinned(request, org_id, s.stack_id),
                                            await _checkpoint(audit, org_id, s.stack_id, s.agent_id)
                                            if prev is None else None) if verify else []
        views.append({
            "summary": s, "detail": detail, "record": record, "groups": grouped(record), "hashed": hashed_fields(record),
            "latency": latency(detail, record),
            "prev": prev, "next": nxt, "checks": checks, "findings": detail.findings, "unverified": None,
            "state": state_facts(detail),
        })
    return {"record_id": record_id, "copies": views, "redaction_notes": REDACTION_NOTES}


def explain_json(view: dict[str, Any]) -> dict[str, Any]:
    def neighbour(n: Any) -> dict[str, Any] | None:
        return None if n is None else {"record_id": n.record_id, "record_hash": n.record_hash}

    return {"record_id": view["record_id"], "copies": [{
        "summary": summary_json(c["summary"]),
        "chain_index": c["detail"].chain_index,
        "prev_record_hash": c["detail"].prev_record_hash,
        "raw": c["detail"].raw,
        "record": c["record"],
        "previous": neighbour(c["prev"]), "next": neighbour(c["next"]),
        "findings": [dataclasses.asdict(f) for f in c["findings"]],
        "checks": [dataclasses.asdict(k) for k in c["checks"]],
        # An unverified summary: what it is and why it cannot be verified (null for a DPR).
        "unverified": c["unverified"],
        # A DPR's verification state: {state, verifier_behind, says, findings} (null for a summary).
        "state": c.get("state"),
        # The unverified summaries received for this (stack, record_id), when any.
        "summary_receipt": None if c["detail"].receipt is None else dataclasses.asdict(c["detail"].receipt),
    } for c in view["copies"]]}
