"""Explain as grouped sections over the real index (PostgreSQL + chDB, the record pushed
through the real audit index): identity, decision, rule, args, credentials, latency breakdown
and chain position, each one compact list (scalars inline, documents indented), the args
pretty-printed with the daemon's redactions (``"[redacted]"``, ``"hmac:…"``;
FARAMESH_FORMATS 1.11) visibly marked and counted, and nothing else marked."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in, static_status
from tests.fixtures.identity import People
from tests.integration.audit_explorer_support import XSS, explorer_deps
from tests.integration.audit_support import BASE_NS, HMAC_KEY, SEED, fast_config, publish, run_index

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]
HMAC_VALUE = "hmac:q83vEjRWeJA="
ARGS = {"amount": 120, "customer": {"api_key": "[redacted]", "email": HMAC_VALUE, "name": "Ada"},
        "note": XSS, "memo": "the [redacted] word inside a sentence stays plain"}
ENVELOPE = {"token": "abcd1234", "approver_id": "ada", "approved": True, "status": "approved",
            "resolved_at": "2026-05-28T10:00:04Z", "signature": "00" * 32}


def _section(html: str, key: str) -> str:
    found = re.search(rf'<section class="x-sec[^"]*" id="group-{key}"[^>]*>(.*?)</section>', html, re.S)
    assert found, f"no section {key}"
    return found.group(1)


async def test_explain_groups_fields_into_sections_and_marks_the_redactions(
        identity: Identity, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str, tmp_path: Path, people: People) -> None:
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments")
    writer = AgentWriter("refunds-bot", random.Random(4), ed25519_seed=SEED, hmac_key=HMAC_KEY, signed_share=1.0,
                         sessions=["case-9"])
    record = writer.next(BASE_NS, effect="PERMIT", tool_id="stripe/refund", reason_code="APPROVAL_GRANTED",
                         selector_snapshot=ARGS, approval_envelope=json.dumps(ENVELOPE), credential_brokered=True,
                         credential_source="vault", credential_scope="refunds:write", execution_timeout_ms=3000,
                         invoked_by_agent_id="orchestrator")
    await publish(postgres_log, owner.org.org_id, stack.stack_id, [record])
    await run_index(database, postgres_log, chdb, fast_config(olap_database), 1)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    try:
        await sign_in(client, owner.email, owner.password)
        html = (await client.get(f"/o/acme/audit/records/{record['record_id']}")).text
    finally:
        await client.aclose()

    # Grouped sections, in one grid, not a box per field.
    for key in ("identity", "decision", "rules", "args", "credentials", "latency", "chain"):
        _section(html, key)
    identity_ = _section(html, "identity")
    assert re.search(r"<dt>invoked_by_agent_id <span[^>]*>\(not hashed\)</span></dt><dd><code>orchestrator</code>",
                     identity_)
    decision = _section(html, "decision")
    assert re.search(r"<dt>effect <span[^>]*>#</span></dt><dd><code>PERMIT</code></dd>", decision)
    # The approval envelope (a JSON string in the record) shown parsed and indented.
    envelope = re.search(r"<dt>approval_envelope.*?<pre class=\"value\">(.*?)</pre>", decision, re.S)
    assert envelope and "\n  &#34;approver_id&#34;: &#34;ada&#34;," in envelope.group(1)
    assert re.search(r"<dt>matched_rule_id", _section(html, "rules"))
    credentials = _section(html, "credentials")
    assert "<code>vault</code>" in credentials and "<code>refunds:write</code>" in credentials
    assert html.count('<pre class="value">') == 2  # the args and the envelope; every scalar inline

    # Args pretty-printed (indented, keys sorted), the redacted values marked and counted, markup as text.
    args = _section(html, "args")
    assert "2 values redacted by the daemon" in args
    snapshot = re.search(r"<dt>selector_snapshot <span[^>]*>\(not hashed\)</span></dt><dd><pre class=\"value\">(.*?)</pre>",
                         args, re.S)
    assert snapshot, args
    text = snapshot.group(1)
    assert '\n  &#34;customer&#34;: {\n    &#34;api_key&#34;: <mark class="redacted" data-redaction="redacted"' in text
    marks = re.findall(r'<mark class="redacted" data-redaction="(\w+)"[^>]*>(.*?)</mark>', text)
    assert marks == [("redacted", "&#34;[redacted]&#34;"), ("hmac", f"&#34;{HMAC_VALUE}&#34;")]
    assert text.count('class="redaction-label"') == 2
    assert "the [redacted] word inside a sentence stays plain" in text  # only whole redacted values are marked
    assert XSS not in html and "&lt;script&gt;" in text

    # Latency breakdown: decided, received by Cloud 10 s later (publish's received time), the tool timeout.
    latency = _section(html, "latency")
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
             for r in re.findall(r"<tr>(.*?)</tr>", latency, re.S)]
    cells = [c for c in cells if c]
    assert [c[0] for c in cells] == ["Decided by the daemon", "Received by Cloud", "Tool timeout requested"]
    assert cells[1][2] == "10,000 ms" and cells[2][2] == "3,000 ms"

    # Chain position and the verify form sit together in the chain section.
    chain = _section(html, "chain")
    assert 'id="chain-position"' in chain and 'id="verify"' in chain and "#0" in chain
