"""The applied governance.fms text (AppliedConfig.governance_fms) end to end over real
PostgreSQL: the real fleet processor and sink store each applied version's text once, the
Config tab shows it escaped with line numbers and its commit, the REST twin returns it, a
text whose SHA-256 differs from the reported governance_sha256 is kept and flagged, and the
apply history links each version's text (scoped to the stack and organisation); with the
fleet query API in process and over the fleet service's gRPC API (``tests/fleet_adapters.py``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient
from tests.fixtures.identity import People
from tests.fleet_adapters import both_fleet_reads  # noqa: F401  (fleet_reads: in process and over gRPC)
from tests.fleet_items import record, status
from tests.integration.test_fleet_api import feed, signed_in

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

V1 = 'runtime {\n  cloud_url = "https://cloud.example"\n}\n\nagent "pay" {\n  rule deny shell.* <script>alert(1)</script>\n}\n'
V2 = V1 + '\nbudget "pay" daily { max_usd = 50 }\n'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_config_tab_shows_the_synced_text_and_history_links_each_version(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    old, _ = await stacks.register_stack(org, "legacy", "production")
    now = datetime.now(UTC)
    first = status(now - timedelta(hours=1), commit="1" * 40, applied_at=now - timedelta(hours=1))
    first.applied_config.governance_fms, first.applied_config.governance_sha256 = V1, sha(V1)
    second = status(now, commit="2" * 40, applied_at=now)
    # Redaction changed the bytes: the reported SHA-256 is of the file on disk, not of this text.
    second.applied_config.governance_fms, second.applied_config.governance_sha256 = V2, "f" * 64
    again = status(now + timedelta(seconds=1), commit="2" * 40, applied_at=now)
    again.applied_config.governance_fms, again.applied_config.governance_sha256 = V2, "f" * 64
    legacy = status(now, commit="3" * 40)
    legacy.applied_config.governance_sha256 = sha(V1)
    await feed(database, [record(org, pay.stack_id, 1, "stack_status", first),
                          record(org, pay.stack_id, 2, "stack_status", second),
                          record(org, pay.stack_id, 3, "stack_status", again),
                          record(org, old.stack_id, 1, "stack_status", legacy)])
    async with database.connection() as conn:
        cur = await conn.execute("SELECT sha256 FROM fleet_config_texts WHERE org_id = %s ORDER BY sha256", (org,))
        assert [r[0] for r in await cur.fetchall()] == sorted([sha(V1), sha(V2)])  # each version once

    owner = await signed_in(client_factory, acme)
    page = (await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}/config")).text
    block = page.split('id="governance-fms"', 1)[1].split("</pre>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block and "<script>alert" not in page
    assert 'aria-hidden="true">9</span>budget &#34;pay&#34; daily' in block or \
        'aria-hidden="true">9</span>budget &quot;pay&quot; daily' in block
    assert 'href="https://github.com/acme/gov/commit/' + "2" * 40 + '"' in page
    assert 'id="sha-mismatch"' in page and 'id="no-text"' not in page

    twin = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/config")).json()
    assert (twin["governance_fms"], twin["governance_fms_sha256"]) == (V2, sha(V2))
    assert (twin["governance_sha256"], twin["governance_fms_sha256_mismatch"]) == ("f" * 64, True)

    unsynced = (await owner.get(f"/o/acme/fleet/stacks/{old.stack_id}/config")).text
    assert 'id="no-text"' in unsynced and 'id="governance-fms"' not in unsynced and 'id="sha-mismatch"' not in unsynced
    assert (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{old.stack_id}/config")).json()["governance_fms"] is None

    history = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/applies")).json()
    assert [h["text_sha256"] for h in history] == [sha(V2), sha(V1)]
    applies = (await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}/applies")).text
    assert f'href="/o/acme/fleet/stacks/{pay.stack_id}/config/{sha(V1)}"' in applies
    version = await owner.get(f"/o/acme/fleet/stacks/{pay.stack_id}/config/{sha(V1)}")
    assert version.status_code == 200 and "budget" not in version.text.split('id="governance-fms"', 1)[1]
    assert (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/config/{sha(V1)}")).json()[
        "governance_fms"] == V1
    # Another stack of the organisation never applied that text; another organisation sees nothing.
    assert (await owner.get(f"/o/acme/fleet/stacks/{old.stack_id}/config/{sha(V1)}")).status_code == 404
    assert (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/config/{'0' * 64}")).status_code == 404
    outsider = await signed_in(client_factory, beta)
    assert (await outsider.get(f"/api/v1/orgs/beta/fleet/stacks/{pay.stack_id}/config/{sha(V1)}")).status_code == 404
