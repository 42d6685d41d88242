"""``/api/docs`` works on an air-gapped install (real HTTP): the page references only
same-origin assets, each of them is served, and its Content-Security-Policy keeps it so."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

VENDORED = Path(__file__).resolve().parents[2] / "services" / "gateway" / "static" / "swagger-ui"


async def test_the_api_docs_load_nothing_from_outside(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        page = await client.get("/api/docs")
        assert page.status_code == 200
        refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(refs) == 3 and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs
        assert "://" not in page.text  # no absolute URL anywhere on the page (scripts included)
        assets = {ref: await client.get(ref) for ref in refs}
        spec = await client.get("/api/v1/openapi.json")
    assert {ref: a.status_code for ref, a in assets.items()} == dict.fromkeys(refs, 200)
    by_name = {ref.rsplit("/", 1)[1]: a for ref, a in assets.items()}
    assert by_name["swagger-ui-bundle.js"].headers["content-type"].startswith(("text/javascript",
                                                                              "application/javascript"))
    assert by_name["swagger-ui.css"].headers["content-type"].startswith("text/css")
    assert hashlib.sha256(by_name["swagger-ui-bundle.js"].content).hexdigest() in (VENDORED / "README.md").read_text()
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "http" not in csp
    assert '"validatorUrl": null' in page.text  # no badge fetched from the online validator
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "Faramesh Cloud API"
    assert "Apache License" in (VENDORED / "LICENSE").read_text()
