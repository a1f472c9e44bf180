"""Numbers and flags: episode and season numbers, enclosure lengths, the explicit flag.

Owns which numbers are believed (positive, not absurdly long, digits of any script as
int() reads them) and the spellings of iTunes' explicit flag. Unknown is ``None``.
"""

from __future__ import annotations

#: Numbers with more digits than this are not believed (and not read).
_MAX_DIGITS = 15


def parse_positive_int(text: str | None) -> int | None:
    """An episode or season number: a positive integer, else None.

    >>> parse_positive_int(" 12 "), parse_positive_int("0"), parse_positive_int("x")
    (12, None, None)
    """
    number = _whole_number(text)
    return number if number is not None and 0 < number < 10**9 else None


def parse_length(text: str | None) -> int | None:
    """An enclosure length in bytes; None when absent, zero, negative or not a number.

    >>> parse_length("1234"), parse_length("0"), parse_length(""), parse_length("12.5MB")
    (1234, None, None, None)
    """
    number = _whole_number(text)
    return number if number is not None and 0 < number < 10**13 else None


def _whole_number(text: str | None) -> int | None:
    """Decimal digits (any script's, as int() reads them) as a number, else None.

    isdecimal, not isdigit: isdigit also accepts '²' and '①', which int() refuses.
    """
    if text is None:
        return None
    value = text.strip()
    digits = value.lstrip("0")
    if not value.isdecimal() or len(digits) > _MAX_DIGITS:
        return None
    return int(digits or "0")


def parse_explicit(text: str | None) -> bool | None:
    """iTunes explicit flag in any of its spellings: true/yes/explicit, false/no/clean.

    >>> parse_explicit("Yes"), parse_explicit("clean"), parse_explicit("maybe")
    (True, False, None)
    """
    if text is None:
        return None
    value = text.strip().lower()
    if value in {"true", "yes", "explicit", "1"}:
        return True
    if value in {"false", "no", "clean", "0"}:
        return False
    return None
