"""Blind minutes from contact minutes and arrivals: gaps longer than the threshold are blind
spans to the minute, late records keep their creation window, and the strip shows both."""

from __future__ import annotations

from dataclasses import dataclass

from faramesh_cloud.gateway.web import blind_minutes as bm

M = bm.MINUTE_NS
END = 1_780_000_000 // 60 * 60 * 10**9 + 24 * 60 * M  # a minute boundary


@dataclass
class Arrival:
    start_ns: int
    received: int
    late: int = 0
    late_first_ns: int = 0
    late_last_ns: int = 0


def at(minutes_before_end: int) -> int:
    return END - minutes_before_end * M


def test_gaps_longer_than_the_threshold_are_blind_to_the_minute() -> None:
    heard = [at(m) for m in range(24 * 60, 0, -1) if not 100 <= m < 160 and not 30 <= m < 32]  # 60-min gap, 2-min gap
    arrivals = [Arrival(at(99), 10, 7, at(150), at(120)), Arrival(at(300), 5)]
    got = bm.summarise("s1", "24h", END, heard, arrivals, blind_after_s=120, late_after_s=120)
    assert [(s.start_ns, s.end_ns, s.minutes) for s in got.blind] == [(at(159), at(99), 60)]  # 60 min unheard
    assert got.blind_minutes == 60
    assert got.received == 15 and got.late_total == 7
    assert [(x.received_ns, x.records, x.created_first_ns, x.created_last_ns) for x in got.late] == [
        (at(99), 7, at(150), at(120))]
    plain = got.plain()
    assert plain["blind"] == [{"start": bm._iso(at(159)), "end": bm._iso(at(99)), "minutes": 60}]
    assert plain["late"][0]["records"] == 7 and plain["blind_minutes"] == 60 and plain["late_records"] == 7


def test_silence_up_to_now_and_before_the_first_contact_is_blind_but_not_before_registration() -> None:
    got = bm.summarise("s1", "24h", END, [at(600)], [], blind_after_s=120, late_after_s=120,
                       registered_ns=at(700))
    assert [(s.start_ns, s.end_ns) for s in got.blind] == [(at(700), at(600)), (at(599), END)]
    svg = str(bm.strip_svg(got))
    states = [s.split('"')[1] for s in svg.split('data-state=')[1:]]
    # A cell with any blind minute is drawn blind (a short gap stays visible): the lone heard
    # minute's cell is blind too, and the numbers above say it was heard.
    assert len(states) == 96 and states[0] == "idle" and states[-1] == "blind" and "heard" not in states
    assert got.heard_minutes == 1


def test_arrivals_count_as_contact_and_the_strip_puts_late_counts_where_they_arrived() -> None:
    heard = [at(m) for m in range(24 * 60, 0, -1) if m > 200]
    arrivals = [Arrival(at(m), 1) for m in range(200, 0, -1)]
    arrivals[-1] = Arrival(at(1), 3, 3, at(500), at(480))
    got = bm.summarise("s1", "24h", END, heard, arrivals, blind_after_s=120, late_after_s=120)
    assert got.blind == [] and got.heard_minutes == 24 * 60
    svg = str(bm.strip_svg(got))
    assert svg.count('data-late="3"') == 1 and "▲3" in svg and 'data-state="blind"' not in svg


def test_a_week_uses_two_hour_cells_and_a_short_gap_still_shows() -> None:
    end = END
    heard = [end - m * M for m in range(7 * 24 * 60, 0, -1) if not 500 <= m < 505]
    got = bm.summarise("s1", "7d", end, heard, [], blind_after_s=120, late_after_s=120)
    assert got.blind_minutes == 5
    svg = str(bm.strip_svg(got))
    assert svg.count('data-state="blind"') == 1 and svg.count("data-state=") == 84
