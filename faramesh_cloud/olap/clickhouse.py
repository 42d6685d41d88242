"""ClickhouseOlap: the Olap port on a ClickHouse server, through clickhouse-connect.

Distributed mode's DPR index. The DSN is clickhouse-connect's: ``http(s)://user:pw@host:8123/db``
for a server, or ``chdb:///dir`` / ``chdb://memory`` to run the same client code path on chDB
in-process (that is how the contract suite tests this adapter: no ClickHouse server can be
installed on the build machines).

Datetimes come back timezone-aware (``tz_mode="aware"``), matching ``ChdbOlap``. The client
is created without a server session, which keeps it safe to share between threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from faramesh_cloud.olap.columns import column_rows
from faramesh_cloud.olap.port import OlapError, OlapUnavailable, Params, QueryResult

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

_T = TypeVar("_T")


# Tables partitioned per organisation (the audit index) take batches spanning hundreds of
# partitions (ClickHouse's default limit per insert is 100).
_INSERT_SETTINGS: dict[str, Any] = {"max_partitions_per_insert_block": 0}


class ClickhouseOlap:
    """The Olap port on ClickHouse via clickhouse-connect."""

    def __init__(self, dsn: str, **client_options: Any) -> None:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import ClickHouseError

        self._where = _redact(dsn)
        options: dict[str, Any] = {"tz_mode": "aware"}
        if not dsn.startswith("chdb:"):  # HTTP: no server session, so threads can share it
            options["autogenerate_session_id"] = False
        try:
            self._client: Client | None = clickhouse_connect.get_client(
                dsn=dsn, **(options | client_options)
            )
        except ClickHouseError as exc:
            raise OlapUnavailable(
                f"cannot connect to ClickHouse at {self._where}: {exc}; check the DSN "
                "(http(s)://user:password@host:8123/database) and that the server is running"
            ) from None

    def command(self, sql: str, params: Params | None = None) -> None:
        client = self._live()
        self._guard(lambda: client.command(sql, parameters=dict(params) if params else None))

    def query(self, sql: str, params: Params | None = None) -> QueryResult:
        client = self._live()
        result = self._guard(lambda: client.query(sql, parameters=dict(params) if params else None))
        return QueryResult(tuple(result.column_names), [tuple(r) for r in result.result_rows])

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        data = rows if isinstance(rows, list) else list(rows)
        if not data:
            return
        values = [[row[i] for row in data if i < len(row)] for i in range(len(columns))]
        self._insert(table, columns, values, data, column_oriented=False)

    def insert_columns(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> None:
        if column_rows(table, columns, data) == 0:
            return
        self._insert(table, columns, data, [list(values) for values in data], column_oriented=True)

    def _insert(self, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]], data: Any, *,
                column_oriented: bool) -> None:
        """Insert ``data`` (rows, or columns when ``column_oriented``) once every column's
        ``values`` passed ``_check_column``."""
        database, _, name = table.rpartition(".")
        client = self._live()
        context = self._guard(lambda: client.create_insert_context(
            name, list(columns), database=database or None, column_oriented=column_oriented,
            settings=_INSERT_SETTINGS))
        for column, kind, column_values in zip(context.column_names, context.column_types, values, strict=True):
            _check_column(table, column, kind, column_values)
        context.data = data
        try:
            self._guard(lambda: client.data_insert(context))
        except (TypeError, ValueError, AttributeError) as exc:  # a value that does not fit its column
            raise OlapError(f"cannot insert into {table}: {exc}") from None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _live(self) -> Client:
        if self._client is None:
            raise OlapError(f"the ClickHouse client for {self._where} is closed; open a new one")
        return self._client

    def _guard(self, action: Callable[[], _T]) -> _T:
        """Run a client call, mapping its errors to the port's (keeping the server message)."""
        from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

        try:
            return action()
        except OperationalError as exc:
            raise OlapUnavailable(
                f"ClickHouse at {self._where} is unreachable: {exc}; check that it is running"
            ) from None
        except ClickHouseError as exc:
            raise OlapError(str(exc)) from None


_ENUM_NAME = re.compile(r"'((?:[^'\\]|\\.)*)'\s*=")


def _check_column(table: str, name: str, kind: Any, values: Sequence[Any]) -> None:
    """What clickhouse-connect would coerce silently: a str for an Array (stored as its
    characters), None for a non-Nullable column (stored as the default), a name an Enum
    does not have (stored as a wrong value)."""
    problem = None
    if kind.base_type == "Array" and any(isinstance(v, str | bytes) for v in values):
        problem = "a string for an Array; pass a list"
    elif not kind.nullable and any(v is None for v in values):
        problem = "None, and the column is not Nullable"
    elif kind.base_type in ("Enum8", "Enum16"):
        names = {n.replace("\\'", "'") for n in _ENUM_NAME.findall(kind.name)}
        unknown = {v for v in values if isinstance(v, str)} - names
        if unknown:
            problem = f"{sorted(unknown)[0]!r}, which is not one of its enum names {sorted(names)}"
    if problem:
        raise OlapError(f"cannot insert into {table}: column {name!r} gets {problem}")


def _redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
