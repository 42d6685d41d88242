"""Regenerate the UI screenshots in docs/screenshots (never done by a test run).

    python3 scripts/screenshots.py              # every main page of `faramesh-cloud up --demo`
    python3 scripts/screenshots.py --flows [-k audit ...]   # also the browser tests' flow states

The default starts the product embedded with the demo fleet (`faramesh-cloud up --demo` on a
temporary data dir and free ports), adopts the demo organisation as its first owner, waits for
the demo's records and approvals, and saves a full-page PNG of each main page
(tests/browser/demo_walk.py lists them; the accessibility test walks the same list) as
docs/screenshots/<name>.png. `--flows` then runs the browser tests with FARAMESH_CLOUD_SCREENSHOTS
pointing at docs/screenshots, for the states only a flow reaches (a decided approval, a revoked
share link...); on a plain test run those go to a temporary folder, so the tree stays clean.
Review the result with `git status docs/screenshots` and commit it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def demo_pages() -> int:
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tests.browser.demo_walk import adopt_demo, main_pages
    from tests.browser.test_approvals_demo_e2e import UpDemo
    from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faramesh-screenshots-") as data_dir:
        up = UpDemo(Path(data_dir))
        try:
            up.wait_started()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB",
                                              timezone_id="Europe/Berlin")
                context.set_default_timeout(30_000)
                page = context.new_page()
                adopt_demo(page, up.base)
                for name, url in main_pages(page, up.base):
                    page.goto(url)
                    page.wait_for_load_state("load")
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                    print(f"docs/screenshots/{name}.png  {url.removeprefix(up.base)}")
                browser.close()
        finally:
            up.stop()
    return 0


def flows(pytest_args: list[str]) -> int:
    env = {**os.environ, "FARAMESH_CLOUD_SCREENSHOTS": str(OUT)}
    command = [sys.executable, "-m", "pytest", "-m", "browser", "tests/browser", *pytest_args]
    return subprocess.call(command, cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    status = demo_pages()
    if status == 0 and argv[:1] == ["--flows"]:
        status = flows(argv[1:])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
