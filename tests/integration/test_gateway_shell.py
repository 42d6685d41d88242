"""The UI's shell through the real gateway app (httpx over ASGI): error pages are HTML in the
layout under ``/o/{org}/`` while ``/api/...`` keeps JSON."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.rpc.errors import ServiceUnavailable
from tests.fixtures.gateway import MakeClient, sign_in
from tests.fixtures.identity import PASSWORD, People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def test_an_unknown_page_under_an_organisation_is_html_in_the_layout(client_factory: MakeClient,
                                                                            people: People) -> None:
    owner = await people.org("acme")
    browser = client_factory()
    await sign_in(browser, owner.email, PASSWORD)
    for path in ("/o/acme/settings", "/o/acme/nope", "/o/acme/settings/nope", "/o/acme/audit/records/x"):
        answer = await browser.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert 'aria-label="Sections"' in answer.text and "Acme" in answer.text, path  # the layout's nav
        assert 'data-status="404"' in answer.text and "There is no page here" in answer.text, path
    api = await browser.get("/api/v1/orgs/acme/nope")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    # another organisation's pages are the bare page: no layout of an organisation one is not in
    other = await browser.get("/o/other/nope")
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
    assert 'aria-label="Sections"' not in other.text
    # signed out: the bare page too
    stranger = await client_factory().get("/o/acme/nope")
    assert stranger.status_code == 404 and 'aria-label="Sections"' not in stranger.text


async def test_refusals_and_bad_parameters_under_an_organisation_are_html(client_factory: MakeClient,
                                                                          people: People) -> None:
    owner = await people.org("acme")
    browser = client_factory()
    await sign_in(browser, owner.email, PASSWORD)
    bad = await browser.get("/o/acme/settings/audit-log", params={"before": "lots"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert 'aria-label="Sections"' in bad.text and "before" in bad.text
    api = await browser.get("/api/v1/orgs/acme/audit-log", params={"limit": "lots"})
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "limit"]
    wrong_method = await browser.delete("/o/acme/settings/members")
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"].startswith("text/html")
    assert "allow" in wrong_method.headers
    # a role without the permission: the refusal in the layout, saying which permission
    viewer = await people.member(owner, Role.VIEWER)
    reader = client_factory()
    await sign_in(reader, viewer.email, PASSWORD)
    refused = await reader.get("/o/acme/settings/api-keys")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert 'aria-label="Sections"' in refused.text and "org:apikey:manage" in refused.text


async def test_an_error_page_whose_layout_cannot_be_read_is_the_bare_page(
        client_factory: MakeClient, people: People, gateway_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout lists the stacks: when what the page needed is down and the stacks with it,
    the person still reads the 503 (bare), not a 500 from the error page itself."""
    owner = await people.org("acme")
    browser = client_factory()
    await sign_in(browser, owner.email, PASSWORD)

    async def down(*args: object, **kwargs: object) -> None:
        raise ServiceUnavailable("fleet", "connection refused (injected)")

    monkeypatch.setattr(gateway_app.state.web.stacks, "list_stacks", down)
    answer = await browser.get("/o/acme/settings/stacks")
    assert answer.status_code == 503 and answer.headers["content-type"].startswith("text/html")
    assert "Retry-After" in answer.headers and 'aria-label="Sections"' not in answer.text
