"""A destination from what a person typed: its shown config, its secret fields and what is
shown once (a webhook's signing secret), checked per kind and against the SSRF guard.
Secrets are sealed with AES-256-GCM under the service's key, bound to org and destination."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from faramesh_cloud.config import Settings
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.egress.ssrf import (
    Resolver,
    UnsafeDestination,
    check_host,
    check_url,
    system_resolver,
)
from faramesh_cloud.notifications.domain import InvalidRouting, Kind, valid_email
from faramesh_cloud.notifications.payloads import new_webhook_secret
from faramesh_cloud.secrets import resolve_secret

__all__ = ["SecretBox", "load_or_create_key", "notifications_key", "prepare", "prepare_update"]

KEY_FILE: Final = Path("keys") / "notifications.key"


@dataclass(frozen=True, slots=True)
class Prepared:
    config: dict[str, Any]
    secret: dict[str, str]
    shown_once: dict[str, str]


def _text(fields: dict[str, Any], name: str, what: str, limit: int = 2000, *, required: bool = True) -> str:
    value = str(fields.get(name) or "").strip()
    if required and not value:
        raise InvalidRouting(f"{what} is required")
    if len(value) > limit:
        raise InvalidRouting(f"{what} is at most {limit} characters")
    return value


def prepare(kind: str, fields: dict[str, Any], *, allow_private: bool,
            resolver: Resolver = system_resolver) -> Prepared:
    try:
        k = Kind(kind)
    except ValueError:
        raise InvalidRouting(f"unknown destination kind {kind!r}; use one of {', '.join(Kind)}") from None
    try:
        match k:
            case Kind.SLACK_WEBHOOK:
                url = _text(fields, "url", "the incoming-webhook URL")
                target = check_url(url, allow_private=allow_private, resolver=resolver)
                return Prepared({"host": target.host}, {"url": url}, {})
            case Kind.SLACK_API:
                token = _text(fields, "token", "the bot token (xoxb-...)", 500)
                channel = _text(fields, "channel", "the channel (an id such as C0123456789, or #name)", 200)
                return Prepared({"channel": channel}, {"token": token}, {})
            case Kind.SLACK_APP:
                return _slack_app(fields)
            case Kind.PAGERDUTY:
                key = _text(fields, "routing_key", "the integration (routing) key", 200)
                if len(key) != 32 or not key.isalnum():
                    raise InvalidRouting("a PagerDuty Events API v2 routing key is 32 letters and digits")
                return Prepared({"key_hint": key[-4:]}, {"routing_key": key}, {})
            case Kind.EMAIL:
                return _email(fields, allow_private, resolver)
            case Kind.WEBHOOK:
                url = _text(fields, "url", "the endpoint URL")
                check_url(url, allow_private=allow_private, resolver=resolver)
                signing = new_webhook_secret()
                return Prepared({"url": url}, {"signing_secret": signing}, {"signing_secret": signing})
    except UnsafeDestination as exc:
        raise InvalidRouting(str(exc)) from None
    raise InvalidRouting(f"unknown destination kind {kind!r}")


def _slack_app(fields: dict[str, Any]) -> Prepared:
    """A workspace installed by OAuth v2 (the gateway's callback passes what oauth.v2.access
    answered): the bot token is the secret; the team is how Slack's interaction requests are
    matched to this organisation."""
    token = _text(fields, "token", "the bot token (xoxb-...) from oauth.v2.access", 500)
    if not token.startswith("xoxb-"):
        raise InvalidRouting("a Slack app destination needs the bot token (xoxb-...) that oauth.v2.access returns")
    team_id = _text(fields, "team_id", "the Slack workspace (team) id", 40)
    channel = _text(fields, "channel", "the channel (an id such as C0123456789, or #name)", 200)
    config = {"channel": channel, "team_id": team_id,
              "team_name": _text(fields, "team_name", "the workspace name", 200, required=False),
              "bot_user_id": _text(fields, "bot_user_id", "the bot user id", 40, required=False)}
    return Prepared(config, {"token": token}, {})


def _email(fields: dict[str, Any], allow_private: bool, resolver: Resolver) -> Prepared:
    host = _text(fields, "smtp_host", "the SMTP server", 253)
    try:
        port = int(fields.get("smtp_port") or 587)
    except (TypeError, ValueError):
        raise InvalidRouting("the SMTP port is a number (587 for STARTTLS, 25 for plain)") from None
    if not 0 < port < 65536:
        raise InvalidRouting("the SMTP port is 1 to 65535")
    check_host(host, port, allow_private=allow_private, resolver=resolver)
    raw_to = fields.get("to") or ""
    to = [a.strip() for a in (raw_to if isinstance(raw_to, list) else str(raw_to).replace(";", ",").split(","))
          if a.strip()]
    sender = _text(fields, "sender", "the From address", 254)
    bad = [a for a in [*to, sender] if not valid_email(a)]
    if not to:
        raise InvalidRouting("give at least one recipient address")
    if bad:
        raise InvalidRouting(f"{bad[0]!r} is not an email address")
    if len(to) > 50:
        raise InvalidRouting("at most 50 recipients; use a group address")
    starttls = str(fields.get("starttls", "true")).lower() in ("1", "true", "on", "yes")
    username = _text(fields, "username", "the SMTP user name", 254, required=False)
    password = _text(fields, "password", "the SMTP password", 500, required=False)
    return Prepared({"smtp_host": host, "smtp_port": port, "starttls": starttls, "username": username,
                     "sender": sender, "to": to}, {"password": password}, {})


# What editing a destination may change, per kind: its shown (non-secret) fields only. Its
# secret (a Slack webhook URL, a bot token, a routing key, an SMTP password, a webhook's
# signing secret) changes by rotation (webhooks) or by deleting and recreating it.
EDITABLE: Final = {
    Kind.SLACK_WEBHOOK: (), Kind.SLACK_API: ("channel",), Kind.PAGERDUTY: (),
    Kind.EMAIL: ("smtp_host", "smtp_port", "starttls", "username", "sender", "to"), Kind.WEBHOOK: ("url",),
}
SECRET_FIELDS: Final = {Kind.SLACK_WEBHOOK: "url", Kind.SLACK_API: "token", Kind.PAGERDUTY: "routing_key",
                        Kind.EMAIL: "password", Kind.WEBHOOK: "signing_secret"}


def prepare_update(kind: Kind, current: dict[str, Any], fields: dict[str, Any], *, allow_private: bool,
                   resolver: Resolver = system_resolver) -> dict[str, Any]:
    """The shown config after editing ``fields`` (those not given keep their value), checked
    as on creation (SSRF guard included); a secret or unknown field is refused."""
    for name in fields:
        if name == SECRET_FIELDS[kind]:
            how = "rotate it (Rotate secret)" if kind is Kind.WEBHOOK else "delete the destination and create it again"
            raise InvalidRouting(f"the {name} of a {kind.label} destination is a secret and is not edited here; {how}")
        if name not in EDITABLE[kind]:
            editable = ", ".join(EDITABLE[kind]) or "only its name"
            raise InvalidRouting(f"a {kind.label} destination has no editable field {name!r} (editable: {editable})")
    try:
        match kind:
            case Kind.SLACK_API:
                return {"channel": _text({**current, **fields}, "channel",
                                         "the channel (an id such as C0123456789, or #name)", 200)}
            case Kind.EMAIL:
                return _email({**current, **fields, "password": ""}, allow_private, resolver).config
            case Kind.WEBHOOK:
                url = _text({**current, **fields}, "url", "the endpoint URL")
                check_url(url, allow_private=allow_private, resolver=resolver)
                return {"url": url}
    except UnsafeDestination as exc:
        raise InvalidRouting(str(exc)) from None
    return dict(current)


def notifications_key(settings: Settings) -> bytes:
    """The 32-byte sealing key, shared by every process that seals or opens destinations
    (``faramesh_cloud.secrets``; under ``up``, made once in ``<data_dir>/keys/notifications.key``)."""
    return resolve_secret(settings, "notifications_key")


def load_or_create_key(data_dir: Path) -> bytes:
    """The data-dir key of an embedded install."""
    return notifications_key(Settings(data_dir=data_dir))
