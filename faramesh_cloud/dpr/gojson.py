"""Go ``encoding/json`` compatible serialisation of the values a DPR's hashed subset holds.

The daemon hashes strings as Go's ``json.Marshal`` writes them (FARAMESH_FORMATS 1.4.3),
which is *not* RFC 8785: ``<``, ``>``, ``&``, U+2028 and U+2029 are escaped, control
characters use lower-case ``\\u00xx`` except the short ``\\b \\f \\n \\r \\t`` forms, and
everything else (other non-ASCII, emoji, DEL) is raw UTF-8.

``dumps`` is the fast path (orjson plus a fix-up for the five characters orjson leaves raw);
``encode_string`` is the plain reference implementation used for the rare inputs orjson
refuses (lone surrogates) and by the tests as an independent oracle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

_FIXUP = re.compile(rb"[<>&]|\xe2\x80[\xa8\xa9]")
_FIXUP_MAP = {
    b"<": b"\\u003c",
    b">": b"\\u003e",
    b"&": b"\\u0026",
    b"\xe2\x80\xa8": b"\\u2028",
    b"\xe2\x80\xa9": b"\\u2029",
}
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SURROGATES = re.compile("[\ud800-\udfff]")


def _fix(match: re.Match[bytes]) -> bytes:
    return _FIXUP_MAP[match.group(0)]


def normalise_text(value: str) -> str:
    """Replace lone surrogates with U+FFFD, as Go's decoder does on input."""
    if _SURROGATES.search(value) is None:
        return value
    return _SURROGATES.sub("\ufffd", value)


def encode_string(value: str) -> str:
    """Reference Go-JSON encoding of one string, quotes included."""
    out = ['"']
    for ch in normalise_text(value):
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ch in _HTML:
            out.append(_HTML[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode_value(value: Any) -> str:
    if isinstance(value, str):
        return encode_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_encode_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{encode_string(k)}:{_encode_value(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    raise TypeError(f"cannot encode {type(value).__name__} as canonical JSON")


def dumps_reference(obj: Mapping[str, Any]) -> bytes:
    """Compact Go-JSON of a flat mapping, keys in the mapping's order (reference path)."""
    return _encode_value(obj).encode("utf-8")


def dumps(obj: Mapping[str, Any]) -> bytes:
    """Compact Go-JSON of a mapping, keys in the mapping's order (fast path)."""
    try:
        data = orjson.dumps(obj)
    except TypeError:  # lone surrogates, or a type orjson refuses
        return dumps_reference(obj)
    return go_escape_fixup(data)


def go_escape_fixup(data: bytes) -> bytes:
    """Escape what orjson/msgspec leave raw but Go escapes: < > & U+2028 U+2029. Safe on
    whole documents: these bytes can only occur inside strings."""
    # One-byte finds are memchr; the two-byte search is slow, so ASCII data skips it.
    if (data.find(b"<") < 0 and data.find(b">") < 0 and data.find(b"&") < 0
            and (data.isascii() or data.find(b"\xe2\x80") < 0)):
        return data
    return _FIXUP.sub(_fix, data)
