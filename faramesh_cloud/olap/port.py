"""The Olap port: ClickHouse SQL over an analytical store (the DPR index, rollups).

Two adapters pass one contract suite (``tests/contracts/test_olap_contract.py``):
``ChdbOlap`` (chDB, in-process, embedded mode) and ``ClickhouseOlap`` (clickhouse-connect,
a ClickHouse server in distributed mode). The port is synchronous; async code calls it with
``asyncio.to_thread``.

SQL is ClickHouse SQL, identical on both adapters. Values never go into SQL text: they are
bound server-side with ``{name:Type}`` placeholders, e.g.
``query("SELECT * FROM t WHERE org_id = {org:String} AND ts >= {since:DateTime64(9, 'UTC')}",
{"org": org_id, "since": since})``. Do not add a ``FORMAT`` clause; the adapter picks one.

Python values, both ways:

======================================  ===============================================
ClickHouse type                         Python
======================================  ===============================================
String, LowCardinality(String), Enum    ``str``
(U)Int8 … (U)Int256                     ``int``
Float32/64                              ``float`` (nan and inf included)
Decimal                                 ``decimal.Decimal``
Bool                                    ``bool``
Nullable(T)                             ``None`` or T
Array(T)                                ``list`` (a ``list`` or ``tuple`` when binding)
Date, Date32                            ``datetime.date``
DateTime('UTC'), DateTime64(p, 'UTC')   timezone-aware ``datetime`` (microseconds; a
                                        DateTime64(9) value is truncated to microseconds:
                                        select ``toUnixTimestamp64Nano(col)`` for nanos).
                                        Naive datetimes given to ``insert``/params are UTC.
UUID                                    ``uuid.UUID`` (``str`` accepted when binding)
======================================  ===============================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Params = Mapping[str, Any]


class OlapError(Exception):
    """A statement failed. The message carries the server's own message (code and text)."""


class OlapUnavailable(OlapError):
    """The store cannot be opened or reached; the message says what to do about it."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Column names and rows (tuples in column order)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as ``{column: value}`` dicts."""
        names = self.columns
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        """The first column of the first row; raises ``LookupError`` on an empty result."""
        if not self.rows or not self.columns:
            raise LookupError("query returned no rows; use .rows to handle an empty result")
        return self.rows[0][0]

    def __len__(self) -> int:
        return len(self.rows)


class Olap(Protocol):
    """ClickHouse SQL over an analytical store. Thread-safe for one writer and many readers."""

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns no rows (DDL, ``INSERT … SELECT``, ``OPTIMIZE``)."""
        ...

    def query(self, sql: str, params: Params | None = None) -> QueryResult:
        """Run a ``SELECT`` and return every row."""
        ...

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk-insert rows (each a sequence in ``columns`` order). Visible to queries on return."""
        ...

    def insert_columns(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> None:
        """Bulk-insert column-oriented data: ``data[i]`` holds every row's value of
        ``columns[i]``, all of one length. Stores exactly what ``insert`` of the transposed
        rows stores; the columnar path is cheaper for large batches (it is the DPR index's).
        Raises ``OlapError`` (inserting nothing) for ragged columns or a value its column
        cannot hold."""
        ...

    def close(self) -> None:
        """Release the store. Idempotent."""
        ...
