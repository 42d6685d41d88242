"""What each channel is sent, built from a :class:`Notice` (pure: no I/O, no clock).

* Slack incoming webhook: ``{"text", "blocks"}`` (Block Kit; ``text`` is the fallback).
* Slack ``chat.postMessage``: the same plus ``channel``.
* PagerDuty Events API v2: ``trigger`` with ``routing_key``, ``dedup_key`` (one incident per
  approval or chain-integrity alert) and ``payload{summary, source, severity, custom_details}``
  (a chain-integrity alert is ``critical``); ``resolve`` with the same ``dedup_key`` once the
  approval is decided or the alert acknowledged.
* Email: a plain-text message.
* Webhooks: a JSON event signed the Standard Webhooks way (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256("{id}.{ts}.{body}")>``
  keyed with the base64 part of the ``whsec_`` secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Final

from faramesh_cloud.notifications.domain import Event, Notice, alert_id_of

SECRET_PREFIX: Final = "whsec_"
_SEVERITY: Final = {"critical": "critical", "high": "error"}
PD_SUMMARY_MAX: Final = 1024
# What a webhook's ``data`` leaves out: the other subject's fields.
_CHAIN_ONLY: Final = frozenset({"finding", "record_id", "message", "integrity_link", "acknowledged_note"})
_APPROVAL_ONLY: Final = frozenset({"tool_id", "reason", "priority", "matched_rule_id", "session_id", "deadline",
                                   "step", "after_minutes", "outcome"})


def one_line(text: str, limit: int = 900) -> str:
    """Whitespace (line breaks included) collapsed to single spaces, cut to ``limit``."""
    return " ".join(text.split())[:limit]


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as entities, so agent-chosen text cannot
    become a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(n: Notice) -> list[tuple[str, str]]:
    if n.event is Event.TEST:
        return [("Organisation", n.org_slug)]
    if n.event.is_command:
        facts = [("Organisation", n.org_slug), ("Stack", n.stack_name or n.stack_id), ("Agent", n.agent_id),
                 ("Command", str(n.extra.get("command", ""))), ("Issued by", n.resolved_by or "-"),
                 ("Issued", n.created_at)]
        if n.event is not Event.COMMAND_ISSUED:
            facts.append(("Outcome", n.outcome))
        return facts
    if n.event.is_chain:
        facts = [("Organisation", n.org_slug), ("Stack", n.stack_name or n.stack_id), ("Agent", n.agent_id),
                 ("Finding", n.finding), ("Record", n.record_id), ("Detected", n.created_at)]
        if n.integrity_link:
            facts.append(("Chain integrity", n.integrity_link))
        if n.event is Event.CHAIN_ACKNOWLEDGED:
            facts.append(("Acknowledged", f"by {n.resolved_by}: {n.acknowledged_note}"))
        return facts
    facts = [("Stack", n.stack_name or n.stack_id), ("Agent", n.agent_id), ("Tool", n.tool_id),
             ("Priority", n.priority), ("Rule", n.matched_rule_id or "-"), ("Deadline", n.deadline)]
    if n.event is Event.RESOLVED:
        facts.append(("Outcome", n.outcome + (f" by {n.resolved_by}" if n.resolved_by else "")))
    return facts


def _why(n: Notice) -> str:
    """The free text under the title: an approval's reason, an alert's verifier message."""
    if n.event is Event.TEST:
        return ""
    if n.event.is_command:
        return n.reason if n.event is Event.COMMAND_ISSUED else (n.message or n.reason)
    return n.message if n.event.is_chain else n.reason


def text_line(n: Notice) -> str:
    why = _why(n)
    return f"{n.title()}. {why}".strip() if why else n.title()


def slack_message(n: Notice) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": n.title()[:150], "emoji": False}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{slack_escape(v)[:1900]}"}
                                       for k, v in _facts(n)]},
    ]
    if _why(n):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(_why(n))[:2900]}]})
    buttons = [(n.link, "Explain the record" if n.event.is_chain else "Open in Faramesh Cloud"),
               (n.integrity_link, "Chain integrity")]
    if any(url for url, _ in buttons):
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": text}, "url": url} for url, text in buttons if url]})
    return {"text": slack_escape(text_line(n)), "blocks": blocks}


def slack_post_message(n: Notice, channel: str) -> dict[str, Any]:
    return {"channel": channel, **slack_message(n)}


APPROVE_ACTION: Final = "faramesh_approve"
DENY_ACTION: Final = "faramesh_deny"
DECISION_BLOCK: Final = "faramesh_decision"


def decision_value(n: Notice) -> str:
    """What an Approve/Deny button carries back in Slack's ``block_actions`` (no secret: the
    gateway checks the signature, the workspace, the person and their role before anything)."""
    return json.dumps({"org": n.org_id, "stack": n.stack_id, "token": n.defer_token}, separators=(",", ":"))


def slack_app_message(n: Notice, channel: str) -> dict[str, Any]:
    """``chat.postMessage`` of a workspace connected by OAuth: an approval that can still be
    decided (requested, escalated) carries Approve and Deny buttons (Block Kit ``actions``);
    pressing one opens a modal asking for the reason (the gateway's interaction endpoint)."""
    body = slack_post_message(n, channel)
    if n.event in (Event.REQUESTED, Event.ESCALATED):
        value = decision_value(n)
        body["blocks"].append({"type": "actions", "block_id": DECISION_BLOCK, "elements": [
            {"type": "button", "action_id": APPROVE_ACTION, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": DENY_ACTION, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": "Deny"}}]})
    return body


