"""The two audit-index reads the charts added (DecisionSeries for the Fleet list's sparklines,
ArrivalStats for the blind-minutes strip) give the same answer in process and over gRPC,
scoped to the organisation, with bad ranges refused with a reason."""

from __future__ import annotations

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.audit_adapters import AuditGateway, both_audit_adapters  # noqa: F401
from tests.integration.audit_support import BASE_NS, fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

MIN = 60_000_000_000
HOUR = 60 * MIN


async def test_series_and_arrivals_over_both_adapters(
        database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str,
        audit_gateway: AuditGateway) -> None:
    await migrate(database, [COMPONENT])
    writers = fleet("a", 2, ["s"], seed=8)
    on_time = records(writers, 6, BASE_NS)  # received 10 s after creation
    late = records(writers, 4, BASE_NS + HOUR)  # created an hour later, received 3 hours after
    await publish(postgres_log, "org-1", "stack-a", on_time, received_ns=BASE_NS + 10_000_000_000)
    await publish(postgres_log, "org-1", "stack-a", late, first_seq=6, received_ns=BASE_NS + 4 * HOUR)
    await publish(postgres_log, "org-2", "stack-a", records(fleet("b", 1, ["s"], seed=9), 3, BASE_NS))
    await run_index(database, postgres_log, chdb, fast_config(olap_database), 13)

    reader = audit_gateway.reader
    series = await reader.decision_series("org-1", ["stack-a", "stack-none"], BASE_NS, BASE_NS + 3 * HOUR, HOUR)
    assert [(s.stack_id, s.decisions) for s in series] == [("stack-a", [6, 4, 0]), ("stack-none", [0, 0, 0])]
    assert series[0].denies == [sum(1 for r in on_time if r["effect"] == "DENY"),
                                sum(1 for r in late if r["effect"] == "DENY"), 0]

    arrivals = await reader.arrivals("org-1", "stack-a", BASE_NS, BASE_NS + 5 * HOUR, MIN, 120 * 10**9)
    assert [(a.start_ns, a.received, a.late) for a in arrivals] == [(BASE_NS, 6, 0), (BASE_NS + 4 * HOUR, 4, 4)]
    # The window the late ones were created in (records() spaces them 1_000_003 ns apart, pairs tied).
    assert (arrivals[1].late_first_ns, arrivals[1].late_last_ns) == (BASE_NS + HOUR, BASE_NS + HOUR + 3 * 1_000_003)
    assert (await reader.arrivals("org-2", "stack-a", BASE_NS, BASE_NS + 5 * HOUR, MIN, 0))[0].received == 3
    assert await reader.arrivals("org-3", "stack-a", BASE_NS, BASE_NS + 5 * HOUR, MIN, 0) == []

    with pytest.raises(ValueError, match="bucket"):
        await reader.arrivals("org-1", "stack-a", BASE_NS, BASE_NS + 5 * HOUR, 0, 0)
    with pytest.raises(ValueError, match="1,000 buckets"):
        await reader.decision_series("org-1", ["stack-a"], BASE_NS, BASE_NS + 2_000 * MIN, MIN)
