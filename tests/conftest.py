"""Root test configuration.

I/O is declared with markers (``postgres``, ``kafka``, ``chdb``, ``grpc``, ``browser``);
unit tests run with sockets blocked (``tests/unit/conftest.py``). Fixtures that start real
servers live in ``tests/fixtures`` and are session-scoped: one embedded PostgreSQL and one
Tansu broker per test run, with a fresh database / fresh topics per test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.kafka",
    "tests.fixtures.logs",
    "tests.fixtures.olap",
]

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "interop" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The real Faramesh interop vectors (../shared/interop/vectors)."""
    if not VECTORS.is_dir():
        pytest.fail(f"interop vectors not found at {VECTORS}; the shared/ folder must sit beside the repo")
    return VECTORS
