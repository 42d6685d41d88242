"""`faramesh-cloud up` composes the DPR explorer: the runtime injects the audit reader, so the
Audit pages and their REST twin are served (behind sign-in) and documented."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.test_up import Up

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb]


def test_up_serves_the_audit_section(pg_data_dir: Path) -> None:
    up = Up(pg_data_dir / "cloud")  # not tmp_path: the embedded server runs as another user
    up.start()
    try:
        base = f"http://127.0.0.1:{up.http}"
        paths = httpx.get(f"{base}/api/v1/openapi.json", timeout=5).json()["paths"]
        assert "/api/v1/orgs/{org}/audit/records" in paths and "/api/v1/orgs/{org}/audit/stream" in paths
        page = httpx.get(f"{base}/o/default/audit", timeout=5)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        api = httpx.get(f"{base}/api/v1/orgs/default/audit/records", timeout=5)
        assert api.status_code == 401
    finally:
        code, _, output = up.interrupt()
    assert code == 0, output
