"""Go's `path.Match` (the daemon's tool matcher, FPL.md §7), re-implemented, plus the daemon's
`matchTool` wrapper: `""`/`"*"` match everything; a bad pattern falls back to a prefix match
on the text before a trailing `*`."""

from __future__ import annotations


class BadPattern(ValueError):
    pass


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise BadPattern(chunk)
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern(chunk)
    ch, rest = chunk[0], chunk[1:]
    if not rest:
        raise BadPattern(chunk)
    return ch, rest


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        head = chunk[0]
        if head == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk.startswith("^"):
                negated, chunk = True, chunk[1:]
            matched = False
            nrange = 0
            while True:
                if chunk.startswith("]") and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= r <= hi:
                    matched = True
                nrange += 1
            if matched == negated:
                failed = True
        elif head == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern("trailing backslash")
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return "", False
    return s, True


def path_match(pattern: str, name: str) -> bool:
    """Go `path.Match(pattern, name)`; raises BadPattern where Go returns ErrBadPattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name
        rest, ok = _match_chunk(chunk, name)
        if ok and (not rest or pattern):
            name = rest
            continue
        if star:
            found = False
            i = 0
            while i < len(name) and name[i] != "/":
                rest, ok = _match_chunk(chunk, name[i + 1 :])
                if ok:
                    if not pattern and rest:
                        i += 1
                        continue
                    name, found = rest, True
                    break
                i += 1
            if found:
                continue
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def match_tool(pattern: str, tool_id: str) -> bool:
    """The daemon's `matchTool` (engine.go)."""
    if pattern in ("", "*"):
        return True
    try:
        return path_match(pattern, tool_id)
    except BadPattern:
        return tool_id.startswith(pattern.removesuffix("*"))


_META = "\\*?["


def is_literal(pattern: str) -> bool:
    """True when `pattern` has no path.Match meta character (it matches only itself)."""
    return not any(ch in _META for ch in pattern)


def escape(tool_id: str) -> str:
    """A path.Match pattern matching exactly `tool_id` (meta characters and quotes escaped)."""
    return "".join("\\" + ch if ch in _META + "\"'" else ch for ch in tool_id)


def unescape(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            i += 1
        out.append(pattern[i])
        i += 1
    return "".join(out)


def covers(broad: str, narrow: str) -> bool:
    """Does every tool id `narrow` matches also match `broad`? Conservative: True only when sure."""
    if broad in ("", "*") or broad == narrow:
        return True
    if narrow in ("", "*"):
        return False
    if is_literal(narrow):
        return match_tool(broad, narrow)
    # `broad` with only `*` wildcards covers a pattern whose text it matches, provided the
    # narrow pattern cannot produce a `/` where broad's text has none (no classes in narrow).
    if any(ch in broad for ch in "\\?[") or any(ch in narrow for ch in "[\\"):
        return False
    try:
        return path_match(broad, narrow)
    except BadPattern:
        return False
