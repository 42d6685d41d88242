"""ChdbOlap beyond the shared Olap contract: who may open a chDB data dir."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.olap.port import OlapUnavailable

pytestmark = pytest.mark.chdb

_OPEN_IN_CHILD = """
import sys
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.olap.port import OlapUnavailable
try:
    ChdbOlap(sys.argv[1]).close()
except OlapUnavailable as exc:
    print(exc)
    sys.exit(3)
print("opened")
"""


@pytest.fixture
def owner(chdb_data_dir: Path) -> Iterator[ChdbOlap]:
    adapter = ChdbOlap(chdb_data_dir)
    yield adapter
    adapter.close()


def test_a_second_process_gets_a_one_line_error_naming_the_dir(owner: ChdbOlap) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _OPEN_IN_CHILD, str(owner.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert child.returncode == 3, child.stdout + child.stderr
    assert child.stdout == (
        f"data dir {owner.data_dir} is in use by another Faramesh Cloud process; "
        "stop it or pass a different --data-dir\n"
    )


def test_a_second_adapter_in_the_same_process_shares_the_dir(
    owner: ChdbOlap, olap_database: str
) -> None:
    second = ChdbOlap(owner.data_dir)
    try:
        second.command(
            f"CREATE TABLE {olap_database}.probe (n UInt8) ENGINE = MergeTree ORDER BY n"
        )
        second.insert(f"{olap_database}.probe", ["n"], [(1,), (2,)])
        assert owner.query(f"SELECT sum(n) FROM {olap_database}.probe").scalar() == 3
    finally:
        second.close()


def test_a_different_dir_in_the_same_process_is_refused_clearly(
    owner: ChdbOlap, tmp_path: Path
) -> None:
    with pytest.raises(OlapUnavailable, match="already has another chDB data dir open"):
        ChdbOlap(tmp_path / "other")
