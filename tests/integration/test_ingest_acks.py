"""AckStore's memory of acked sequences: never ahead of the table, behind it for at most
``remember_s`` when another ingest process advanced the same buffer."""

from __future__ import annotations

import uuid

import pytest

from faramesh_cloud.ingest.acks import AckStore
from faramesh_cloud.sql.database import Database

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_remembered_ack_is_read_again_once_it_is_older_than_remember_s(database: Database) -> None:
    clock = Clock()
    mine, other = AckStore(database, remember_s=2.0, clock=clock), AckStore(database)
    await mine.start()
    buffer = (str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    assert await mine.advance(*buffer, 5) == 5
    assert await other.advance(*buffer, 9) == 9  # another process moved it on
    assert await mine.acked_through(*buffer) == 5  # behind (never ahead): a re-append at worst
    clock.now += 2.0
    assert await mine.acked_through(*buffer) == 9
    mine.remember(*buffer, 7)  # an older value never moves what is known backwards
    assert await mine.acked_through(*buffer) == 9
    assert await AckStore(database).acked_through(*buffer) == 9
