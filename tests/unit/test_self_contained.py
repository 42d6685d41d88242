"""A fresh clone passes with nothing beside it, and a test run leaves the tree clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import VECTORS

ROOT = Path(__file__).resolve().parents[2]
# A path that climbs out of the repository to the shared folder, however it is spelled.
OUTSIDE = re.compile(r"""\.\./shared|["']shared["']\s*/\s*["']interop|parents\[\d\]\.parent""")


def test_interop_vectors_are_read_from_the_repository() -> None:
    assert VECTORS.is_relative_to(ROOT)
    assert (VECTORS / "expected.json").is_file()
    assert (VECTORS.parent / "PROVENANCE.md").is_file()


def test_no_test_or_bench_reads_outside_the_repository() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__).resolve() and OUTSIDE.search(path.read_text())
    ]
    assert offenders == []


def test_screenshots_do_not_land_in_the_tree_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fixtures import browser

    taken: list[str] = []

    class Page:
        def screenshot(self, *, path: str, full_page: bool) -> None:
            taken.append(path)

    monkeypatch.delenv(browser.SCREENSHOTS_ENV, raising=False)
    path = browser.screenshot(Page(), "self-contained-check")
    assert taken == [str(path)] and not path.is_relative_to(ROOT)


def test_no_test_writes_into_docs_screenshots() -> None:
    """Screenshots reach docs/screenshots only through scripts/screenshots.py (the env variable
    it sets); a test that names the folder itself would dirty the tree on every run."""
    named = re.compile(r"""docs["']?\s*[/,]\s*["']?screenshots""")
    offenders = [str(path.relative_to(ROOT)) for folder in ("tests", "bench") for path in (ROOT / folder).rglob("*.py")
                 if path != Path(__file__).resolve() and any(
                     named.search(line) for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))]
    assert offenders == []
