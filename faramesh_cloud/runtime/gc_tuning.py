"""Garbage-collector settings for a server process (``up``, ``serve``), set once by the CLI.

CPython's defaults (a young collection every 700 container allocations) suit scripts. A
consumer builds tens of thousands of short-lived containers per batch (messages, header
dicts, rows), none of them in cycles, so the collector ran hundreds of times per batch and
scanned the same survivors again and again: about 10 % of the audit index's CPU per DPR
(bench/RESULTS.md, "Audit index"). Fewer, larger young collections cost the same per object
and far less per batch; objects that exist once startup is done (modules, settings, pools)
are moved out of the collector's view with ``gc.freeze``. Reference cycles are still found,
only less often: memory held by garbage cycles is bounded by the larger young generation.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 50_000  # container allocations between young collections (CPython: 700)
OLDER_THRESHOLDS: Final = (20, 100)  # young/middle collections between older ones (CPython: 10, 10)


def tune_for_throughput() -> None:
    """Raise the collection thresholds; call once, before the services start."""
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


def freeze_startup_objects() -> None:
    """Collect once, then exempt everything alive now from future collections; call once
    the services have started (they live until the process ends)."""
    gc.collect()
    gc.freeze()
