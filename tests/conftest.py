"""Root test configuration.

I/O is declared with markers (``postgres``, ``kafka``, ``chdb``, ``grpc``, ``browser``);
unit tests run with sockets blocked (``tests/unit/conftest.py``). Fixtures that start real
servers live in ``tests/fixtures`` and are session-scoped: one embedded PostgreSQL and one
Tansu broker per test process (each pytest-xdist worker starts its own, on free ports and fresh
temp dirs), with a fresh database / fresh topics per test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.rpc.tls13 import require_tls13_env

# gRPC reads its TLS settings once, when it is first imported: make every gRPC server in
# the test run TLS 1.3-only before anything imports grpc (see faramesh_cloud/rpc/tls13.py).
require_tls13_env()

# Every `faramesh-cloud serve NAME` opens a health listener (/livez, /readyz) on 8090 by default:
# the `serve` processes tests start side by side would fight over it. Off unless a test asks
# for one (FARAMESH_CLOUD_HEALTH_PORT in the child's env, as tests/integration/test_serve_health.py).
os.environ.setdefault("FARAMESH_CLOUD_HEALTH_PORT", "0")

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.kafka",
    "tests.fixtures.logs",
    "tests.fixtures.olap",
    "tests.fixtures.ingest",
    "tests.fixtures.internal_tls",
    "tests.fixtures.secrets",
    "tests.fixtures.identity",
    "tests.fixtures.gateway",
    "tests.fixtures.oidc",
    "tests.fixtures.browser",
    "tests.fixtures.s3",
    "tests.fixtures.registry",
]

VECTORS = Path(__file__).resolve().parent / "data" / "interop" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The Faramesh interop vectors, copied into the repo (tests/data/interop/PROVENANCE.md)."""
    return VECTORS


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n N --dist loadfile`` (scripts/test.sh): files in collection order, tests/e2e as
    one unit (tests/xdist_scheduling.py). Other --dist modes are xdist's own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_scheduling import SuiteScheduling

    return SuiteScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps an asyncio loop running in the
    main thread for as long as the session's browser lives, and no async test can run
    after that, so every test that uses the browser is moved behind all the others."""
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))
