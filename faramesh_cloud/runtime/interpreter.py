"""Interpreter settings for a server process (``up``, ``serve``), set once by the CLI.

Two CPython defaults suit scripts and cost a consumer service throughput (measured in
bench/RESULTS.md, "Audit index"):

* The garbage collector runs a young collection every 700 container allocations. A consumer
  builds tens of thousands of short-lived containers per batch (messages, header dicts,
  rows), none of them in cycles, so the collector ran hundreds of times per batch and
  scanned the same survivors again and again: about 10 % of the audit index's CPU per DPR.
  Fewer, larger young collections cost the same per object and far less per batch; objects
  alive once startup is done (modules, settings, pools) are moved out of the collector's
  view with ``gc.freeze``. Cycles are still found, only less often.
* The GIL switch interval is 5 ms: a thread that wants the GIL back (the event loop, whose
  sink awaits a dozen PostgreSQL round trips per batch) waits up to that long behind a
  thread processing a batch, every time. 0.5 ms lets the loop answer I/O promptly while
  the processing thread keeps most of the interpreter; with it the audit index drained
  10,000 DPR/s about 20 % faster.
"""

from __future__ import annotations

import gc
import sys
from typing import Final

YOUNG_THRESHOLD: Final = 50_000  # container allocations between young collections (CPython: 700)
OLDER_THRESHOLDS: Final = (20, 100)  # young/middle collections between older ones (CPython: 10, 10)
SWITCH_INTERVAL_S: Final = 0.0005  # CPython: 0.005


def tune_for_throughput() -> None:
    """Raise the collection thresholds and shorten the GIL switch interval; call once,
    before the services start."""
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def freeze_startup_objects() -> None:
    """Collect once, then exempt everything alive now from future collections; call once
    the services have started (they live until the process ends)."""
    gc.collect()
    gc.freeze()
