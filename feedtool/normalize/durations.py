"""Durations: any form seen in the wild as whole seconds, and seconds as h:mm:ss.

Owns the clock, seconds, ISO 8601 and unit-word forms ("1 Std. 5 Min.") and the
longest duration believed. Unknown is ``None``, never 0.
"""

from __future__ import annotations

import re

#: Durations above this are not believed: no episode lasts more than a week.
MAX_DURATION = 7 * 24 * 3600
#: Longer duration texts are not read: int() refuses more than 4,300 digits, and the
#: longest real form ("1 Stunde 23 Minuten und 45 Sekunden") is far shorter.
_MAX_DURATION_TEXT = 100

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d{1,2})(?:[.,]\d+)?")
_SECONDS = re.compile(r"(\d+)(?:[.,]\d+)?")
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,]\d+)?S)?)?", re.IGNORECASE)
_UNIT_SECONDS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "std": 3600, "stunde": 3600, "stunden": 3600, "uur": 3600, "heure": 3600,
    "heures": 3600, "ora": 3600, "ore": 3600, "hora": 3600, "horas": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuten": 60,
    "minuti": 60, "minutos": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "sek": 1, "sekunden": 1,
}  # fmt: skip
_UNIT_PART = re.compile(r"(\d+)\s*([a-z]+)\.?", re.IGNORECASE)
_UNIT_FILLER = re.compile(r"[\s,]+|and|und|et|e|y", re.IGNORECASE)


def parse_duration(text: str | None) -> int | None:
    """Read a duration in any form seen in the wild as whole seconds, or None.

    >>> [parse_duration(t) for t in ("9 mins.", "1:02:03", "3723", "PT1H2M3S")]
    [540, 3723, 3723, 3723]
    >>> parse_duration("61:08"), parse_duration("1 Std. 5 Min."), parse_duration("soon")
    (3668, 3900, None)
    """
    if text is None:
        return None
    value = text.strip()
    if not value or len(value) > _MAX_DURATION_TEXT:
        return None
    seconds: int | None = None
    if m := _CLOCK.fullmatch(value):
        hours, minutes, secs = (int(g) if g else 0 for g in m.groups())
        seconds = (hours * 60 + minutes) * 60 + secs
    elif m := _SECONDS.fullmatch(value):
        seconds = int(m.group(1))
    elif (m := _ISO_DURATION.fullmatch(value)) and any(m.groups()):
        days, hours, minutes, secs = (int(g) if g else 0 for g in m.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        seconds = _parse_unit_duration(value)
    if seconds is None or seconds <= 0 or seconds > MAX_DURATION:
        return None
    return seconds


def _parse_unit_duration(value: str) -> int | None:
    """'1 hr 5 mins', '1h 2m', '45 Min.' -> seconds; None unless every part is a unit."""
    total = 0
    position = 0
    found = False
    for m in _UNIT_PART.finditer(value):
        if not _only_filler(value[position : m.start()]):
            return None
        unit = _UNIT_SECONDS.get(m.group(2).lower())
        if unit is None:
            return None
        total += int(m.group(1)) * unit
        position = m.end()
        found = True
    if not found or not _only_filler(value[position:]):
        return None
    return total


def _only_filler(text: str) -> bool:
    return _UNIT_FILLER.sub("", text) == ""


def format_clock(seconds: int | None) -> str:
    """Seconds as h:mm:ss for people; '' when unknown.

    >>> format_clock(3723), format_clock(59), format_clock(None)
    ('1:02:03', '0:00:59', '')
    """
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