def _severity(n: Notice) -> str:
    if n.event is Event.TEST:
        return "info"
    if n.event.is_chain or n.event is Event.COMMAND_FAILED:
        return "critical"
    if n.event.is_command:
        return "warning"
    return _SEVERITY.get(n.priority, "warning")


def pagerduty_event(n: Notice, routing_key: str) -> dict[str, Any]:
    if n.event.closes:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": n.dedup_key}
    details: dict[str, Any] = {k.lower(): v for k, v in _facts(n)}
    details |= ({"alert_id": alert_id_of(n.defer_token), "message": n.message} if n.event.is_chain
                else {"defer_token": n.defer_token, "step": n.step, "reason": n.reason})
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": n.dedup_key if n.event is not Event.TEST else f"faramesh/{n.org_id}/test/{n.defer_token}",
        "payload": {
            "summary": text_line(n)[:PD_SUMMARY_MAX],
            "source": f"faramesh-cloud/{n.org_slug}/{n.stack_name or n.stack_id}" if n.stack_id
            else f"faramesh-cloud/{n.org_slug}",
            "severity": _severity(n),
            "component": n.agent_id or "faramesh-cloud",
            "group": n.stack_name or n.stack_id or n.org_slug,
            "class": "test" if n.event is Event.TEST else "chain_integrity" if n.event.is_chain
            else "emergency_command" if n.event.is_command else "approval",
            "custom_details": details,
        },
        "client": "Faramesh Cloud",
    }
    if n.link:
        body["client_url"] = n.link
        body["links"] = [{"href": n.link, "text": "Explain the record" if n.event.is_chain
                          else "Open in Faramesh Cloud"}]
        if n.integrity_link:
            body["links"].append({"href": n.integrity_link, "text": "Chain integrity"})
    return body


def email_message(n: Notice, sender: str, recipients: list[str], message_id_domain: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = one_line(f"[Faramesh] {n.title()}")  # daemon-chosen text: no header injection
    message["Message-ID"] = make_msgid("faramesh", domain=message_id_domain)
    lines = [n.title(), ""]
    lines += [f"{k}: {v}" for k, v in _facts(n)]
    if _why(n):
        lines += ["", f"{'What' if n.event.is_chain else 'Why'}: {_why(n)}"]
    if n.link:
        lines += ["", f"{'Explain the record' if n.event.is_chain else 'Open in Faramesh Cloud'}: {n.link}"]
    message.set_content("\n".join(lines) + "\n")
    return message


def webhook_body(n: Notice, timestamp: int) -> bytes:
    """The JSON event (``type``, ``timestamp``, ``data``), compact and key-sorted."""
    left_out = _APPROVAL_ONLY if n.event.is_chain else _CHAIN_ONLY - {"message"} if n.event.is_command else _CHAIN_ONLY
    data = {k: v for k, v in n.as_dict().items() if k not in ("event", "extra") and k not in left_out}
    data["dedup_key"] = n.dedup_key
    body = {"type": n.event.value, "timestamp": timestamp, "data": data}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook signing secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (``v1,<base64>``)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secret: str, message_id: str, timestamp: int, body: bytes,
                    previous: str | None = None) -> dict[str, str]:
    """Headers of one delivery. During a secret rotation's overlap ``previous`` signs too: the
    header then carries both signatures, space-separated, and receivers accept either."""
    signature = sign(secret, message_id, timestamp, body)
    if previous:
        signature += " " + sign(previous, message_id, timestamp, body)
    return {"content-type": "application/json", "webhook-id": message_id,
            "webhook-timestamp": str(timestamp), "webhook-signature": signature,
            "user-agent": "faramesh-cloud-notifications/1"}
