"""Canonical JSON for hashing and signing platform records (pure).

The form, which an offline verifier in any language can reproduce:

* UTF-8 bytes of one JSON text with no insignificant whitespace (separators ``,`` and ``:``);
* object keys sorted by Unicode code point, at every level;
* strings as JSON strings with only the mandatory escapes (``"``, ``\\``, control
  characters as ``\\uXXXX`` except ``\\b \\f \\n \\r \\t``); non-ASCII characters are written
  as themselves, not escaped;
* integers in plain decimal; ``true``, ``false``, ``null``;
* no floating-point numbers (refused: their text is not portable), no NaN.

This is the subset of RFC 8785 (JCS) where the two agree: without floats and with ASCII
keys, the bytes are the same as JCS's.
"""

from __future__ import annotations

import json
from typing import Any


class CanonicalJsonError(ValueError):
    """A value cannot be put in canonical form; the message names where."""


def _check(value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise CanonicalJsonError(f"{where}: floating-point numbers are not allowed; use an integer or a string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"{where}: object keys must be strings, got {key!r}")
            _check(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]")
        return
    raise CanonicalJsonError(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of ``value`` (see the module docstring)."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
