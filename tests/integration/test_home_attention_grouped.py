"""Home's attention panel at a glance (httpx over ASGI, real PostgreSQL, the real approvals
processor and sink): with many pending approvals on two stacks, one row per kind with the
count, the red/yellow split and the oldest age, per stack a link to the approvals queue
filtered to that stack (followed: it lists exactly that stack's approvals), and each item
one click further (behind a closed ``details``)."""

from __future__ import annotations

import re

import pytest

from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import seed_pending_aged
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def _cell(row: str, cls: str) -> str:
    found = re.search(rf'<td class="{cls}">(.*?)</td>', row, re.S)
    assert found, row
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


async def test_pending_approvals_grouped_per_kind_and_stack_with_split_and_oldest(
        people: People, stacks: StackStore, client_factory, database: Database) -> None:  # type: ignore[no-untyped-def]
    owner = await people.org("acme")
    pay, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    search, _ = await stacks.register_stack(owner.org.org_id, "search-prod", "prod")
    # payments-prod: 2 red (over 30 min), 3 yellow, oldest 3 h; search-prod: 2 red, oldest 50 min.
    await seed_pending_aged(database, owner.org.org_id, pay.stack_id, [1, 3, 10, 40, 180], "aa00")
    await seed_pending_aged(database, owner.org.org_id, search.stack_id, [31, 50], "bb00", first=100)
    client = client_factory()
    await sign_in(client, owner.email, owner.password)
    home = (await client.get("/o/acme/")).text

    row = re.search(r'<tr data-group="approval">(.*?)</tr>', home, re.S)
    assert row, home[:2000]
    approvals = row.group(1)
    assert _cell(approvals, "group-count") == "7"
    assert _cell(approvals, "group-split") == "4 red · 3 yellow"
    assert _cell(approvals, "group-oldest") == "3 h"
    assert 'href="/o/acme/approvals"' in approvals
    chips = dict(re.findall(r'<a class="tag stack-group" data-stack="([^"]+)" href="[^"]+">(.*?)</a>', approvals))
    text = {k: re.sub(r"<[^>]+>", "", v) for k, v in chips.items()}
    assert text == {pay.stack_id: "payments-prod: 5 (2 red) · oldest 3 h",
                    search.stack_id: "search-prod: 2 (2 red) · oldest 50 min"}
    # The busier stack first.
    assert approvals.index(pay.stack_id) < approvals.index(search.stack_id)
    # Each item one click further: listed, but behind a closed details (more than a handful).
    details = re.search(r'<details id="attention-details"([^>]*)>(.*?)</details>', home, re.S)
    assert details and "open" not in details.group(1)
    assert details.group(2).count('<li data-kind="approval">') == 7

    # The per-stack link opens the queue filtered to that stack, and it lists exactly its approvals.
    link = re.search(rf'data-stack="{search.stack_id}" href="([^"]+)"', approvals)
    assert link and link.group(1) == f"/o/acme/approvals?stack={search.stack_id}"
    queue = (await client.get(link.group(1).replace("&amp;", "&"))).text
    assert "bb000000" in queue and "bb000001" in queue and "aa00" not in queue
    assert "aa000004" in (await client.get("/o/acme/approvals")).text

    # The REST twin says the same, per kind and per stack.
    body = (await client.get("/api/v1/orgs/acme/fleet/attention")).json()
    (group,) = [g for g in body["groups"] if g["key"] == "approval"]
    assert {k: group[k] for k in ("count", "bad", "warn", "oldest", "href")} == {
        "count": 7, "bad": 4, "warn": 3, "oldest": "3 h", "href": "/o/acme/approvals"}
    assert [(t["key"], t["count"], t["bad"], t["oldest"]) for t in group["stacks"]] == [
        (pay.stack_id, 5, 2, "3 h"), (search.stack_id, 2, 2, "50 min")]
    assert all("age_s" not in i and i["stack_id"] for i in body["items"])


async def test_a_few_items_are_listed_open_under_their_group(
        people: People, stacks: StackStore, client_factory, database: Database) -> None:  # type: ignore[no-untyped-def]
    owner = await people.org("acme")
    pay, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    await seed_pending_aged(database, owner.org.org_id, pay.stack_id, [2], "cc00")
    client = client_factory()
    await sign_in(client, owner.email, owner.password)
    home = (await client.get("/o/acme/")).text
    details = re.search(r'<details id="attention-details"([^>]*)>', home)
    assert details and "open" in details.group(1)
    approvals = re.search(r'<tr data-group="approval">(.*?)</tr>', home, re.S)
    assert approvals and _cell(approvals.group(1), "group-split") == "1 yellow"
    assert _cell(approvals.group(1), "group-oldest") == "2 min"
