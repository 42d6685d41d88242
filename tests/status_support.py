"""Reading a running Cloud's full ``/api/v1/status`` as its operator does: anonymous callers
get liveness only, so this signs in as the first owner (created through ``/setup`` on a fresh
install, as a person would) and reads it with that session."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.fixtures.identity import PASSWORD

OPERATOR = "operator@example.test"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class OperatorStatus:
    def __init__(self, base: str) -> None:
        self._client = httpx.Client(base_url=base, timeout=5)
        self._signed_in = False

    def close(self) -> None:
        self._client.close()

    def _sign_in(self) -> None:
        form = self._client.get("/setup")
        if form.status_code == 200:  # a fresh install: become its first owner (adopting a lone org)
            slug = _value(form.text, "org_slug") or "ops"
            data = {"name": "Operator", "email": OPERATOR, "password": PASSWORD,
                    "org_name": _value(form.text, "org_name") or "Ops", "org_slug": slug}
            target = "/setup"
        else:
            form = self._client.get("/login")
            data = {"email": OPERATOR, "password": PASSWORD, "next": "/"}
            target = "/login"
        found = _CSRF.search(form.text)
        assert found, form.text[:500]
        answer = self._client.post(target, data={**data, "csrf_token": found.group(1)})
        assert answer.status_code == 303, answer.text[:500]
        self._signed_in = True

    def get(self) -> dict[str, Any]:
        """The full status (raises httpx.TransportError while the server is not up)."""
        if not self._signed_in:
            self._sign_in()
        response = self._client.get("/api/v1/status")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        assert "services" in body, body
        return body


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""
