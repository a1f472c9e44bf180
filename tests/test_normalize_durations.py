"""normalize.durations: every duration form seen in the wild, and seconds for people."""

from __future__ import annotations

import pytest

from feedtool.normalize.durations import MAX_DURATION, format_clock, parse_duration

DURATIONS = [
    ("9 mins.", 540),
    ("1 min.", 60),
    ("1 hr 5 mins", 3900),
    ("2 hrs.", 7200),
    ("1h 2m", 3720),
    ("1h30m", 5400),
    ("90m", 5400),
    ("1:02:03", 3723),
    ("01:02:03.500", 3723),
    ("61:08", 3668),
    ("3723", 3723),
    ("3723.9", 3723),
    ("PT1H2M3S", 3723),
    ("PT45M", 2700),
    ("45 Min.", 2700),
    ("1 Std. 5 Min.", 3900),
    (" 00:20 ", 20),
    ("1 hour and 5 minutes", 3900),
    # unknown is None, never 0 or -1
    ("", None),
    ("0", None),
    ("00:00:00", None),
    ("soon", None),
    ("-300", None),
    ("12 parsecs", None),
    ("1:2:3:4", None),
    ("99999999", None),
    (None, None),
    # digit strings beyond Python's int() limit of 4,300 digits raised ValueError
    ("9" * 5000, None),
    ("1:" + "9" * 5000 + ":00", None),
    ("P" + "9" * 5000 + "D", None),
    ("9" * 5000 + " min", None),
    ("\u00b2", None),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS, ids=[repr(t)[:40] for t, _ in DURATIONS])
def test_parse_duration(text: str | None, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


def test_a_week_is_the_longest_duration_believed() -> None:
    assert parse_duration(str(MAX_DURATION)) == MAX_DURATION
    assert parse_duration(str(MAX_DURATION + 1)) is None


CLOCKS = [(3723, "1:02:03"), (59, "0:00:59"), (36000, "10:00:00"), (None, "")]


@pytest.mark.parametrize(("seconds", "clock"), CLOCKS, ids=[repr(s) for s, _ in CLOCKS])
def test_format_clock(seconds: int | None, clock: str) -> None:
    assert format_clock(seconds) == clock
