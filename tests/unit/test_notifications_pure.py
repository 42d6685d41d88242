"""Notifications, pure parts: which rule applies, when escalation steps are due, the SSRF
classifier, and the exact bytes each channel is sent (Slack, PagerDuty, email, the
Standard Webhooks signature checked independently of the code that makes it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from faramesh_cloud.egress.ssrf import UnsafeDestination, check_host, check_url, classify
from faramesh_cloud.notifications import payloads
from faramesh_cloud.notifications.destinations import SecretBox, prepare
from faramesh_cloud.notifications.domain import (
    Event,
    InvalidRouting,
    Notice,
    Rule,
    Step,
    Subject,
    due_steps,
    parse_steps,
    parse_subject,
    route,
)

ORG = "3f2b8c1e-0000-4000-8000-000000000001"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rule(stack: str = "", agent: str = "", *ids: str) -> Rule:
    return Rule(f"r-{stack}-{agent}", ORG, stack, agent, (Step(0, ids or ("d1",)),))


def notice(event: Event = Event.REQUESTED, **kw: object) -> Notice:
    values: dict[str, object] = dict(
        event=event, org_id=ORG, org_slug="acme", stack_id="s-1", stack_name="payments-prod", defer_token="tok-1",
        agent_id="payments-bot", tool_id="stripe/refund", reason="refund <b>above</b> 100 & more",
        priority="high", matched_rule_id="refunds-over-100", session_id="sess-1",
        created_at=T0.isoformat(), deadline=(T0 + timedelta(minutes=30)).isoformat(),
        link="https://cloud.example.test/o/acme/approvals?stack=s-1&agent=payments-bot")
    values.update(kw)
    return Notice(**values)  # type: ignore[arg-type]


# Routing -------------------------------------------------------------------------------------
def test_the_most_specific_matching_rule_wins() -> None:
    rules = [rule(), rule("s-1"), rule("", "bot"), rule("s-1", "bot")]
    assert route(rules, "s-1", "bot").rule_id == "r-s-1-bot"  # type: ignore[union-attr]
    assert route(rules, "s-2", "bot").rule_id == "r--bot"  # type: ignore[union-attr]
    assert route(rules, "s-1", "other").rule_id == "r-s-1-"  # type: ignore[union-attr]
    assert route(rules, "s-2", "other").rule_id == "r--"  # type: ignore[union-attr]
    assert route([rule("s-1")], "s-2", "bot") is None


def test_steps_are_checked() -> None:
    ok = parse_steps([{"after_minutes": 0, "destinations": ["a"]}, {"after_minutes": 15, "destinations": ["b", "b"]}],
                     ["a", "b"])
    assert ok == (Step(0, ("a",)), Step(15, ("b",)))
    for bad, message in [
        ([], "at least one step"),
        ([{"after_minutes": 5, "destinations": ["a"]}], "must be 0"),
        ([{"after_minutes": 0, "destinations": ["a"]}, {"after_minutes": 0, "destinations": ["b"]}], "later than"),
        ([{"after_minutes": 0, "destinations": ["zzz"]}], "no destination 'zzz'"),
        ([{"after_minutes": 0, "destinations": []}], "names no destination"),
        ([{"after_minutes": "soon", "destinations": ["a"]}], "whole number"),
    ]:
        with pytest.raises(InvalidRouting, match=message):
            parse_steps(bad, ["a", "b"])


def test_escalation_steps_fall_due_at_their_threshold_and_stop_at_the_deadline() -> None:
    steps = (Step(0, ("a",)), Step(10, ("b",)), Step(30, ("c",)))
    deadline = T0 + timedelta(hours=1)
    assert due_steps(steps, 1, T0, deadline, T0 + timedelta(minutes=9, seconds=59)) == []
    assert due_steps(steps, 1, T0, deadline, T0 + timedelta(minutes=10)) == [1]
    assert due_steps(steps, 2, T0, deadline, T0 + timedelta(minutes=10)) == []
    assert due_steps(steps, 1, T0, deadline, T0 + timedelta(minutes=45)) == [1, 2]  # was down: both
    assert due_steps(steps, 1, T0, deadline, deadline) == []  # can no longer be decided
    assert due_steps(steps, 0, T0, T0 - timedelta(seconds=1), T0) == []  # an expired one replayed


# SSRF ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "::127.0.0.1",
    "192.0.2.10", "198.18.0.1",
])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_a_name_that_resolves_inside_is_refused_unless_private_destinations_are_allowed() -> None:
    def inside(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]  # one bad answer in a round robin is enough

    with pytest.raises(UnsafeDestination, match=re.escape("127.0.0.1, a loopback address")):
        check_url("https://hooks.example.test/x", allow_private=False, resolver=inside)
    target = check_url("https://hooks.example.test:8443/x?y=1", allow_private=True, resolver=inside)
    assert (target.address, target.host_header, target.pinned_url()) == (
        "93.184.216.34", "hooks.example.test:8443", "https://93.184.216.34:8443/x?y=1")
    with pytest.raises(UnsafeDestination, match=re.escape("169.254.169.254, a cloud metadata")):
        check_url("https://169.254.169.254/latest/meta-data", allow_private=False)
    with pytest.raises(UnsafeDestination, match="multicast"):
        check_host("224.0.0.1", 25, allow_private=True)  # never, even self-hosted
    with pytest.raises(UnsafeDestination, match="https"):
        check_url("http://1.1.1.1/", allow_private=False)
    with pytest.raises(UnsafeDestination, match="credentials"):
        check_url("https://user:pw@1.1.1.1/", allow_private=False)


def test_destination_creation_refuses_internal_urls_with_a_clear_message() -> None:
    with pytest.raises(InvalidRouting, match=r"an IPv6 address wrapping 127.0.0.1, a loopback address"):
        prepare("webhook", {"url": "https://[::ffff:127.0.0.1]/hook"}, allow_private=False)
    with pytest.raises(InvalidRouting, match=re.escape("10.0.0.5, a private address")):
        prepare("email", {"smtp_host": "10.0.0.5", "sender": "a@b.example", "to": "c@d.example"}, allow_private=False)
    with pytest.raises(InvalidRouting, match="32 letters and digits"):
        prepare("pagerduty", {"routing_key": "short"}, allow_private=False)
    made = prepare("webhook", {"url": "https://1.1.1.1/hook"}, allow_private=False)
    assert made.shown_once["signing_secret"].startswith("whsec_") and made.config == {"url": "https://1.1.1.1/hook"}


def test_secrets_are_sealed_and_bound_to_their_destination() -> None:
    box = SecretBox(bytes(range(32)))
    sealed = box.seal(ORG, "d1", {"token": "xoxb-secret"})
    assert b"xoxb-secret" not in sealed
    assert box.open(ORG, "d1", sealed) == {"token": "xoxb-secret"}
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        box.open(ORG, "d2", sealed)


# Payloads ------------------------------------------------------------------------------------
def test_slack_message_escapes_agent_text_and_links_to_the_queue() -> None:
    body = payloads.slack_message(notice())
    assert body["text"] == ("Approval needed: payments-bot wants stripe/refund on payments-prod. "
                            "refund &lt;b&gt;above&lt;/b&gt; 100 &amp; more")
    assert body["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "Approval needed: payments-bot wants stripe/refund on payments-prod",
        "emoji": False}}
    assert {"type": "mrkdwn", "text": "*Tool*\nstripe/refund"} in body["blocks"][1]["fields"]
    assert body["blocks"][-1]["elements"][0]["url"] == notice().link
    assert payloads.slack_post_message(notice(), "C0123")["channel"] == "C0123"


def test_pagerduty_trigger_and_resolve_share_the_dedup_key() -> None:
    trigger = payloads.pagerduty_event(notice(), "R" * 32)
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == "R" * 32
    assert trigger["dedup_key"] == f"faramesh/{ORG}/s-1/tok-1"
    assert trigger["payload"]["severity"] == "error"  # priority high
    assert trigger["payload"]["source"] == "faramesh-cloud/acme/payments-prod"
    assert trigger["payload"]["custom_details"]["agent"] == "payments-bot"
    resolve = payloads.pagerduty_event(notice(Event.RESOLVED, outcome="approved"), "R" * 32)
    assert resolve == {"routing_key": "R" * 32, "event_action": "resolve", "dedup_key": trigger["dedup_key"]}


def test_email_is_plain_text_with_the_facts() -> None:
    message = payloads.email_message(notice(Event.ESCALATED, step=1, after_minutes=15), "cloud@example.test",
                                     ["a@example.test", "b@example.test"], "example.test")
    assert message["Subject"] == "[Faramesh] Still pending after 15 min: payments-bot wants stripe/refund on payments-prod"
    assert message["To"] == "a@example.test, b@example.test"
    text = message.get_content()
    assert "Agent: payments-bot" in text and "Open in Faramesh Cloud: https://cloud.example.test/" in text


def test_the_webhook_signature_is_standard_webhooks() -> None:
    secret = payloads.new_webhook_secret()
    body = payloads.webhook_body(notice(), 1764072000)
    headers = payloads.webhook_headers(secret, "msg_abc", 1764072000, body)
    # Verify as a receiver would (the Standard Webhooks reference algorithm, written out here).
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_abc.1764072000." + body, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert headers["webhook-id"] == "msg_abc" and headers["webhook-timestamp"] == "1764072000"
    event = json.loads(body)
    assert event["type"] == "approval.requested" and event["data"]["defer_token"] == "tok-1"


def test_which_answers_are_retried() -> None:
    import httpx

    from faramesh_cloud.notifications.outbox import OutboxConfig, backoff
    from faramesh_cloud.notifications.senders import http_outcome

    def outcome(code: int) -> tuple[bool, bool]:
        result = http_outcome(httpx.Response(code, text="x"))
        return result.delivered, result.retry

    assert outcome(202) == (True, False)
    assert [outcome(c) for c in (408, 429, 500, 503)] == [(False, True)] * 4
    assert [outcome(c) for c in (400, 401, 404, 410)] == [(False, False)] * 4
    config = OutboxConfig(retry_initial_s=5, retry_max_s=60)
    assert [backoff(n, config) for n in (1, 2, 3, 4, 5, 9)] == [5, 10, 20, 40, 60, 60]


def test_daemon_text_cannot_inject_email_headers() -> None:
    hostile = notice(agent_id="bot\r\nBcc: victim@example.test", tool_id="x\ny")
    message = payloads.email_message(hostile, "cloud@example.test", ["a@example.test"], "example.test")
    assert message["Bcc"] is None
    assert message["Subject"] == "[Faramesh] Approval needed: bot Bcc: victim@example.test wants x y on payments-prod"
    assert b"\r\nBcc:" not in message.as_bytes()


def test_during_a_rotation_both_secrets_sign() -> None:
    new, old = payloads.new_webhook_secret(), payloads.new_webhook_secret()
    body = payloads.webhook_body(notice(), 1764072000)
    header = payloads.webhook_headers(new, "msg_1", 1764072000, body, previous=old)["webhook-signature"]
    signed = b"msg_1.1764072000." + body
    expected = [
        "v1," + base64.b64encode(hmac.new(base64.b64decode(s.removeprefix("whsec_")), signed,
                                          hashlib.sha256).digest()).decode() for s in (new, old)]
    assert header.split(" ") == expected


def alert_notice(event: Event = Event.CHAIN_ALERT) -> Notice:
    return Notice(event=event, org_id=ORG, org_slug="acme", stack_id="s1", stack_name="payments-prod",
                  defer_token="alert-7", agent_id="bot", tool_id="", reason="", priority="critical",
                  matched_rule_id="", session_id="", created_at=T0.isoformat(), deadline="",
                  link="https://c.test/o/acme/audit/records/r-9", finding="broken_link", record_id="r-9",
                  message="links to <record> 3", integrity_link="https://c.test/o/acme/audit/integrity/s1",
                  resolved_by="olga@example.test" if event is Event.CHAIN_ACKNOWLEDGED else "",
                  acknowledged_note="re-keyed" if event is Event.CHAIN_ACKNOWLEDGED else "")


def test_a_rule_routes_one_subject_and_a_chain_integrity_rule_has_one_step() -> None:
    approvals = rule("", "", "d1")
    alerts = Rule("r-alerts", ORG, "", "", (Step(0, ("d2",)),), subject=Subject.CHAIN_INTEGRITY)
    assert route([approvals, alerts], "s1", "bot") is approvals
    assert route([approvals, alerts], "s1", "bot", Subject.CHAIN_INTEGRITY) is alerts
    assert route([approvals], "s1", "bot", Subject.CHAIN_INTEGRITY) is None
    two = [{"after_minutes": 0, "destinations": ["d1"]}, {"after_minutes": 5, "destinations": ["d1"]}]
    assert len(parse_steps(two, ["d1"])) == 2
    with pytest.raises(InvalidRouting, match="one step"):
        parse_steps(two, ["d1"], Subject.CHAIN_INTEGRITY)
    with pytest.raises(InvalidRouting, match="one step"):
        parse_steps(two, ["d1"], Subject.EMERGENCY_COMMANDS)
    with pytest.raises(InvalidRouting, match="approvals, chain_integrity or emergency_commands"):
        parse_subject("billing")


def test_a_chain_integrity_alert_pages_critical_and_acknowledging_resolves() -> None:
    trigger = payloads.pagerduty_event(alert_notice(), "KEY")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == f"faramesh/{ORG}/s1/alert-7"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["class"] == "chain_integrity"
    assert trigger["payload"]["summary"] == ("Chain integrity: broken_link on bot (payments-prod, acme). "
                                             "links to <record> 3")
    assert trigger["payload"]["custom_details"]["record"] == "r-9"
    assert [link["text"] for link in trigger["links"]] == ["Explain the record", "Chain integrity"]
    resolve = payloads.pagerduty_event(alert_notice(Event.CHAIN_ACKNOWLEDGED), "KEY")
    assert resolve == {"routing_key": "KEY", "event_action": "resolve", "dedup_key": f"faramesh/{ORG}/s1/alert-7"}
    slack = payloads.slack_message(alert_notice())
    assert "&lt;record&gt;" in slack["text"] and "<record>" not in json.dumps(slack)
    data = json.loads(payloads.webhook_body(alert_notice(Event.CHAIN_ACKNOWLEDGED), 1))["data"]
    assert (data["finding"], data["acknowledged_note"], data["resolved_by"]) == ("broken_link", "re-keyed",
                                                                                 "olga@example.test")
    assert not {"tool_id", "reason", "deadline", "step"} & data.keys()
    approval = json.loads(payloads.webhook_body(notice(), 1))["data"]
    assert not {"finding", "record_id", "integrity_link"} & approval.keys()  # approvals unchanged
    mail = payloads.email_message(alert_notice(), "c@x.test", ["o@x.test"], "x.test").get_content()
    assert "Record: r-9" in mail and "Explain the record: https://c.test/o/acme/audit/records/r-9" in mail
