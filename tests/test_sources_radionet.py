"""radio.net pages and the episode API: fixtures, paging, tolerant and strict parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedtool.errors import FetchError, ParseError
from feedtool.sources import ParseContext
from feedtool.sources.radionet import api_url, page_through, parse_api, parse_page

from listing_json import listing_json

DATA = Path(__file__).parent / "data" / "radionet"
PAGES = sorted(DATA.glob("*.html"))
API = "https://api.radio.example"


def context(name: str = "page.html") -> ParseContext:
    return ParseContext(show_id="test", location=str(DATA / name))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_fixture(page: Path) -> None:
    expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert listing_json(parse_page(page.read_bytes(), context(page.name))) == expected


def test_paging_completes_the_listing() -> None:
    first = parse_page((DATA / "next_data.html").read_bytes(), context())
    assert len(first.episodes) == 3
    bodies = {
        api_url(API, "sternwarte", 0): (DATA / "api_offset_0.json").read_bytes(),
        api_url(API, "sternwarte", 3): (DATA / "api_offset_2.json").read_bytes(),
    }
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return bodies[url]

    listing = page_through(first, fetch, API, "sternwarte", context())
    assert asked == [api_url(API, "sternwarte", 0), api_url(API, "sternwarte", 3)]
    titles = [e.title for e in listing.episodes]
    assert titles[-2:] == ["Folge 100: Jubiläum", "Folge 99: Kometen"]
    assert len(titles) == len(set(titles)) == 5
    assert listing.show.episode_count == 5


def test_paging_stops_at_an_empty_page() -> None:
    first = parse_page((DATA / "escaped.html").read_bytes(), context())
    listing = page_through(first, lambda url: b'{"episodes": []}', API, "sternwarte", context())
    assert len(listing.episodes) == 2


def test_paging_failure_is_the_sources_failure() -> None:
    first = parse_page((DATA / "escaped.html").read_bytes(), context())

    def fail(url: str) -> bytes:
        raise FetchError("HTTP 500")

    with pytest.raises(FetchError):
        page_through(first, fail, API, "sternwarte", context())


def test_api_url() -> None:
    assert api_url("https://prod.radio-api.net/", "interconnects", 10, 5) == (
        "https://prod.radio-api.net/podcasts/episodes/by-podcast-ids?podcastIds=interconnects&count=5&offset=10"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "did not answer JSON"),
        (b'{"totalCount": 3}', 'without an "episodes" list'),
        (b'{"episodes": [{"id": "1", "title": "t"}]}', "episode 0: missing required field url"),
        (
            b'{"episodes": [{"id": "1", "url": "https://a/1.mp3"}, {"title": "x"}]}',
            "episode 0: missing required field title",
        ),
        (b'{"episodes": ["x"]}', "episode 0: expected a JSON object"),
    ],
)
def test_api_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_api(body, context())


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b"<html><body>No scripts here</body></html>", "no scripts with episode data"),
        (b"<html><script>var x = 1;</script></html>", "no episode data in the page"),
        (
            b'<html><script id="__NEXT_DATA__" type="application/json">{broken</script></html>',
            "__NEXT_DATA__ is not JSON",
        ),
    ],
)
def test_page_errors(page: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_page(page, context())
