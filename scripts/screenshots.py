"""Regenerate the UI screenshots in docs/screenshots from the browser tests.

    python3 scripts/screenshots.py [extra pytest args, e.g. -k audit]

The browser tests take their screenshots on every run, into a temporary folder (so running
the tests leaves the tree clean); this runs them with FARAMESH_CLOUD_SCREENSHOTS pointing at
docs/screenshots instead. Review the changed PNGs with `git diff --stat docs/screenshots`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    env = {**os.environ, "FARAMESH_CLOUD_SCREENSHOTS": str(ROOT / "docs" / "screenshots")}
    command = [sys.executable, "-m", "pytest", "-m", "browser", "tests/browser", *sys.argv[1:]]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
