"""The UI's shared conventions, as Jinja filters every template uses (docs/ui-conventions.md).

* ``ts``: one timestamp format everywhere. The server writes ``<time datetime="…Z">`` with the
  UTC instant and a UTC fallback text (``2026-12-07 08:30 UTC``, full seconds in ``title``);
  ``static/app.js`` rewrites it in the browser to a relative time ("3 min ago", "in 2 h") with
  the absolute time in the viewer's own zone on hover. Accepts a ``datetime`` or the ISO text
  the audit index returns (any fraction, ``Z`` or an offset); text it cannot read is shown as is.
* ``effect``: a decision's effect as a coloured badge that carries its word (never colour alone):
  ``<span class="effect effect-deny">DENY</span>``; the colours are in ``base.html``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from markupsafe import Markup

# ISO 8601 as daemons and the audit index write it: any number of fraction digits, Z or ±hh:mm.
_ISO: Final = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$")
EFFECT_KINDS: Final = {"PERMIT": "permit", "DENY": "deny", "DEFER": "defer", "MODIFY": "modify",
                       "SHADOW_PERMIT": "shadow", "SHADOW_DENY": "shadow", "SHADOW_DEFER": "shadow"}


def parse_instant(text: str) -> datetime | None:
    """The instant in ISO text (no zone: UTC), or None when it is not one."""
    found = _ISO.match(text.strip())
    if found is None:
        return None
    day, clock, fraction, zone = found.groups()
    micro = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if zone in (None, "Z") else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micro}{offset}")
    except ValueError:
        return None


def time_tag(moment: datetime | str | None) -> Markup:
    """``<time>`` with the ISO UTC instant and a UTC fallback; ``static/app.js`` shows it relative,
    with the absolute time in the viewer's zone on hover."""
    if moment is None or moment == "":
        return Markup('<span class="muted">never</span>')
    instant = parse_instant(moment) if isinstance(moment, str) else moment
    if instant is None:
        return Markup("<span>{}</span>").format(moment)
    utc = (instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)).astimezone(UTC)
    iso = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return Markup('<time datetime="{}" title="{} UTC">{} UTC</time>').format(
        iso, utc.strftime("%Y-%m-%d %H:%M:%S"), utc.strftime("%Y-%m-%d %H:%M"))


def effect_badge(effect: str | None, kind_of: str | None = None) -> Markup:
    """The effect's word in a badge coloured by kind (permit, deny, defer, modify, shadow); the
    kind from ``kind_of`` when the word shown is another spelling (a policy's ``deny!``)."""
    word = str(effect or "—")
    kind = EFFECT_KINDS.get(str(kind_of or word).upper(), "other")
    return Markup('<span class="effect effect-{}" data-effect="{}">{}</span>').format(kind, word, word)
