"""The UI's shared filters (services/gateway/web/shell.py): one timestamp format and effect
badges that carry their word."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from faramesh_cloud.gateway.web.shell import effect_badge, parse_instant, time_tag

UTC_TEXT = '<time datetime="2026-12-07T08:30:05.123Z" title="2026-12-07 08:30:05 UTC">2026-12-07 08:30 UTC</time>'


def test_a_datetime_and_the_audit_indexs_iso_text_render_the_same_time_tag() -> None:
    moment = datetime(2026, 12, 7, 8, 30, 5, 123456, tzinfo=UTC)
    assert str(time_tag(moment)) == UTC_TEXT
    assert str(time_tag("2026-12-07T08:30:05.123456789Z")) == UTC_TEXT  # nanoseconds, as daemons write
    assert str(time_tag("2026-12-07T09:30:05.123+01:00")) == UTC_TEXT  # an offset: the same instant
    assert str(time_tag("2026-12-07 08:30:05.123")) == UTC_TEXT  # no zone: UTC
    berlin = timezone(timedelta(hours=1))
    assert str(time_tag(moment.astimezone(berlin))) == UTC_TEXT


def test_missing_and_unreadable_times_are_shown_not_lost() -> None:
    assert "never" in time_tag(None) and "never" in time_tag("")
    assert str(time_tag("yesterday <b>")) == "<span>yesterday &lt;b&gt;</span>"  # escaped, as is
    assert parse_instant("2026-13-40T00:00:00Z") is None


def test_effects_carry_their_word_and_a_kind_colour() -> None:
    assert str(effect_badge("DENY")) == '<span class="effect effect-deny" data-effect="DENY">DENY</span>'
    assert 'class="effect effect-permit"' in effect_badge("PERMIT") and ">PERMIT<" in effect_badge("PERMIT")
    assert 'effect-shadow' in effect_badge("SHADOW_DENY") and ">SHADOW_DENY<" in effect_badge("SHADOW_DENY")
    assert 'effect-other' in effect_badge("<x>") and "&lt;x&gt;" in effect_badge("<x>")
    assert str(effect_badge("deny!", "deny")) == '<span class="effect effect-deny" data-effect="deny!">deny!</span>'


def test_the_vendored_axe_core_is_the_one_its_readme_names_with_its_licence() -> None:
    folder = Path(__file__).resolve().parents[1] / "browser" / "vendor" / "axe-core"
    script = (folder / "axe.min.js").read_bytes()
    assert hashlib.sha256(script).hexdigest() in (folder / "README.md").read_text()
    assert b"Mozilla Public" in script[:400] and "Mozilla Public License" in (folder / "LICENSE").read_text()
