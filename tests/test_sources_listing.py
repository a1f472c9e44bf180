"""Listing pages saved as text: fixtures of our own, and the real seed page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedtool.errors import ParseError
from feedtool.normalize.text import compile_patterns
from feedtool.sources import ParseContext
from feedtool.sources.listing import parse

from listing_json import listing_json

DATA = Path(__file__).parent / "data" / "listing"
PAGES = sorted(DATA.glob("*.txt"))


def context(name: str = "page.txt") -> ParseContext:
    return ParseContext(show_id="test", location=name, strip=compile_patterns([r"^Sponsor line:"]))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_fixture(page: Path) -> None:
    expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert listing_json(parse(page.read_bytes(), context(page.name))) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no episodes found"),
        (b"Just some text\nwith no episodes\n", "no episodes found"),
        (b"<html><body>x</body></html>", "markup, not a listing"),
        (b"\xff\xfe\x00garbage", "must be UTF-8 text"),
    ],
)
def test_not_a_listing(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(body, context())


def test_seed_page(shared: Path) -> None:
    """The real radio.net page of Interconnects saved as text (../shared/seed)."""
    listing = parse((shared / "seed" / "000_6e3f75afb0f0bcf3.txt").read_bytes(), context())
    assert listing.show.title == "Interconnects"
    assert listing.show.author == "Nathan Lambert"
    assert listing.show.episode_count == 149
    assert listing.show.link == "https://www.interconnects.ai"
    assert [(e.title, e.published and e.published.date().isoformat(), e.duration) for e in listing.episodes] == [
        ("Some ideas for what comes next, May 2026", "2026-05-26", 540),
        ("Notes from inside China's AI labs", "2026-05-07", 960),
        ("The distillation panic", "2026-05-04", 480),
        ("My bets on open models, mid-2026", "2026-04-15", 360),
        ("The inevitable need for an open model consortium", "2026-04-11", 300),
    ]
    for episode in listing.episodes:
        assert episode.description
        assert "public episode" not in episode.description
        assert "reader-supported" not in episode.description
