"""The Slack app's pure parts: Slack's request signature (v0 HMAC-SHA256 over
``v0:{timestamp}:{body}``, checked here against a digest computed independently) and its
five-minute window, the install's state cookie, the buttons on approval messages and the
``slack_app`` destination's fields."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from faramesh_cloud.gateway.web.slack_app import (
    SlackApp,
    SlackRefused,
    read_state_cookie,
    reason_modal,
    reason_of,
    state_cookie,
    verify_request,
)
from faramesh_cloud.notifications import payloads
from faramesh_cloud.notifications.destinations import prepare
from faramesh_cloud.notifications.domain import Event, InvalidRouting, Notice

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
NOW = 1_765_000_000


def slack_signature(ts: int, body: bytes = BODY, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), b"v0:" + str(ts).encode() + b":" + body, hashlib.sha256).hexdigest()


def test_a_request_signed_by_slack_within_five_minutes_is_accepted() -> None:
    for ts in (NOW, NOW - 299, NOW + 299):
        verify_request(SECRET, str(ts), slack_signature(ts), BODY, now=NOW)


@pytest.mark.parametrize(("ts", "sent", "body", "why"), [
    (NOW - 301, None, BODY, "stale request"),
    (NOW + 301, None, BODY, "stale request"),
    (NOW, slack_signature(NOW, secret="another-secret"), BODY, "does not match"),
    (NOW, None, BODY + b"&x=1", "does not match"),  # body altered after signing
    (NOW, "v0=" + "0" * 64, BODY, "does not match"),
    (NOW, "", BODY, "are required"),
])
def test_a_stale_altered_or_wrongly_signed_request_is_refused(ts: int, sent: str | None, body: bytes,
                                                              why: str) -> None:
    signature = slack_signature(ts) if sent is None else sent
    with pytest.raises(SlackRefused, match=why):
        verify_request(SECRET, str(ts), signature, body, now=NOW)


def test_a_timestamp_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(SlackRefused, match="not a Unix time"):
        verify_request(SECRET, "yesterday", slack_signature(NOW), BODY, now=NOW)
    with pytest.raises(SlackRefused, match="are required"):
        verify_request(SECRET, None, slack_signature(NOW), BODY, now=NOW)


def test_the_state_cookie_is_refused_when_altered_signed_with_another_key_or_old() -> None:
    state = {"state": "abc", "org": "acme", "name": "n", "channel": "C1", "at": NOW, "session": "h"}
    cookie = state_cookie("web-secret", state)
    assert read_state_cookie("web-secret", cookie, now=NOW + 10) == state
    assert read_state_cookie("other-secret", cookie, now=NOW + 10) is None
    assert read_state_cookie("web-secret", cookie, now=NOW + 601) is None
    _, _, mac = cookie.rpartition(".")
    forged = state_cookie("guess", {**state, "org": "victim"}).rpartition(".")[0] + "." + mac
    assert read_state_cookie("web-secret", forged, now=NOW) is None
    assert read_state_cookie("web-secret", None) is None and read_state_cookie("web-secret", "junk") is None


def test_the_authorize_url_asks_for_the_scopes_the_flow_needs() -> None:
    url = SlackApp(client_id="1.2", client_secret="s", signing_secret="x",
                   api_base="https://slack.com/").authorize_url("st", "https://cloud.example/cb")
    assert url == ("https://slack.com/oauth/v2/authorize?client_id=1.2&scope=chat%3Awrite%2Cusers%3Aread%2C"
                   "users%3Aread.email&redirect_uri=https%3A%2F%2Fcloud.example%2Fcb&state=st")
    assert not SlackApp().configured and not SlackApp(client_id="1", client_secret="s").configured


def notice(event: Event) -> Notice:
    return Notice(event=event, org_id="o-1", org_slug="acme", stack_id="s-1", stack_name="payments-prod",
                  defer_token="tok-1", agent_id="payments-bot", tool_id="stripe/refund", reason="<b>why</b>",
                  priority="high", matched_rule_id="r", session_id="sess", created_at=datetime.now(UTC).isoformat(),
                  deadline="", link="https://cloud.example/o/acme/approvals", outcome="approved")


def test_only_an_approval_that_can_still_be_decided_carries_the_buttons() -> None:
    for event in (Event.REQUESTED, Event.ESCALATED):
        body = payloads.slack_app_message(notice(event), "C1")
        [actions] = [b for b in body["blocks"] if b.get("block_id") == payloads.DECISION_BLOCK]
        assert [(e["action_id"], e["style"]) for e in actions["elements"]] == [
            ("faramesh_approve", "primary"), ("faramesh_deny", "danger")]
        assert json.loads(actions["elements"][0]["value"]) == {"org": "o-1", "stack": "s-1", "token": "tok-1"}
        assert body["channel"] == "C1"
    for event in (Event.RESOLVED, Event.TEST):
        body = payloads.slack_app_message(notice(event), "C1")
        assert not [b for b in body["blocks"] if b.get("block_id") == payloads.DECISION_BLOCK]


def test_the_reason_modal_round_trips_its_reason() -> None:
    view = reason_modal("deny", "payments-bot wants stripe/refund", {"org": "o"})
    assert view["submit"]["text"] == "Deny" and json.loads(view["private_metadata"]) == {"org": "o"}
    assert reason_of({"state": {"values": {"reason": {"reason_input": {"value": "  because  "}}}}}) == "because"
    assert reason_of({}) == ""


def test_a_slack_app_destination_needs_a_bot_token_a_team_and_a_channel() -> None:
    prepared = prepare("slack_app", {"token": "xoxb-1-2-abc", "team_id": "T1", "team_name": "Acme",
                                     "channel": "C1", "bot_user_id": "U1"}, allow_private=False)
    assert prepared.secret == {"token": "xoxb-1-2-abc"} and "xoxb" not in json.dumps(prepared.config)
    assert prepared.config == {"channel": "C1", "team_id": "T1", "team_name": "Acme", "bot_user_id": "U1"}
    with pytest.raises(InvalidRouting, match="bot token"):
        prepare("slack_app", {"token": "xoxp-user-token", "team_id": "T1", "channel": "C1"}, allow_private=False)
    with pytest.raises(InvalidRouting, match="team"):
        prepare("slack_app", {"token": "xoxb-1", "channel": "C1"}, allow_private=False)
