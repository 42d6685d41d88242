"""Browser tests: Debian chromium via Playwright against the real gateway on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_approvals_demo_e2e import UpDemo


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def up_demo(pg_data_dir: Path) -> Iterator[UpDemo]:
    """``faramesh-cloud up --demo`` in its own process on a fresh data dir, stopped afterwards."""
    up = UpDemo(pg_data_dir)
    try:
        up.wait_started()
        yield up
    finally:
        up.stop()
