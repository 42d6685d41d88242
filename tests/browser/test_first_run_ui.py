"""A fresh install in a browser: create the first owner, sign out, sign in with the password;
and the first page's "register a stack" command, run as shown, puts the stack in that owner's
organisation."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from faramesh_cloud.sql.embedded import EmbeddedPostgres
from tests.fixtures.browser import LiveGateway, NewPage, screenshot, serve_live
from tests.fixtures.identity import PASSWORD


def test_first_owner_then_local_sign_in(live_gateway: LiveGateway, new_page: NewPage) -> None:
    page = new_page()
    page.goto(live_gateway.base + "/")
    page.get_by_role("link", name="Create the first owner").click()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Organisation name").fill("Acme Payments")
    page.get_by_label("Organisation slug").fill("acme")
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(live_gateway.base + "/o/acme/")
    expect(page.get_by_role("heading", name="Fleet health")).to_be_visible()
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link")).to_have_text(["Home", "Settings"])

    page.locator("#user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Faramesh Cloud")).to_be_visible()
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("wrong email or password")
    screenshot(page, "login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(live_gateway.base + "/o/acme/")
    expect(page.locator("#org-switcher summary")).to_have_text("Acme Payments ▾")


@pytest.fixture
def fresh_gateway(embedded_postgres: EmbeddedPostgres, pg_template: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """A gateway on a database of its own: an install nobody has set up yet."""
    with serve_live(embedded_postgres, pg_template, "fr",
                    lambda url: LiveGateway(url, tmp_path_factory.mktemp("fresh-gateway"))) as live:
        yield live


def test_the_first_pages_register_command_registers_into_the_owners_organisation(
        fresh_gateway: LiveGateway, new_page: NewPage, tmp_path: Path) -> None:
    page = new_page()
    page.goto(fresh_gateway.base + "/")
    command = shlex.split(page.locator("#register-command").inner_text())
    assert command[:3] == ["faramesh-cloud", "stacks", "register"] and "--org" not in command

    page.get_by_role("link", name="Create the first owner").click()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Organisation name").fill("Acme Payments")
    page.get_by_label("Organisation slug").fill("acme")
    page.get_by_role("button", name="Create owner and sign in").click()
    expect(page).to_have_url(fresh_gateway.base + "/o/acme/")
    expect(page.locator("#register-hint")).to_contain_text("faramesh-cloud stacks register payments-prod --org acme")

    # The command as the first page showed it, run on the Cloud host (this Cloud's database,
    # and a --data-dir this test may write, as the page says to add).
    args = [*command[1:], "--data-dir", str(tmp_path)]
    env = {**os.environ, "FARAMESH_CLOUD_POSTGRES_URL": fresh_gateway.db_url}
    done = subprocess.run([sys.executable, "-m", "faramesh_cloud", *args], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Registered stack 'payments-prod' in organisation 'acme'" in done.stdout
    assert "created organisation" not in done.stderr

    page.reload()
    expect(page.get_by_role("cell", name="payments-prod")).to_be_visible()
    expect(page.locator("#register-hint")).to_have_count(0)
