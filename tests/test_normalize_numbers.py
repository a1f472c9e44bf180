"""normalize.numbers: episode numbers, enclosure lengths and the explicit flag."""

from __future__ import annotations

import pytest

from feedtool.normalize.numbers import parse_explicit, parse_length, parse_positive_int

NUMBERS = [
    ("12", 12, 12),
    ("\u0661\u0662", 12, 12),  # Arabic-Indic digits are digits, as int() reads them
    ("\u00b2", None, None),  # superscript two: str.isdigit() said yes, int() raised ValueError
    ("\u2460", None, None),  # circled one: the same
    ("9" * 5000, None, None),  # beyond int()'s 4,300 digits
    ("0" * 5000 + "7", 7, 7),
]


@pytest.mark.parametrize(("text", "number", "length"), NUMBERS, ids=[repr(t[:8]) for t, _, _ in NUMBERS])
def test_numbers_of_any_digits(text: str, number: int | None, length: int | None) -> None:
    assert parse_positive_int(text) == number
    assert parse_length(text) == length


EXPLICIT = [
    ("true", True),
    ("Yes", True),
    ("explicit", True),
    ("1", True),
    ("false", False),
    ("No", False),
    ("clean", False),
    ("0", False),
    ("?", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "flag"), EXPLICIT, ids=[repr(t) for t, _ in EXPLICIT])
def test_parse_explicit(text: str | None, flag: bool | None) -> None:
    assert parse_explicit(text) is flag
