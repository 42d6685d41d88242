"""Local servers that speak the third-party APIs notifications are sent to, on 127.0.0.1:
an HTTP receiver (Slack incoming webhooks, Slack ``chat.postMessage``, PagerDuty Events API
v2 ``/v2/enqueue``, any webhook endpoint) that records every request and answers from a
script, and an SMTP sink that records every message (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA,
RSET, NOOP, QUIT)."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Answers a request to a path with the next scripted (status, body) for that path, then
    with that path's fixed answer, then with ``default``."""

    default: tuple[int, bytes] = (200, b"ok")
    scripts: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str) -> tuple[int, bytes]:
        script = self.scripts.get(path)
        if script:
            return script.pop(0)
        return self.answers.get(path, self.default)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                              body))
            status, answer = receiver.answer(self.path)
            self.send_response(status)
            self.send_header("content-type", "application/json" if answer.startswith(b"{") else "text/plain")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def http_receiver(default: tuple[int, bytes] = (200, b"ok")) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(default=default)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    mails: list[Mail] = field(default_factory=list)
    helo: list[str] = field(default_factory=list)
    # Replies to the next messages' end of DATA (then "250 OK queued"); a 4xx/5xx keeps the mail out.
    data_replies: list[str] = field(default_factory=list)
    refused_recipients: set[str] = field(default_factory=set)


def _smtp_handler(sink: SmtpSink) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 sink.test ESMTP ready")
            sender, recipients = "", []
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    sink.helo.append(line[5:])
                    self.reply("250-sink.test" if verb == "EHLO" else "250 sink.test")
                    if verb == "EHLO":
                        self.reply("250 8BITMIME")
                elif verb == "MAIL":
                    sender, recipients = line.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    recipient = line.split(":", 1)[1].strip().strip("<>")
                    if recipient in sink.refused_recipients:
                        self.reply("550 5.1.1 no such mailbox")
                        continue
                    recipients.append(recipient)
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    lines = []
                    while True:
                        data = self.rfile.readline()
                        if data in (b".\r\n", b".\n", b""):
                            break
                        lines.append(data[1:] if data.startswith(b"..") else data)
                    answer = sink.data_replies.pop(0) if sink.data_replies else "250 OK queued"
                    if answer.startswith("250"):
                        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                        sink.mails.append(Mail(sender, recipients, message))  # type: ignore[arg-type]
                    self.reply(answer)
                elif verb in ("RSET", "NOOP"):
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 command not implemented")

    return Handler


@contextlib.contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _smtp_handler(sink))
    server.daemon_threads = True
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


class FakeClock:
    """The service's clock, moved by the test (escalation thresholds without waiting)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def notifications_api(database: Any, *, allow_private: bool = False, clock: Any = None) -> Any:
    """The notifications service's people-facing API over this test's database (what the
    runtime gives the gateway), with a fresh secret-sealing key."""
    import secrets

    from faramesh_cloud.egress.ssrf import system_resolver
    from faramesh_cloud.notifications.api import NotificationsApi
    from faramesh_cloud.notifications.destinations import SecretBox
    from faramesh_cloud.notifications.store import RoutingStore
    from faramesh_cloud.platform_audit.store import PlatformAuditLog

    store = RoutingStore(database, SecretBox(secrets.token_bytes(32)), PlatformAuditLog(database))
    return NotificationsApi(database, store, allow_private=allow_private, resolver=system_resolver,
                            clock=clock or (lambda: datetime.now(UTC)))


async def seed_routing(database: Any, org_id: str, stack_id: str) -> dict[str, str]:
    """One destination and one stack rule of ``org_id``, as path values for route-table walks."""
    from faramesh_cloud.platform_audit.events import Actor

    api = notifications_api(database)
    destination, _ = await api.create_destination(org_id, "seeded-hook", "webhook",
                                                  {"url": "https://1.1.1.1/hook"}, Actor.system("test"))
    rule = await api.put_rule(org_id, stack_id, "", [{"after_minutes": 0,
                                                      "destinations": [destination.destination_id]}],
                              Actor.system("test"))
    return {"destination_id": destination.destination_id, "rule_id": rule.rule_id}
