"""Print the docs/configuration.md table rows of Settings fields the table lacks (name,
variable, type and default as tests/unit/test_configuration_doc.py checks them), for the
writer to add in declaration order with what each does. Run: python scripts/settings_rows.py"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from faramesh_cloud.config import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def row(f: dataclasses.Field[object]) -> str:
    default = ("(your user data dir)" if f.default is dataclasses.MISSING
               else "unset" if f.default is None else repr(f.default).replace("'", '"'))
    kind = str(f.type).replace("|", "\\|")
    return f"| `{f.name}` | `{ENV_PREFIX}{f.name.upper()}` | `{kind}` | `{default}` | WHAT IT DOES |"


def main() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOC.read_text(), flags=re.M))
    for f in dataclasses.fields(Settings):
        if f.name not in documented:
            print(row(f))


if __name__ == "__main__":
    main()
