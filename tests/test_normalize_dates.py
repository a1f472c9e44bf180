"""normalize.dates: every date form feeds and listings write, and ISO 8601 with Z."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from feedtool.normalize.dates import format_iso, parse_date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


DATES = [
    ("Tue, 26 May 2026 10:00:00 +0000", utc(2026, 5, 26, 10)),
    ("26 May 2026 10:00:00 +0200", utc(2026, 5, 26, 8)),
    ("Tue, 26 May 2026 10:00:00 GMT", utc(2026, 5, 26, 10)),
    ("Tue, 26 May 2026 10:00:00 PDT", utc(2026, 5, 26, 17)),
    ("Tue, 26 May 2026 10:00:00 EST", utc(2026, 5, 26, 15)),
    ("Tue, 26 May 2026 10:00 UT", utc(2026, 5, 26, 10)),
    ("Tue, 26 May 26 10:00:00 -0500", utc(2026, 5, 26, 15)),
    ("Tuesday, 26-May-26 10:00:00 GMT", utc(2026, 5, 26, 10)),
    ("2026-05-26T10:00:00Z", utc(2026, 5, 26, 10)),
    ("2026-05-26T12:00:00+02:00", utc(2026, 5, 26, 10)),
    ("2026-05-26T10:00:00.123456Z", utc(2026, 5, 26, 10, 0, 0, 123456)),
    ("2026-05-26", utc(2026, 5, 26)),
    ("26/05/2026", utc(2026, 5, 26)),
    ("26.05.2026", utc(2026, 5, 26)),
    ("1779789600", utc(2026, 5, 26, 10)),
    ("1779789600000", utc(2026, 5, 26, 10)),
    ("Mon, 01 Jan 0001 00:00:00 GMT", None),
    ("Fri, 31 Dec 9999 23:59:59 GMT", None),
    # offsets that carry a date past the ends of datetime raised OverflowError
    ("9999-12-31T23:59:59-23:59", None),
    ("0001-01-01T00:00:00+01:00", None),
    ("Fri, 31 Dec 9999 23:59:59 -2359", None),
    ("31/02/2026", None),
    ("last Tuesday", None),
    ("", None),
    # slips email.utils refuses, read by our own rules (feedparser's private _parse_date did)
    ("Tue, 26 Sept 2026 10:00:00 GMT", utc(2026, 9, 26, 10)),
    ("Tue, 26 May 2026", utc(2026, 5, 26)),
    ("26 May, 2026", utc(2026, 5, 26)),
    ("2026-05", utc(2026, 5, 1)),
    ("2026", utc(2026, 1, 1)),
    ("2026-5-6", utc(2026, 5, 6)),
    ("2026-05-26t10:00:00z", utc(2026, 5, 26, 10)),
    ("2026-05-26T24:00:00Z", utc(2026, 5, 27)),
    ("2026-05-26T10:00:00Z[UTC]", utc(2026, 5, 26, 10)),
    ("2026-05-26T10:00:00.5+0530", utc(2026, 5, 26, 4, 30, 0, 500000)),
    # feedparser read these wrongly: 10:00 UTC as midnight, the rest as other days
    ("2026-05-26 10:00:00 UTC", utc(2026, 5, 26, 10)),
    ("2026/05/26", None),
    ("26-05-2026", None),
    ("2026-146", None),
    ("T10:00:00Z", None),
    ("Tue, 26 May 2026 10:00:00 +9999", None),
    ("2026-13-01", None),
    ("2026-05-26T10:00:00+24:00", None),
]


@pytest.mark.parametrize(("text", "moment"), DATES, ids=[t or "empty" for t, _ in DATES])
def test_parse_date(text: str, moment: datetime | None) -> None:
    parsed = parse_date(text)
    assert parsed == moment
    if parsed is not None:
        assert parsed.utcoffset() is not None
        assert parsed.utcoffset().total_seconds() == 0


def test_an_unreadable_date_is_none_and_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The caller warns, naming the item (issue 10: every bad date was reported twice)."""
    with caplog.at_level(logging.DEBUG):
        assert parse_date("not a date") is None
        assert parse_date("Mon, 01 Jan 0001 00:00:00 GMT") is None
    assert caplog.records == []


ISO = [
    (utc(2026, 5, 26, 8, 0, 5), "2026-05-26T08:00:05Z"),
    (utc(2026, 5, 26, 8, 0, 5, 999_999), "2026-05-26T08:00:05Z"),
    (datetime(2026, 5, 26, 10, tzinfo=timezone(timedelta(hours=2))), "2026-05-26T08:00:00Z"),
    (utc(1, 1, 1), "0001-01-01T00:00:00Z"),
    (None, None),
]


@pytest.mark.parametrize(("moment", "text"), ISO, ids=[str(t) for _, t in ISO])
def test_format_iso(moment: datetime | None, text: str | None) -> None:
    assert format_iso(moment) == text
    if moment is not None and moment.year > 1:
        assert parse_date(text) == moment.replace(microsecond=0)
