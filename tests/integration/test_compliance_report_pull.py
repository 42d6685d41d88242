"""The report's worker thread reads the audit index's export through the event loop: a batch
of records per hop, not one (one hop per record cost ~200 µs each: a 1M-record report spent
minutes waiting on the loop), every record in order, and an export that fails mid-way fails
the report there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

import pytest

from faramesh_cloud.audit_index.views import ChainRecord
from faramesh_cloud.compliance.pipeline import _pull

pytestmark = [pytest.mark.integration]


def _record(i: int) -> ChainRecord:
    return ChainRecord(f"r{i}", f"h{i}", f"h{i - 1}", "2026-03-01T00:00:00Z", "{}", "stack-1", "agent", "linked", i)


async def _export(n: int, fail_at: int | None = None) -> AsyncIterator[ChainRecord]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError("the audit index went away")
        yield _record(i)


def _count_tasks(loop: asyncio.AbstractEventLoop) -> list[int]:
    made = [0]

    def factory(loop: asyncio.AbstractEventLoop, coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
                **kwargs: Any) -> asyncio.Task[Any]:
        made[0] += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    return made


async def test_the_worker_thread_fetches_a_batch_of_records_per_hop_in_order() -> None:
    loop = asyncio.get_running_loop()
    made = _count_tasks(loop)
    try:
        got = await asyncio.to_thread(lambda: list(_pull(_export(2_500), loop, batch=1_000)))
    finally:
        loop.set_task_factory(None)
    assert [e["record_id"] for e in got] == [f"r{i}" for i in range(2_500)]
    assert got[7] == {"stack_id": "stack-1", "agent_id": "agent", "record_id": "r7", "created_at": "2026-03-01T00:00:00Z",
                      "chain_index": 7, "link_status": "linked", "record_hash": "h7", "prev_record_hash": "h6",
                      "raw": "{}"}
    assert made[0] <= 3  # 1,000 + 1,000 + 500 and the end: not one hop per record


async def test_an_empty_export_and_one_that_fails_mid_way() -> None:
    loop = asyncio.get_running_loop()
    assert await asyncio.to_thread(lambda: list(_pull(_export(0), loop))) == []
    seen: list[str] = []

    def consume() -> None:
        for e in _pull(_export(1_500, fail_at=1_200), loop, batch=1_000):
            seen.append(e["record_id"])

    with pytest.raises(RuntimeError, match="went away"):
        await asyncio.to_thread(consume)
    assert len(seen) == 1_000  # the first batch was handed over; the failing one is not
