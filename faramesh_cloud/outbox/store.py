"""The write side of a transactional outbox.

A service that changes its own state because a person (or a daemon, through ingest) asked
it to writes the event saying so into its outbox table **in the same transaction** as the
state change: the change and its event commit together or not at all. The relay
(``relay.py``) appends the outbox to the log afterwards, in order, at least once; consumers
are idempotent (every event carries its own id).

Each service owns its outbox table (one writer per table); its migration creates it with
:func:`outbox_table_sql`. ``Outbox.add`` also ``pg_notify``s the table's channel, so the
relay wakes at once instead of polling.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from psycopg import AsyncConnection, sql

from faramesh_cloud.log.pg_copy import encode_headers
from faramesh_cloud.log.port import LogRecord

Conn = AsyncConnection[Any]
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,50}_outbox$")


def outbox_table_sql(table: str) -> str:
    """The DDL of an outbox table (for a service's migration). Rows are deleted once relayed;
    a row the log refuses for good is parked instead (see :func:`outbox_parking_sql`)."""
    check_table(table)
    return f"""CREATE TABLE {table} (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea       NOT NULL,
    value       bytea       NOT NULL,
    headers     bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);
{outbox_parking_sql(table)}"""


def outbox_parking_sql(table: str) -> str:
    """The columns that park a row the log refuses for good (``parked_at`` set: the relay
    passes it by, later rows flow; ``parked_reason`` says why), for a migration of an outbox
    table made before they existed. An operator who fixed the cause (e.g. raised the
    broker's limit) requeues parked rows with ``UPDATE <table> SET parked_at = NULL,
    parked_reason = NULL``; the relay then appends them after what it relays meanwhile."""
    check_table(table)
    return f"""ALTER TABLE {table} ADD COLUMN parked_at timestamptz, ADD COLUMN parked_reason text;
CREATE INDEX {table}_parked ON {table} (id) WHERE parked_at IS NOT NULL;"""


def check_table(table: str) -> str:
    if _NAME.match(table) is None:
        raise ValueError(f"outbox table {table!r} must be lower-case letters, digits and _, ending in _outbox")
    return table


class Outbox:
    """Events of one service, added inside the caller's transaction."""

    def __init__(self, table: str) -> None:
        self.table = check_table(table)
        self._insert = sql.SQL("INSERT INTO {} (topic, key, value, headers) "
                               "SELECT * FROM unnest(%s::text[], %s::bytea[], %s::bytea[], %s::bytea[])"
                               ).format(sql.Identifier(self.table))

    @property
    def channel(self) -> str:
        return self.table

    async def add(self, conn: Conn, topic: str, records: Sequence[LogRecord]) -> None:
        """Queue ``records`` for ``topic``, in this order, in ``conn``'s open transaction."""
        if not records:
            return
        await conn.execute(self._insert, ([topic] * len(records), [r.key for r in records],
                                          [r.value for r in records],
                                          [encode_headers(r.headers) for r in records]))
        await conn.execute("SELECT pg_notify(%s, '')", (self.channel,))
