"""The Olap contract: every adapter (ChdbOlap, ClickhouseOlap) passes this same suite.

Each test runs once per adapter (``olap`` is parametrised) in a fresh database on the
test process's chDB data dir; see ``tests/fixtures/olap.py``.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from faramesh_cloud.olap.port import Olap, OlapError

pytestmark = pytest.mark.chdb

TS = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
NASTY = (
    "emoji 🛡️🙂, U+2028 [\u2028] U+2029 [\u2029], <script>alert('x')</script>, \"q\" \\ \t\n\r\0 end"
)
INJECTION = "x' OR '1'='1'; DROP TABLE events; --"

EVERY_TYPE = """
CREATE TABLE {t} (
    id UInt64,
    s String,
    i Int64,
    ts DateTime64(9, 'UTC'),
    tags Array(String),
    kind LowCardinality(String),
    note Nullable(String),
    ok Bool,
    f Float64,
    d Date,
    u UUID,
    amount Decimal(18, 4)
) ENGINE = MergeTree ORDER BY id
"""
COLUMNS = ["id", "s", "i", "ts", "tags", "kind", "note", "ok", "f", "d", "u", "amount"]


def _rows() -> list[tuple[object, ...]]:
    return [
        (
            0,
            "",
            0,
            datetime(1970, 1, 1, tzinfo=UTC),
            [],
            "",
            None,
            False,
            0.0,
            date(1970, 1, 1),
            uuid.UUID(int=0),
            Decimal("0"),
        ),
        (
            1,
            NASTY,
            -(2**63),
            TS,
            ["a", "b'c", "", NASTY],
            "deny",
            "a note",
            True,
            -1.25,
            date(2024, 2, 29),
            uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2"),
            Decimal("-12.3456"),
        ),
        (
            2**64 - 1,
            "max",
            2**63 - 1,
            TS.replace(microsecond=0),
            ["x"],
            "permit",
            "",
            True,
            1e300,
            date(2149, 6, 6),
            uuid.UUID(int=2**128 - 1),
            Decimal("99999999999999.9999"),
        ),
    ]


def _table(olap: Olap, olap_database: str, name: str = "events") -> str:
    table = f"{olap_database}.{name}"
    olap.command(EVERY_TYPE.format(t=table))
    return table


def test_insert_and_query_round_trip_every_supported_type(olap: Olap, olap_database: str) -> None:
    table = _table(olap, olap_database)
    rows = _rows()
    olap.insert(table, COLUMNS, rows)

    result = olap.query(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY id")

    assert result.columns == tuple(COLUMNS)
    assert result.rows == rows
    assert all(isinstance(r[3], datetime) and r[3].utcoffset() is not None for r in result.rows)


def test_nanosecond_datetimes_are_stored_and_readable_as_integers(
    olap: Olap, olap_database: str
) -> None:
    table = f"{olap_database}.ns"
    olap.command(f"CREATE TABLE {table} (ts DateTime64(9, 'UTC')) ENGINE = MergeTree ORDER BY ts")
    olap.command(
        f"INSERT INTO {table} SELECT fromUnixTimestamp64Nano({{ns:Int64}}, 'UTC')",
        {"ns": 1_709_251_198_123_456_789},
    )

    result = olap.query(f"SELECT ts, toUnixTimestamp64Nano(ts) AS ns FROM {table}")

    assert result.rows == [(TS, 1_709_251_198_123_456_789)]


def test_non_finite_floats_round_trip(olap: Olap, olap_database: str) -> None:
    table = f"{olap_database}.floats"
    olap.command(
        f"CREATE TABLE {table} (id UInt8, f Float64, xs Array(Float64), n Nullable(Float64)) "
        "ENGINE = MergeTree ORDER BY id"
    )
    olap.insert(table, ["id", "f", "xs", "n"], [(1, math.nan, [math.inf, -math.inf, 0.5], None)])

    (row,) = olap.query(f"SELECT f, xs, n FROM {table}").rows

    assert math.isnan(row[0])
    assert row[1] == [math.inf, -math.inf, 0.5]
    assert row[2] is None


def test_unicode_and_markup_survive_insert_binding_and_filtering(
    olap: Olap, olap_database: str
) -> None:
    table = _table(olap, olap_database)
    olap.insert(table, COLUMNS, _rows())

    found = olap.query(f"SELECT id, s FROM {table} WHERE s = {{s:String}}", {"s": NASTY})
    echoed = olap.query("SELECT {s:String} AS s, length({s:String}) AS n", {"s": NASTY})

    assert found.rows == [(1, NASTY)]
    assert echoed.rows == [(NASTY, len(NASTY.encode()))]


@pytest.mark.parametrize(
    ("ch_type", "value"),
    [
        ("String", NASTY),
        ("String", ""),
        ("UInt64", 2**64 - 1),
        ("Int64", -(2**63)),
        ("Float64", -0.125),
        ("Bool", True),
        ("Bool", False),
        ("DateTime64(9, 'UTC')", TS),
        ("DateTime('UTC')", TS.replace(microsecond=0)),
        ("Date", date(2024, 2, 29)),
        ("UUID", uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2")),
        ("Nullable(String)", None),
        ("Nullable(String)", "present"),
        ("LowCardinality(String)", "deny"),
        ("Array(String)", []),
        ("Array(String)", ["a", "b'c", "d\\e", NASTY, INJECTION]),
        ("Array(UInt64)", [0, 2**64 - 1]),
        ("Array(Nullable(String))", [None, "x"]),
        ("Array(DateTime64(9, 'UTC'))", [TS]),
        ("Decimal(18, 4)", Decimal("-12.3456")),
    ],
)
def test_each_type_binds_as_a_parameter(olap: Olap, ch_type: str, value: object) -> None:
    result = olap.query(f"SELECT {{v:{ch_type}}} AS v, toTypeName(v) AS t", {"v": value})

    assert result.rows == [(value, ch_type)]


def test_an_injection_string_stays_a_literal(olap: Olap, olap_database: str) -> None:
    table = _table(olap, olap_database)
    olap.insert(table, COLUMNS, _rows())

    matched = olap.query(
        f"SELECT count() AS n FROM {table} WHERE s = {{s:String}}", {"s": INJECTION}
    )
    in_list = olap.query(
        f"SELECT count() AS n FROM {table} WHERE has({{xs:Array(String)}}, s)", {"xs": [INJECTION]}
    )
    olap.command(f"ALTER TABLE {table} DELETE WHERE s = {{s:String}}", {"s": INJECTION})

    assert matched.scalar() == 0
    assert in_list.scalar() == 0
    assert olap.query(f"SELECT count() AS n FROM {table}").scalar() == len(_rows())


def test_command_binds_parameters(olap: Olap, olap_database: str) -> None:
    table = _table(olap, olap_database)

    olap.command(
        f"INSERT INTO {table} (id, s, ts, tags) VALUES ({{id:UInt64}}, {{s:String}}, "
        "{ts:DateTime64(9, 'UTC')}, {tags:Array(String)})",
        {"id": 7, "s": INJECTION, "ts": TS, "tags": ["a", INJECTION]},
    )

    rows = olap.query(f"SELECT id, s, ts, tags FROM {table}").rows
    assert rows == [(7, INJECTION, TS, ["a", INJECTION])]


def test_replacing_merge_tree_final_returns_the_latest_version(
    olap: Olap, olap_database: str
) -> None:
    table = f"{olap_database}.approvals"
    olap.command(
        f"CREATE TABLE {table} (id String, state LowCardinality(String), version UInt64) "
        "ENGINE = ReplacingMergeTree(version) ORDER BY id"
    )
    olap.insert(table, ["id", "state", "version"], [("a", "pending", 1), ("b", "pending", 1)])
    olap.insert(table, ["id", "state", "version"], [("a", "approved", 2)])
    olap.insert(table, ["id", "state", "version"], [("a", "pending", 1)])  # a late duplicate

    final = olap.query(f"SELECT id, state, version FROM {table} FINAL ORDER BY id")

    assert final.rows == [("a", "approved", 2), ("b", "pending", 1)]


def test_bulk_insert_is_complete_and_visible_on_return(olap: Olap, olap_database: str) -> None:
    table = f"{olap_database}.bulk"
    olap.command(f"CREATE TABLE {table} (n UInt64, s String) ENGINE = MergeTree ORDER BY n")
    count = 25_000

    olap.insert(table, ["n", "s"], ((n, f"row-{n}") for n in range(count)))

    result = olap.query(f"SELECT count() AS c, sum(n) AS total, uniqExact(s) AS u FROM {table}")
    assert result.rows == [(count, count * (count - 1) // 2, count)]


def test_inserting_no_rows_is_a_no_op(olap: Olap, olap_database: str) -> None:
    table = _table(olap, olap_database)

    olap.insert(table, COLUMNS, [])

    assert olap.query(f"SELECT count() FROM {table}").scalar() == 0


def test_result_helpers_give_dicts_and_scalars(olap: Olap) -> None:
    result = olap.query("SELECT number AS n, toString(number) AS s FROM numbers(2)")

    assert result.dicts() == [{"n": 0, "s": "0"}, {"n": 1, "s": "1"}]
    assert result.scalar() == 0
    assert len(result) == 2
    with pytest.raises(LookupError):
        olap.query("SELECT 1 AS one WHERE 0").scalar()


def test_data_survives_close_and_reopen(make_olap: Callable[[], Olap], olap_database: str) -> None:
    first = make_olap()
    table = _table(first, olap_database)
    first.insert(table, COLUMNS, _rows())
    first.close()

    second = make_olap()

    assert second.query(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY id").rows == _rows()


def test_bad_sql_raises_with_the_server_message(olap: Olap, olap_database: str) -> None:
    with pytest.raises(OlapError, match="Syntax error"):
        olap.query("SELEC 1")
    with pytest.raises(OlapError, match="missing_table"):
        olap.query(f"SELECT * FROM {olap_database}.missing_table")
    with pytest.raises(OlapError, match=r"UNKNOWN_IDENTIFIER|Unknown expression"):
        olap.command("SELECT no_such_column FROM system.one")


def test_a_bad_row_fails_the_insert_and_stores_nothing(olap: Olap, olap_database: str) -> None:
    table = f"{olap_database}.strict"
    olap.command(
        f"CREATE TABLE {table} (n UInt64, tags Array(String)) ENGINE = MergeTree ORDER BY n"
    )

    with pytest.raises((OlapError, TypeError, ValueError)):
        olap.insert(table, ["n", "tags"], [(1, ["ok"]), (2, "not an array")])

    assert olap.query(f"SELECT count() FROM {table}").scalar() == 0


def test_insert_into_a_missing_table_names_it(olap: Olap, olap_database: str) -> None:
    with pytest.raises(OlapError, match="nowhere"):
        olap.insert(f"{olap_database}.nowhere", ["n"], [(1,)])


def test_a_closed_adapter_refuses_work_with_a_clear_error(make_olap: Callable[[], Olap]) -> None:
    adapter = make_olap()
    adapter.close()
    adapter.close()  # idempotent

    with pytest.raises(OlapError, match="closed"):
        adapter.query("SELECT 1")


def test_one_writer_and_several_readers_share_an_adapter(olap: Olap, olap_database: str) -> None:
    table = f"{olap_database}.busy"
    olap.command(f"CREATE TABLE {table} (n UInt64) ENGINE = MergeTree ORDER BY n")
    batches, size = 20, 500
    errors: list[BaseException] = []
    seen: dict[int, list[int]] = {}
    written = threading.Event()

    def write() -> None:
        try:
            for b in range(batches):
                olap.insert(table, ["n"], [(b * size + i,) for i in range(size)])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            written.set()

    def read(reader: int) -> None:
        counts = seen.setdefault(reader, [])
        try:
            while not written.is_set():
                counts.append(olap.query(f"SELECT count() FROM {table}").scalar())
            counts.append(olap.query(f"SELECT count() FROM {table}").scalar())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=read, args=(r,)) for r in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for counts in seen.values():
        assert counts == sorted(counts)  # never goes backwards
        assert all(c % size == 0 for c in counts)  # an insert is seen whole or not at all
        assert counts[-1] == batches * size


def test_parameterised_queries_from_many_threads_do_not_mix(make_olap) -> None:  # type: ignore[no-untyped-def]
    """The web app reads from several threads at once; each query keeps its own parameters."""
    from concurrent.futures import ThreadPoolExecutor

    olap = make_olap()

    def ask(i: int) -> int:
        return int(olap.query("SELECT {n:UInt64} + 0 AS v", {"n": i}).scalar())

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(ask, range(200))) == list(range(200))


# The columnar path (``insert_columns``): the DPR index's types go through Arrow on chDB;
# other types take the row path. Either way the rows stored are those ``insert`` stores.
INDEX_LIKE = """
CREATE TABLE {t} (
    id UInt64,
    org LowCardinality(String),
    text String,
    small UInt16,
    signed Int64,
    created_ns Int64 EPHEMERAL,
    created_at DateTime64(9, 'UTC') DEFAULT fromUnixTimestamp64Nano(created_ns, 'UTC'),
    ok Bool,
    status Enum8('unsigned' = 0, 'valid' = 1, 'invalid' = 2)
) ENGINE = MergeTree ORDER BY id
"""
INDEX_COLUMNS = ["id", "org", "text", "small", "signed", "created_ns", "ok", "status"]
INDEX_ROWS = [
    (0, "", "", 0, 0, 0, False, "unsigned"),
    (1, "org-ü", NASTY, 65_535, -(2**63), 1_709_251_198_123_456_789, True, "valid"),
    (2**64 - 1, "org-b", INJECTION, 7, 2**63 - 1, -1, True, "invalid"),
]


def _columns(rows: list[tuple[object, ...]]) -> list[list[object]]:
    return [list(values) for values in zip(*rows, strict=True)]


def test_column_insert_stores_what_row_insert_stores(olap: Olap, olap_database: str) -> None:
    by_rows = _index_table(olap, olap_database, "by_rows")
    by_columns = _index_table(olap, olap_database, "by_columns")

    olap.insert(by_rows, INDEX_COLUMNS, INDEX_ROWS)
    olap.insert_columns(by_columns, INDEX_COLUMNS, _columns(INDEX_ROWS))

    read = "SELECT id, org, text, small, signed, toUnixTimestamp64Nano(created_at), ok, status FROM {} ORDER BY id"
    stored = olap.query(read.format(by_columns)).rows
    assert stored == olap.query(read.format(by_rows)).rows
    assert stored == [tuple(r) for r in INDEX_ROWS]


def test_column_insert_of_types_without_an_arrow_twin_round_trips(olap: Olap, olap_database: str) -> None:
    table = _table(olap, olap_database)

    olap.insert_columns(table, COLUMNS, _columns(_rows()))

    assert olap.query(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY id").rows == _rows()


@pytest.mark.parametrize(
    ("column", "bad"),
    [("small", 65_536), ("id", -1), ("text", 5), ("ok", None), ("org", None), ("status", "forged")],
)
def test_a_bad_column_value_fails_the_insert_and_stores_nothing(
    olap: Olap, olap_database: str, column: str, bad: object
) -> None:
    table = _index_table(olap, olap_database, "strict_columns")
    data = _columns(INDEX_ROWS)
    data[INDEX_COLUMNS.index(column)][1] = bad

    with pytest.raises(OlapError):
        olap.insert_columns(table, INDEX_COLUMNS, data)

    assert olap.query(f"SELECT count() FROM {table}").scalar() == 0


@pytest.mark.parametrize(("column", "bad"), [("org", None), ("status", "forged"), ("id", -1)])
def test_a_bad_row_value_fails_the_row_insert_and_stores_nothing(
    olap: Olap, olap_database: str, column: str, bad: object
) -> None:
    table = _index_table(olap, olap_database, "strict_rows")
    rows = [list(r) for r in INDEX_ROWS]
    rows[1][INDEX_COLUMNS.index(column)] = bad

    with pytest.raises((OlapError, TypeError, ValueError)):
        olap.insert(table, INDEX_COLUMNS, rows)

    assert olap.query(f"SELECT count() FROM {table}").scalar() == 0


def test_ragged_or_miscounted_columns_are_refused(olap: Olap, olap_database: str) -> None:
    table = _index_table(olap, olap_database, "ragged")
    data = _columns(INDEX_ROWS)

    with pytest.raises(OlapError, match="different lengths"):
        olap.insert_columns(table, INDEX_COLUMNS, [*data[:-1], data[-1][:2]])
    with pytest.raises(OlapError, match="8 columns named, 7 given"):
        olap.insert_columns(table, INDEX_COLUMNS, data[:-1])
    olap.insert_columns(table, INDEX_COLUMNS, [[] for _ in INDEX_COLUMNS])

    assert olap.query(f"SELECT count() FROM {table}").scalar() == 0


def _index_table(olap: Olap, olap_database: str, name: str) -> str:
    table = f"{olap_database}.{name}"
    olap.command(INDEX_LIKE.format(t=table))
    return table


def test_an_insert_spanning_hundreds_of_partitions_stores_every_row(olap: Olap, olap_database: str) -> None:
    """The audit index partitions by (organisation, month): one batch of many organisations
    touches more partitions than ClickHouse's default limit of 100 per insert, and chDB's
    streaming insert then stored nothing and raised nothing."""
    table = f"{olap_database}.per_org"
    olap.command(f"CREATE TABLE {table} (org_id String, n UInt32) ENGINE = MergeTree "
                 "PARTITION BY org_id ORDER BY org_id")
    orgs = [f"org-{i}" for i in range(250)]
    olap.insert_columns(table, ("org_id", "n"), [orgs, list(range(250))])
    olap.insert(table, ("org_id", "n"), [(f"row-{i}", i) for i in range(150)])
    assert olap.query(f"SELECT count(), uniqExact(org_id) FROM {table}").rows == [(400, 400)]


@pytest.mark.parametrize("shape", ["rows", "columns"])
def test_an_insert_the_server_rejects_at_commit_raises_and_stores_nothing(
    olap: Olap, olap_database: str, shape: str
) -> None:
    """ClickHouse checks CHECK constraints (and the partitions-per-block limit) while it
    commits the insert; chDB's streaming insert dropped such a batch without a word, and the
    audit sink then committed log positions for rows that never landed."""
    table = f"{olap_database}.checked_{shape}"
    olap.command(f"CREATE TABLE {table} (org_id String, n UInt32, CONSTRAINT positive CHECK n > 0) "
                 "ENGINE = MergeTree ORDER BY n")

    def insert(rows: list[tuple[object, ...]]) -> None:
        if shape == "rows":
            olap.insert(table, ("org_id", "n"), rows)
        else:
            olap.insert_columns(table, ("org_id", "n"), _columns(rows))

    with pytest.raises(OlapError) as raised:
        insert([("a", 1), ("b", 0), ("c", 3)])
    message = str(raised.value)
    assert f"checked_{shape}" in message  # names the table
    assert "positive" in message and "VIOLATED_CONSTRAINT" in message  # and the server's reason
    assert olap.query(f"SELECT count() FROM {table}").scalar() == 0

    insert([("a", 1), ("c", 3)])
    assert olap.query(f"SELECT org_id, n FROM {table} ORDER BY n").rows == [("a", 1), ("c", 3)]

