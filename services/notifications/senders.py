"""Delivery to each channel, over the network. Every connection goes to an address the SSRF
guard checked just before (the host name is kept for Host and TLS SNI/certificate checks),
redirects are never followed, and each send reports whether a retry can help.

* HTTP 2xx: delivered; 408, 429 and 5xx, timeouts and connection errors: retried; other
  4xx: failed (the destination is wrong; retrying would not fix it).
* Slack answers 200 with ``{"ok": false, "error": ...}``: failed, except ``ratelimited``.
* SMTP: transient (4xx replies, connection problems) retried; 5xx replies failed.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from faramesh_cloud.egress.http import Outcome, PinnedHttp, http_outcome
from faramesh_cloud.egress.ssrf import Resolver, UnsafeDestination, check_host
from faramesh_cloud.notifications import payloads
from faramesh_cloud.notifications.domain import Destination, Kind, Notice, email_recipients


@dataclass(frozen=True, slots=True)
class Endpoints:
    slack_api: str = "https://slack.com"
    pagerduty: str = "https://events.pagerduty.com"


class _PinnedSMTP(smtplib.SMTP):
    """smtplib connected to a checked address, verifying TLS against the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(local_hostname="faramesh-cloud", timeout=timeout)
        self.connect(address, port)
        self._host = host  # starttls() uses it as server_hostname


class Senders:
    def __init__(self, *, allow_private: bool, resolver: Resolver, endpoints: Endpoints,
                 timeout_s: float = 10.0, message_id_domain: str = "faramesh.cloud") -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._endpoints = endpoints
        self._timeout_s = timeout_s
        self._domain = message_id_domain
        # No keep-alive (a pooled connection is keyed by the pinned address); no user agent of
        # its own: ``_post`` names one, webhooks keep httpx's.
        self._pinned = PinnedHttp(allow_private=allow_private, resolver=resolver, timeout_s=timeout_s,
                                  user_agent=None)

    async def close(self) -> None:
        await self._pinned.close()

    async def send(self, destination: Destination, secret: dict[str, str], notice: Notice,
                   notification_id: str) -> Outcome:
        try:
            match destination.kind:
                case Kind.SLACK_WEBHOOK:
                    return await self._post(secret["url"], payloads.slack_message(notice), {})
                case Kind.SLACK_API:
                    url = self._endpoints.slack_api.rstrip("/") + "/api/chat.postMessage"
                    body = payloads.slack_post_message(notice, str(destination.config["channel"]))
                    return await self._post(url, body, {"authorization": f"Bearer {secret['token']}"}, slack_api=True)
                case Kind.SLACK_APP:
                    url = self._endpoints.slack_api.rstrip("/") + "/api/chat.postMessage"
                    body = payloads.slack_app_message(notice, str(destination.config["channel"]))
                    return await self._post(url, body, {"authorization": f"Bearer {secret['token']}"}, slack_api=True)
                case Kind.PAGERDUTY:
                    url = self._endpoints.pagerduty.rstrip("/") + "/v2/enqueue"
                    return await self._post(url, payloads.pagerduty_event(notice, secret["routing_key"]), {})
                case Kind.WEBHOOK:
                    return await self._webhook(destination, secret, notice, notification_id)
                case Kind.EMAIL:
                    return await self._email(destination, secret, notice)
        except UnsafeDestination as exc:
            return Outcome(False, retry=False, error=f"refused: {exc}")
        return Outcome(False, error=f"unknown kind {destination.kind}")

    async def _post(self, url: str, body: dict[str, Any], headers: dict[str, str], *,
                    slack_api: bool = False) -> Outcome:
        import json

        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            response = await self._pinned.post(url, content, {"content-type": "application/json; charset=utf-8",
                                                              "user-agent": "faramesh-cloud-notifications/1",
                                                              **headers})
        except httpx.HTTPError as exc:
            return Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])
        outcome = http_outcome(response)
        if outcome.delivered and slack_api:
            try:
                answer = response.json()
            except ValueError:
                return Outcome(False, retry=True, status=response.status_code, error="Slack answered no JSON")
            if not answer.get("ok"):
                error = str(answer.get("error", "unknown"))
                return Outcome(False, retry=error == "ratelimited", status=response.status_code,
                               error=f"Slack error: {error}")
        return outcome

    async def _webhook(self, destination: Destination, secret: dict[str, str], notice: Notice,
                       notification_id: str) -> Outcome:
        timestamp = int(time.time())
        message_id = f"msg_{notification_id.replace('-', '')}"
        body = payloads.webhook_body(notice, timestamp)
        previous = secret.get("previous_secret") if timestamp < int(secret.get("previous_until", "0")) else None
        headers = payloads.webhook_headers(secret["signing_secret"], message_id, timestamp, body, previous)
        try:
            response = await self._pinned.post(str(destination.config["url"]), body, headers)
        except httpx.HTTPError as exc:
            return Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])
        return http_outcome(response)

    async def _email(self, destination: Destination, secret: dict[str, str], notice: Notice) -> Outcome:
        c = destination.config
        host, port = str(c["smtp_host"]), int(c["smtp_port"])
        address = await asyncio.to_thread(check_host, host, port, allow_private=self._allow_private,
                                          resolver=self._resolver)
        message = payloads.email_message(notice, str(c["sender"]), email_recipients(c["to"], notice.extra),
                                         self._domain)

        def deliver() -> None:
            with _PinnedSMTP(host, address, port, self._timeout_s) as smtp:
                if c.get("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                if c.get("username"):
                    smtp.login(str(c["username"]), secret.get("password", ""))
                smtp.send_message(message)

        try:
            await asyncio.to_thread(deliver)
        except smtplib.SMTPResponseException as exc:
            return Outcome(False, retry=400 <= exc.smtp_code < 500, status=exc.smtp_code,
                           error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500])
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, retry=False, error=f"SMTP refused recipients: {list(exc.recipients)}"[:500])
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(True, status=250)
