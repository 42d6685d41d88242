"""The live status table of ``faramesh-cloud simulate`` (rich): per stack, records written,
sequences acknowledged by Cloud, items still queued, and the sync state."""

from __future__ import annotations

import asyncio

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from faramesh_cloud.simulator.fleet import Fleet, StackLine

_STYLE = {"connected": "green", "retrying": "yellow", "stopped": "red", "connecting": "cyan"}
_NUMBERS = ("DPRs written", "acked / assigned", "queued")


def summary(lines: list[StackLine]) -> str:
    queued = sum(x.queued for x in lines)
    return (f"{len(lines)} stacks: {sum(x.written for x in lines)} DPRs written, "
            f"{sum(x.last_sequence for x in lines) - queued} items acknowledged by Cloud, {queued} queued")


def render(fleet: Fleet, target: str, stopping: bool) -> Group:
    table = Table(title=f"simulated fleet -> {target}", title_justify="left")
    for column in ("stack", "sync", *_NUMBERS, "note"):
        table.add_column(column, justify="right" if column in _NUMBERS else "left", no_wrap=column != "note")
    lines = fleet.lines()
    for line in lines:
        table.add_row(line.name, Text(line.state, style=_STYLE.get(line.state, "")), str(line.written),
                      f"{line.acked}/{line.last_sequence}", str(line.queued), line.error)
    tail = " - stopping: delivering what is queued (Ctrl-C again leaves it buffered)" if stopping else ""
    return Group(table, Text(summary(lines) + tail))


async def run_fleet(fleet: Fleet, stop: asyncio.Event, target: str, drain_timeout_s: float) -> None:
    """Run the fleet with a live status table until it ends."""
    console = Console(width=None if Console().is_terminal else 120)
    task = asyncio.create_task(fleet.run(stop, drain_timeout_s=drain_timeout_s))
    try:
        with Live(render(fleet, target, False), console=console, refresh_per_second=4) as live:
            while not task.done():
                await asyncio.wait([task], timeout=0.25)
                live.update(render(fleet, target, stop.is_set() and not task.done()))
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        console.print()
    task.result()
