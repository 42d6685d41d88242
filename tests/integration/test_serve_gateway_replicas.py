"""Two gateway replicas (two `faramesh-cloud serve gateway` processes on one PostgreSQL, each its
own data dir, one FARAMESH_CLOUD_SECRETS_DIR) behave as one gateway behind a load balancer: a
person signed in on one is signed in on the other, and an SSO sign-in started on one completes
on the other (its state cookie is signed with the shared web_secret). A third gateway given a
web_secret of its own is the control: it cannot read that cookie, so the sign-in fails there."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.oidc import OidcProvider, authorize_at_provider
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_serve_fleet_gateway import _serve, _sign_up, _stop
from tests.integration.test_up import free_port
from tests.ports import free_internal_base

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _gateway(name: str, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    http = free_port()
    proc = _serve("gateway", tmp_path / name, {**env, "FARAMESH_CLOUD_HTTP_PORT": str(http),
                                               "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base())})
    return proc, f"http://127.0.0.1:{http}"


def _answering(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    with httpx.Client(base_url=base, timeout=10) as probe:
        while True:
            assert proc.poll() is None, "serve gateway exited"
            try:
                probe.get("/api/v1/status")
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve gateway did not start"
                time.sleep(0.3)


def _sso_callback(browser: httpx.Client, base: str) -> str:
    started = browser.get(f"{base}/sso/start", params={"org": "ops"})
    assert started.status_code == 302, started.text[:500]
    return authorize_at_provider(started.headers["location"], "alice")


def test_two_gateway_replicas_share_sessions_and_sso_state(tmp_path: Path, pg_url: str,
                                                           shared_secrets: SharedSecrets,
                                                           oidc_provider: OidcProvider) -> None:
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    a, a_url = _gateway("a", tmp_path, common)
    b, b_url = _gateway("b", tmp_path, common)
    own = {**common, "FARAMESH_CLOUD_WEB_SECRET": "a-secret-no-other-replica-holds-0123456789"}
    c, c_url = _gateway("c", tmp_path, own)
    outputs: list[str] = []
    try:
        owner, org = _sign_up(a_url, a)  # signed in on replica A
        _answering(b_url, b)
        _answering(c_url, c)
        me_a = owner.get("/api/v1/me").json()
        on_b = httpx.Client(base_url=b_url, cookies=owner.cookies, timeout=10)
        me_b = on_b.get("/api/v1/me")
        assert me_b.status_code == 200, me_b.text[:300]
        assert me_b.json()["label"] == me_a["label"] == "operator@example.test"

        csrf = {"X-CSRF-Token": me_a["csrf_token"]}
        saved = on_b.post(f"/o/{org}/settings/organization/sso", headers=csrf, data={
            "enabled": "on", "issuer": oidc_provider.issuer, "client_id": "faramesh-cloud",
            "client_secret": "s3cret", "mappings": "sre = operator"})  # the session's CSRF token works on B too
        assert saved.status_code == 303, saved.text[:500]

        # Started on A, completed on B: the load balancer sends the callback elsewhere. The public
        # host (Host header) is the same, as behind one; the state cookie travels with the browser.
        browser = httpx.Client(timeout=10)
        callback = _sso_callback(browser, a_url)
        public_host = a_url.removeprefix("http://")
        done = browser.get(callback.replace(a_url, b_url), headers={"Host": public_host})
        assert done.status_code == 303 and done.headers["location"] == "/o/ops/", done.text[:500]
        assert browser.get(f"{a_url}/api/v1/me").json()["label"] == "alice@corp.test"  # and A knows it

        stranger = httpx.Client(timeout=10)  # the control: C signs cookies with a secret of its own
        callback = _sso_callback(stranger, a_url)
        refused = stranger.get(callback.replace(a_url, c_url), headers={"Host": public_host})
        assert refused.status_code == 400 and "did not complete" in refused.text, refused.text[:300]
        for client in (owner, on_b, browser, stranger):
            client.close()
    finally:
        for proc in (a, b, c):
            outputs.append(_stop(proc))
    for out in outputs:
        assert "Traceback" not in out, out[-3000:]
