"""How pytest-xdist hands the suite to its workers (``scripts/test.sh`` runs ``-n 2 --dist loadfile``).

:class:`SuiteScheduling` is xdist's ``loadfile`` (a file's tests all run on one worker, so a
module-scoped fixture such as a browser test's live gateway starts once) with two changes:

* The files go out in collection order, never reordered by size (xdist's default
  ``--loadscope-reorder``). ``tests/conftest.py`` sorts the browser tests behind all the others,
  because once a worker's Playwright session runs, no async test can run in that worker; in
  collection order every worker gets its browser files after all its other files.
* ``tests/e2e`` is one unit: its installs are package-scoped (``tests/e2e/conftest.py``), so
  splitting its files over two workers would start every install twice.

Each worker is a process of its own with its own session fixtures (embedded PostgreSQL, Tansu,
moto, chDB dir, shared secrets, browser), all on free ports and fresh temp dirs.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

# Directories whose tests share package-scoped fixtures: each is scheduled as one unit.
PACKAGE_UNITS = ("tests/e2e/",)


class SuiteScheduling(LoadFileScheduling):
    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        # keep the collection order (browser tests last), whatever the command line said
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        for unit in PACKAGE_UNITS:
            if nodeid.startswith(unit):
                return unit
        return super()._split_scope(nodeid)
