"""docs/configuration.md documents every Settings field in one table: its name, environment
variable, type and default exactly as the dataclass has them, and what it does."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from faramesh_cloud.config import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _rows() -> list[list[str]]:
    table = DOC.read_text().split("## Every setting", 1)[1]
    rows = []
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(line)[1:-1]]
            rows.append(cells)
    return rows


def _default(f: dataclasses.Field[object]) -> str:
    if f.default is dataclasses.MISSING:
        return "(your user data dir)"
    return "unset" if f.default is None else repr(f.default).replace("'", '"')


def test_every_setting_is_in_the_table_once_in_declaration_order() -> None:
    documented = [cells[0].strip("`") for cells in _rows()]
    assert documented == [f.name for f in dataclasses.fields(Settings)]


def test_each_row_says_the_variable_type_and_default_the_code_has() -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name, env, kind, default, what in _rows():
        f = fields[name.strip("`")]
        assert env == f"`{ENV_PREFIX}{f.name.upper()}`", name
        assert kind == f"`{f.type}`", name
        assert default == f"`{_default(f)}`", name
        assert len(what) > 10, f"{name}: say what it does"
