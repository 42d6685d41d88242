"""How ``scripts/test.sh -n 2 --dist loadfile`` hands files to its workers (tests/xdist_scheduling.py):
in collection order (browser tests are sorted last there, and must reach each worker after its
other tests), and tests/e2e's files as one unit (its installs are package-scoped)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.xdist_scheduling import SuiteScheduling

COLLECTION = [
    "tests/unit/test_a.py::test_one",
    "tests/integration/test_big.py::test_one",
    "tests/integration/test_big.py::test_two",
    "tests/integration/test_big.py::test_three",
    "tests/e2e/test_user_paths.py::test_one[embedded]",
    "tests/e2e/test_service_faults.py::test_one[embedded]",
    "tests/browser/test_ui.py::test_page",
]


class _Config:
    """The two settings xdist's scope schedulers read: two workers, and --loadscope-reorder on
    (xdist's default, which would send the biggest files first)."""

    def __init__(self) -> None:
        self.option = SimpleNamespace(tx=["popen", "popen"], loadscopereorder=True)

    def getvalue(self, name: str) -> Any:
        return getattr(self.option, name)


class _Worker:
    """What a scheduler calls on a worker: the batches it is sent, in order."""

    def __init__(self, name: str, sent: list[tuple[str, list[str]]]) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self._sent = sent

    def send_runtest_some(self, indexes: list[int]) -> None:
        self._sent.append((self.gateway.id, [COLLECTION[i] for i in indexes]))

    def shutdown(self) -> None:
        self.shutting_down = True


def _schedule() -> list[tuple[str, list[str]]]:
    """Every batch the workers are sent, each test reported done in the order it was sent."""
    sent: list[tuple[str, list[str]]] = []
    scheduler = SuiteScheduling(_Config())  # type: ignore[arg-type]
    workers = {name: _Worker(name, sent) for name in ("gw0", "gw1")}
    for worker in workers.values():
        scheduler.add_node(worker)  # type: ignore[arg-type]
        scheduler.add_node_collection(worker, COLLECTION)  # type: ignore[arg-type]
    scheduler.schedule()
    done = 0
    while done < len(sent):  # more batches are sent as tests complete
        name, batch = sent[done]
        for nodeid in batch:
            scheduler.mark_test_complete(workers[name], COLLECTION.index(nodeid))  # type: ignore[arg-type]
        done += 1
    return sent


def test_files_go_to_the_workers_in_collection_order_so_browser_tests_come_last() -> None:
    sent = _schedule()
    assert [nodeid for _, batch in sent for nodeid in batch] == COLLECTION
    assert sent[-1][1] == ["tests/browser/test_ui.py::test_page"]


def test_a_files_tests_stay_together_and_the_e2e_package_is_one_unit() -> None:
    sent = _schedule()
    assert ("gw1", COLLECTION[1:4]) in sent
    assert ("gw0", COLLECTION[4:6]) in sent
