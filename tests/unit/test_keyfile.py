from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

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


def test_a_reader_racing_the_writer_never_sees_a_partial_file(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process reads while this one is between creating and writing its file: it
    must get no file (and make its own, which one of the two then wins) or the whole file,
    never an empty one; both end with the same key."""
    path = tmp_path / "keys" / "k"
    real_fdopen = os.fdopen
    racing: list[bytes] = []
    raced = False

    def fdopen_then_race(fd: int, *args: object, **kwargs: object) -> object:
        nonlocal raced
        if not raced:
            raced = True
            racing.append(read_or_create(path, lambda: b"theirs"))  # the other process, mid-write
        return real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "fdopen", fdopen_then_race)
    mine = read_or_create(path, lambda: b"mine")
    assert racing[0] != b"" and mine == racing[0] == path.read_bytes()
    assert sorted(p.name for p in path.parent.iterdir()) == ["k"]  # no temporary file left
