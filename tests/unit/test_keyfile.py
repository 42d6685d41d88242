from __future__ import annotations

import stat
from pathlib import Path

from faramesh_cloud.keyfile import read_or_create


def test_a_key_file_is_made_once_private_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k"
    first = read_or_create(path, lambda: b"one")
    assert first == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_or_create(path, lambda: b"two") == b"one"  # an existing key is the key


def test_an_existing_file_wins_over_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(b"theirs")
    made: list[bytes] = []
    assert read_or_create(path, lambda: made.append(b"x") or b"mine") == b"theirs"
    assert made == []  # nothing generated when the file is there
