"""Dates: any common form as an aware UTC datetime, and back out as ISO 8601 with ``Z``.

Owns the forms feeds and listings write (RFC 822 and its slips, ISO 8601 and W3C-DTF,
a listing's ``DD/MM/YYYY``, Unix seconds) and the years believed. An unreadable or
absurd date is ``None``; the caller warns, naming the item.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import overload

#: Dates outside [MIN_YEAR, MAX_YEAR] are not believed (year 1, year 9999).
MIN_YEAR = 1900
MAX_YEAR = 2199

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_UNIX = re.compile(r"\d{9,13}")
_RFC822_YEAR = re.compile(r"\d{1,2}[\s-]+[A-Za-z]{3,}[\s-]+(\d{2,4})\b")

# The slips email.utils does not read: a month written out or cut after four letters
# ("Sept"), a date without a time ("Tue, 26 May 2026"), ISO 8601 cut short ("2026-05",
# W3C-DTF's reduced precision), in lower case ("...t10:00z"), with 24:00, or with a
# named zone ("2026-05-26 10:00:00 UTC").
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_WORD = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]+\b", re.IGNORECASE)
_DATE_ONLY = re.compile(r"(?:[A-Za-z]+,?\s+)?(\d{1,2})[\s-]+([A-Za-z]{3})[a-z]*,?[\s-]+(\d{4})")
_LOOSE_ISO = re.compile(
    r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|UTC|GMT|([+-])(\d{2})(?::?(\d{2}))?)?)?)?)?",
    re.IGNORECASE,
)


def parse_date(text: str | None) -> datetime | None:
    """Read a date in any common form as an aware UTC datetime, or None.

    Understands RFC 822 (with or without weekday, named or numeric zones), ISO 8601
    and W3C-DTF, a listing's ``DD/MM/YYYY`` (00:00 UTC that day) and Unix seconds.

    >>> parse_date("Tue, 26 May 2026 10:00:00 PDT").isoformat()
    '2026-05-26T17:00:00+00:00'
    >>> parse_date("26/05/2026").isoformat()
    '2026-05-26T00:00:00+00:00'
    >>> parse_date("last Tuesday") is None, parse_date("Mon, 01 Jan 0001 00:00:00 GMT") is None
    (True, True)
    """
    if text is None or not text.strip():
        return None
    parsed = _parse_date_forms(text.strip())
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is in the year 10000
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return parsed


def _parse_date_forms(value: str) -> datetime | None:
    if m := _DAY_MONTH_YEAR.fullmatch(value):
        day, month, year = (int(g) for g in m.groups())
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
    if _UNIX.fullmatch(value):
        stamp = int(value)
        if stamp > 10**11:  # milliseconds
            stamp //= 1000
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=stamp)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    parsed = _rfc822(value)
    if parsed is None and _MONTH_WORD.search(value):
        parsed = _rfc822(_MONTH_WORD.sub(lambda m: m.group(1), value))
    if parsed is not None:
        return parsed
    return _loose(value)


def _rfc822(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # email.utils reads a four-digit year below 100 ("0001") as 20xx; such a year
    # is garbage, not this century.
    written = _RFC822_YEAR.search(value)
    if written and len(written.group(1)) == 4 and int(written.group(1)) != parsed.year:
        return None
    return parsed


def _loose(value: str) -> datetime | None:
    """The slips of RFC 822 and ISO 8601 that the standard library refuses."""
    if m := _DATE_ONLY.fullmatch(value):
        day, month, year = m.groups()
        if month.lower() not in _MONTHS:
            return None
        return _build(int(year), _MONTHS.index(month.lower()) + 1, int(day))
    m = _LOOSE_ISO.fullmatch(value.removesuffix("[UTC]"))  # Java's ZonedDateTime appends its zone
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, _zone, sign, zone_hours, zone_minutes = m.groups()
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes or 0))
        if offset >= timedelta(days=1):
            return None
        offset = -offset if sign == "-" else offset
    moment = _build(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "0")[:6].ljust(6, "0")),
        timezone(offset),
    )
    return moment


def _build(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
    zone: timezone = UTC,
) -> datetime | None:
    """A datetime from its parts, or None when they name no moment; 24:00 is the next day's 0:00."""
    midnight_after = hour == 24 and minute == second == microsecond == 0
    try:
        moment = datetime(year, month, day, 0 if midnight_after else hour, minute, second, microsecond, zone)
    except ValueError:
        return None
    return moment + timedelta(days=1) if midnight_after else moment


@overload
def format_iso(moment: datetime) -> str: ...
@overload
def format_iso(moment: None) -> None: ...
def format_iso(moment: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in UTC ending in Z, to the second; None stays None.

    isoformat, not strftime: strftime writes the year 1 as '1', which no parser reads.

    >>> format_iso(datetime(2026, 5, 26, 8, 0, 5, 999, tzinfo=UTC)), format_iso(datetime(1, 1, 1, tzinfo=UTC))
    ('2026-05-26T08:00:05Z', '0001-01-01T00:00:00Z')
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
