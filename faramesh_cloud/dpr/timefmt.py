"""``created_at`` as the daemon hashes it: Go RFC 3339 with nanoseconds, always UTC.

Python's datetime holds microseconds only, so the nanosecond fraction is kept as text
(FARAMESH_FORMATS 1.4.4). Already-canonical values (what every Go daemon writes) pass
through untouched; values with an offset are converted to UTC.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime, timedelta

_CANONICAL = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:\.\d{0,8}[1-9])?Z\Z"
)
_ANY = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))\Z"
)


class TimestampError(ValueError):
    """A created_at value that is not RFC 3339."""


def is_canonical_created_at(value: str) -> bool:
    if _CANONICAL.match(value) is None:
        return False
    if value[8:10] <= "28":
        return True
    # Days 29-31 exist in some months only; without this they took canonical_created_at's
    # datetime round trip (several µs) on every record of three days a month.
    year = int(value[:4])
    return year >= 1 and int(value[8:10]) <= monthrange(year, int(value[5:7]))[1]


def canonical_created_at(value: str) -> str:
    """Return ``value`` in the daemon's hashed form, or raise TimestampError."""
    if is_canonical_created_at(value):
        return value  # the common case: already what a Go daemon writes
    m = _ANY.match(value)
    if m is None:
        raise TimestampError(
            f"created_at {value!r} is not an RFC 3339 timestamp (want e.g. 2026-05-17T13:42:18.123456789Z)"
        )
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = (m.group(7) or "").rstrip("0")
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise TimestampError(f"created_at {value!r}: {exc}") from None
    if m.group(8) is None:
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        moment = moment - offset if m.group(9) == "+" else moment + offset
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if year < 1000:  # strftime does not zero-pad years below 1000 on every platform
        text = f"{moment.year:04d}" + text[text.index("-") :]
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def created_at_nanos(value: str) -> int:
    """Nanoseconds since the Unix epoch of a canonical created_at (for indexing)."""
    canonical = canonical_created_at(value)
    seconds_part, _, rest = canonical[:-1].partition(".")
    moment = datetime.strptime(seconds_part, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    nanos = int((rest + "000000000")[:9]) if rest else 0
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    delta = moment - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + nanos
