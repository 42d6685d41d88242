"""Browser tests: Debian chromium via Playwright against the real gateway on 127.0.0.1."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.integration)
