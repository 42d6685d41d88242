"""ClickHouse DDL of the DPR index. Runs unchanged on chDB and on a ClickHouse server.

The reasons for each choice are in the DDL comments (they travel with the table). Numbers
quoted there come from ``bench/audit_bench.py`` and the ``Audit index`` section of
``bench/RESULTS.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from faramesh_cloud.audit_index.retention.repartition import repartition
from faramesh_cloud.olap.port import Olap

SCHEMA_VERSION: Final = 1
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Columns the list views (search, session timeline, live tail) read. The projections hold
# exactly these, so a list query is served from a projection without touching ``raw``.
SUMMARY_COLUMNS: Final = (
    "org_id", "stack_id", "agent_id", "session_id", "record_id", "created_at", "created_at_text",
    "effect", "action_type", "tool_id", "matched_rule_id", "reason_code", "reason", "lamport_seq",
    "record_hash", "hash_valid", "signature_status", "signature_kind", "link_status", "source",
    "log_partition", "log_offset", "org_seq",
)

_DPR_TABLE = """
CREATE TABLE IF NOT EXISTS {table}
(
    -- Tenancy and origin come from the log headers, never from the record body.
    org_id            LowCardinality(String),
    stack_id          LowCardinality(String),
    source            LowCardinality(String),          -- sync, wal-import, legacy-feed, webhook
    origin_seq        UInt64,                          -- daemon sequence or WAL frame offset
    origin_buffer     String,                          -- daemon buffer id or WAL file name
    received_ns       Int64 EPHEMERAL,
    received_at       DateTime64(9, 'UTC') DEFAULT fromUnixTimestamp64Nano(received_ns, 'UTC'),
    log_partition     UInt16,                          -- (log_partition, log_offset): the message
    log_offset        UInt64,                          -- this row was first indexed from
    -- Live-tail order: dense per organisation, given at indexing time under a PostgreSQL
    -- lock. created_at cannot serve a tail (a daemon back online syncs old records late).
    org_seq           UInt64,
    indexed_at        DateTime64(6, 'UTC') DEFAULT now64(6),  -- ingest-to-searchable lag

    -- The record. created_at keeps all nine digits twice: DateTime64(9) to sort and filter,
    -- and the exact string the daemon hashed (Python datetimes stop at microseconds).
    agent_id          LowCardinality(String),
    session_id        String,
    record_id         String,                          -- UUIDv4 today; older ids are free text
    created_ns        Int64 EPHEMERAL,
    created_at        DateTime64(9, 'UTC') DEFAULT fromUnixTimestamp64Nano(created_ns, 'UTC'),
    created_at_text   String,
    effect            LowCardinality(String),
    action_type       LowCardinality(String),
    tool_id           LowCardinality(String),
    matched_rule_id   LowCardinality(String),
    reason_code       LowCardinality(String),
    reason            String CODEC(ZSTD(1)),
    intercept_adapter LowCardinality(String),
    policy_version    LowCardinality(String),
    incident_severity LowCardinality(String),
    schema_version    LowCardinality(String),
    lamport_seq       UInt64,
    record_hash       String,
    prev_record_hash  String,

    -- Verification, per record: the hash recomputed from the canonical bytes, the Ed25519
    -- signature, and how the record linked into its agent's chain when it arrived.
    hash_valid        Bool,
    signature_status  Enum8('unsigned' = 0, 'valid' = 1, 'invalid' = 2, 'untrusted' = 3),
    signature_kind    Enum8('none' = 0, 'ed25519' = 1, 'hmac' = 2),
    link_status       Enum8('linked' = 0, 'gap' = 1, 'broken_link' = 2, 'invalid_genesis' = 3,
                            'regenesis' = 4, 'duplicate' = 5, 'unchecked' = 6),

    -- The record's bytes exactly as the daemon wrote them: re-verification and signed
    -- export work from these, not from the columns above. ZSTD(1), not (3): the same size
    -- on DPRs (186 vs 187 B/row for the whole row) for ~5 us less CPU per row on insert,
    -- and again on every merge (RESULTS.md, "Lag at 10,000 DPR/s").
    raw               String CODEC(ZSTD(1)),

    -- Explain-by-id: ids are random, so a bloom filter per granule skips almost every
    -- granule of the organisation; cheaper than a third sorted copy.
    INDEX idx_record_id record_id TYPE bloom_filter(0.001) GRANULARITY 1,
    -- Live tail reads org_seq > cursor: recent rows sit in few granules (org_seq grows
    -- with time and created_at is the sort key), min/max per granule skips the rest.
    INDEX idx_org_seq org_seq TYPE minmax GRANULARITY 1,

    -- Search by agent (+ time): agents write all the time, so in the (org, created_at)
    -- order one agent's rows are spread over every granule. This projection keeps a
    -- summary copy (no raw) sorted by agent, so "agent X in window W" reads a few granules.
    PROJECTION p_agent
    (
        SELECT {summary}
        ORDER BY (org_id, agent_id, stack_id, created_at)
    ),
    -- Session timeline across agents: a session id may live for the agent's whole life
    -- (the proxy's "<agent>-proxy-session"), so a bloom filter would not bound it; sorted
    -- by (org, session, created_at) a timeline page is one contiguous range.
    PROJECTION p_session
    (
        SELECT {summary}
        ORDER BY (org_id, session_id, created_at)
    )
)
ENGINE = MergeTree
-- Monthly partitions per organisation: retention drops whole partitions of one org
-- (docs/retention.md); an insert writes one part per (org, month) it touches.
PARTITION BY (org_id, toYYYYMM(created_at))
-- Every query names one organisation (tenant scope), and the explorer's main views
-- (search, live stream, counts over a window) are "this org, this time range, newest
-- first": (org_id, created_at) serves them with a range read and keyset pagination.
-- Plain MergeTree, not ReplacingMergeTree: the sink never inserts a row that is already
-- there (existence check under PostgreSQL row locks, see sink.py), so queries need no
-- FINAL and can use the projections (FINAL cannot; measured 1.5-10x slower, RESULTS.md).
ORDER BY (org_id, created_at)
"""


_SUMMARY_TABLE = """
CREATE TABLE IF NOT EXISTS {table}
(
    -- Unverified decision summaries from decisions.legacy.v1 (the legacy Horizon feed and
    -- daemon webhooks): a sibling of dpr_records, not rows in it, so nothing that reads
    -- dpr_records as "the DPRs" (chain views, Grafana's findings panels, exports) can take
    -- a summary for a record whose hash or link failed. The query API reads both tables.
    -- One row per (org_id, stack_id, record_id): the sink checks PostgreSQL
    -- (audit_legacy_decisions) before it inserts, as the DPR sink does, so no FINAL.
    org_id            LowCardinality(String),
    stack_id          LowCardinality(String),
    source            LowCardinality(String),          -- legacy-feed or webhook
    origin_seq        UInt64,                          -- index in the Horizon batch (webhook: 0)
    origin_buffer     String,                          -- the HTTP request's id
    received_ns       Int64 EPHEMERAL,
    received_at       DateTime64(9, 'UTC') DEFAULT fromUnixTimestamp64Nano(received_ns, 'UTC'),
    log_partition     UInt16,                          -- on decisions.legacy.v1
    log_offset        UInt64,
    org_seq           UInt64,                          -- the live tail's sequence, shared with dpr_records
    indexed_at        DateTime64(6, 'UTC') DEFAULT now64(6),
    agent_id          LowCardinality(String),
    session_id        String,
    record_id         String,                          -- the daemon's, or no-record-id-<partition>-<offset>
    -- The daemon's timestamp in UTC (the Horizon feed sends its local zone); the text it
    -- sent is in raw.
    created_ns        Int64 EPHEMERAL,
    created_at        DateTime64(9, 'UTC') DEFAULT fromUnixTimestamp64Nano(created_ns, 'UTC'),
    created_at_text   String,
    effect            LowCardinality(String),
    tool_id           LowCardinality(String),
    matched_rule_id   LowCardinality(String),
    reason_code       LowCardinality(String),
    reason            String CODEC(ZSTD(1)),
    policy_version    LowCardinality(String),
    raw               String CODEC(ZSTD(1)),           -- the event as it is on the log
    INDEX idx_record_id record_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_org_seq org_seq TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY (org_id, toYYYYMM(created_at))  -- per org, as dpr_records: retention drops them
ORDER BY (org_id, created_at)
"""

_SUPERSEDED_TABLE = """
CREATE TABLE IF NOT EXISTS {table}
(
    -- Summaries a DPR with the same (org, stack, record_id) replaced after they were
    -- indexed: the DPR sink inserts the key in the batch that indexes the DPR, and every
    -- read of the summaries leaves these keys out. Rows are never removed from the
    -- summaries table (no mutations); a key written twice (a retried batch) changes nothing.
    org_id     LowCardinality(String),
    stack_id   LowCardinality(String),
    record_id  String
)
ENGINE = MergeTree
ORDER BY (org_id, stack_id, record_id)
"""


@dataclass(frozen=True, slots=True)
class AuditTables:
    """Fully qualified names of the audit index's ClickHouse tables."""

    database: str = "faramesh_audit"

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.database):
            raise ValueError(
                f"ClickHouse database name {self.database!r} must be letters, digits and _ "
                "(and not start with a digit); choose another name"
            )

    @property
    def dpr(self) -> str:
        return f"{self.database}.dpr_records"

    @property
    def summaries(self) -> str:
        """Unverified decision summaries (decisions.legacy.v1)."""
        return f"{self.database}.legacy_decisions"

    @property
    def superseded(self) -> str:
        """Keys of summaries a DPR replaced."""
        return f"{self.database}.legacy_superseded"

    def statements(self) -> list[str]:
        return [
            f"CREATE DATABASE IF NOT EXISTS {self.database}",
            _DPR_TABLE.format(table=self.dpr, summary=", ".join(SUMMARY_COLUMNS)),
            # Tables created with ZSTD(3) move to the DDL's codec: metadata only (no
            # mutation); parts written before keep theirs until they are merged.
            f"ALTER TABLE {self.dpr} MODIFY COLUMN raw String CODEC(ZSTD(1))",
            _SUMMARY_TABLE.format(table=self.summaries),
            _SUPERSEDED_TABLE.format(table=self.superseded),
        ]


# Background merges of dpr_records at 10,000 DPR/s (bench/merge_bench.py; bench/RESULTS.md,
# "Merges and the verifier's lookups"):
# at base 10 a merge takes more parts at once and each row is rewritten less often than at
# the default 5: 10-34 % less merge CPU in three side-by-side runs, for up to twice the parts
# per partition (15-20 instead of 10-12 at 3-4M rows; queries read them in parallel).
MERGE_SETTINGS: Final = {"merge_selector_base": "10"}


def ensure_schema(olap: Olap, tables: AuditTables) -> None:
    """Create what is missing (idempotent), and move tables made before retention to the
    per-organisation partition key (``retention/repartition.py``). Blocking: call it in a
    thread from async code."""
    for statement in tables.statements():
        olap.command(statement)
    repartition(olap, tables.dpr, _DPR_TABLE.replace("{summary}", ", ".join(SUMMARY_COLUMNS)))
    repartition(olap, tables.summaries, _SUMMARY_TABLE)
    tune_merges(olap, tables.dpr)


def tune_merges(olap: Olap, table: str) -> None:
    """``MERGE_SETTINGS`` on ``table`` (metadata only, any time): those this ClickHouse knows.
    A server older than a setting keeps its default rather than refuse the schema."""
    known = {str(row[0]) for row in olap.query(
        "SELECT name FROM system.merge_tree_settings WHERE name IN {names:Array(String)}",
        {"names": list(MERGE_SETTINGS)}).rows}
    wanted = [f"{name} = {value}" for name, value in MERGE_SETTINGS.items() if name in known]
    if wanted:
        olap.command(f"ALTER TABLE {table} MODIFY SETTING {', '.join(wanted)}")
