"""radio.net pages and the episode API: fixtures, API first with the page as fallback, paging,
GUID stability, and the URL knowledge other modules ask the kind for."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from feedtool.errors import FetchError, ParseError
from feedtool.sources import KINDS, ParseContext
from feedtool.sources import radionet as radionet_module
from feedtool.sources.radionet import (
    HOSTS,
    api_url,
    feed_url,
    is_page_url,
    looks_like_page,
    page_api,
    parse_api,
    parse_page,
    read,
)

from listing_json import listing_json

DATA = Path(__file__).parent / "data" / "radionet"
PAGES = sorted(page for page in DATA.glob("*.html") if page.with_suffix(".json").exists())
API = "https://api.radio.example"
PAGE_URL = "https://www.radio.de/podcast/sternwarte"
#: Every episode the API has, newest first, as api_offset_*.json hold them.
API_EPISODES: list[dict[str, Any]] = [
    episode
    for offset in (0, 50, 100)
    for episode in json.loads((DATA / f"api_offset_{offset}.json").read_bytes())["episodes"]
]


def context(location: str = PAGE_URL) -> ParseContext:
    return ParseContext(show_id="sternwarte", location=location)


class Source:
    def __init__(self, location: str = PAGE_URL, api: str | None = API) -> None:
        self.location = location
        self.options: Mapping[str, str] = {"api": api} if api else {}


def api_fetch(asked: list[str] | None = None, episodes: list[dict[str, Any]] = API_EPISODES) -> Callable[[str], bytes]:
    """An episode API over ``episodes``, answering any offset and count, as radio.net's does."""

    def fetch(url: str) -> bytes:
        if asked is not None:
            asked.append(url)
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        if not url.startswith(API) or query.get("podcastIds") != "sternwarte":
            raise FetchError(f"HTTP 404 for {url}")
        offset, count = int(query["offset"]), int(query["count"])
        return json.dumps({"totalCount": len(episodes), "episodes": episodes[offset : offset + count]}).encode()

    return fetch


def failing(url: str) -> bytes:
    raise FetchError("HTTP 503 Service Unavailable (gave up after 3 tries)")


def page(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_fixture(path: Path) -> None:
    """A saved page alone: show and episodes exactly as the expected file says."""
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert listing_json(parse_page(path.read_bytes(), context(str(path)))) == expected


def test_the_api_pages_every_episode_and_the_page_gives_the_show() -> None:
    asked: list[str] = []
    listing = read(page("flight.html"), context(), Source(), api_fetch(asked))
    assert asked == [api_url(API, "sternwarte", offset) for offset in (0, 50, 100)]
    assert [e.title for e in listing.episodes][:3] == [
        "Folge 103: Dunkle Materie",
        "Folge 102: Exoplaneten & Leben",
        "Folge 101: Neutronensterne",
    ]
    assert len(listing.episodes) == 103
    assert listing.warnings == ()
    # The page's show, the API's count; the page's short text of 102 loses to the API's.
    assert (listing.show.title, listing.show.author, listing.show.episode_count) == (
        "Sternwarte",
        "Dr. Vera Beispiel",
        103,
    )
    assert listing.show.description is not None
    assert "Die Sternwarte ist der Astronomie-Podcast" in listing.show.description
    assert listing.episodes[1].description == "<p>Gibt es Leben da draußen?</p>"


@pytest.mark.parametrize("name", ["flight.html", "next_data.html", "no_data.html", "escaped.html"])
def test_episode_fields_come_from_the_api_objects(name: str) -> None:
    listing = read(page(name), context(), Source(), api_fetch())
    by_id = {obj["url"]: obj for obj in API_EPISODES}
    assert [e.enclosure.url for e in listing.episodes if e.enclosure] == list(by_id)
    for episode in listing.episodes:
        assert episode.enclosure is not None
        obj = by_id[episode.enclosure.url]
        assert episode.duration == obj["duration"]
        assert episode.published is not None
        assert int(episode.published.timestamp()) == obj["publishDate"]
        expected_type = obj.get("contentFormat") or (
            "audio/mp4" if episode.enclosure.url.endswith(".m4a") else "audio/mpeg"
        )
        assert episode.enclosure.type == expected_type
        assert episode.image == obj.get("parentLogo1200x1200")


def test_a_page_that_cannot_be_understood_still_gives_every_episode_with_one_warning() -> None:
    listing = read(page("no_data.html"), context(), Source(), api_fetch())
    assert len(listing.episodes) == 103
    assert listing.warnings == (
        "could not read its episode list (no episode list in the page's flight data) or its show details "
        "(no podcast object, no JSON-LD PodcastSeries) from the page; the episode API gave everything",
    )
    # The show from the API's episode objects.
    assert listing.show.title == "Sternwarte"
    assert listing.show.image == "https://img.radio.example/sternwarte/logo_1200x1200.png"
    assert listing.show.episode_count == 103


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (b"<html><body>Wartungsarbeiten</body></html>", "neither __NEXT_DATA__ nor flight data"),
        (b'<script id="__NEXT_DATA__">{"props": {broken</script>', "__NEXT_DATA__ is not JSON"),
        (b'<script>self.__next_f.push([1,"0:T99,short"])</script>', "T row of 153 bytes, but only 5 follow"),
        (
            b'<script id="__NEXT_DATA__">{"props":{"pageProps":{"data":{"episodes":{"totalCount":1,'
            b'"episodes":[{"id":"x","title":"t"}]}}}}}</script>',
            "no episode list in the page's __NEXT_DATA__",
        ),
    ],
    ids=["no-data", "broken-next-data", "broken-flight", "episodes-without-url"],
)
def test_any_unreadable_page_is_one_warning_naming_what_was_missing(body: bytes, missing: str) -> None:
    listing = read(body, context(), Source(), api_fetch())
    assert len(listing.episodes) == 103
    (warning,) = listing.warnings
    assert missing in warning


def test_a_failing_api_leaves_the_pages_episodes_with_a_warning() -> None:
    listing = read(page("flight.html"), context(), Source(), failing)
    assert [e.title for e in listing.episodes] == [
        "Folge 103: Dunkle Materie",
        "Folge 102: Exoplaneten & Leben",
        "Folge 101: Neutronensterne",
    ]
    assert listing.warnings == (
        "the episode API failed (HTTP 503 Service Unavailable (gave up after 3 tries)): "
        "only the 3 episodes on the page were read",
    )
    assert listing.show.episode_count == 103
    assert not listing.complete  # so refresh keeps no validators and reads it all next time


def test_an_api_answering_nonsense_is_a_failing_api() -> None:
    listing = read(page("next_data.html"), context(), Source(), lambda url: b"<html>rate limited</html>")
    assert len(listing.episodes) == 3
    (warning,) = listing.warnings
    assert warning.startswith("the episode API failed (the radio.net episode API did not answer JSON")


def test_no_episodes_from_either_is_an_error_naming_both() -> None:
    with pytest.raises(ParseError) as caught:
        read(page("no_data.html"), context(), Source(), failing)
    assert str(caught.value) == (
        "no episodes: the episode API failed (HTTP 503 Service Unavailable (gave up after 3 tries)), "
        "and the page has none (no episode list in the page's flight data)"
    )


@pytest.mark.parametrize(
    ("location", "api"),
    [(str(DATA / "flight.html"), API), (PAGE_URL, None)],
    ids=["saved-page", "no-api"],
)
def test_a_saved_page_or_no_api_is_the_page_alone(location: str, api: str | None) -> None:
    listing = read(page("flight.html"), context(location), Source(location, api), failing)
    assert len(listing.episodes) == 3
    assert listing.warnings == ()
    with pytest.raises(ParseError, match="no episode list in the page's flight data"):
        read(page("no_data.html"), context(location), Source(location, api), failing)


def test_a_failure_after_the_first_api_page_keeps_the_pages_before() -> None:
    good = api_fetch()

    def fetch(url: str) -> bytes:
        if "offset=100" in url:
            raise FetchError("HTTP 502 Bad Gateway (gave up after 3 tries)")
        return good(url)

    listing = read(page("flight.html"), context(), Source(), fetch)
    assert len(listing.episodes) == 100
    assert listing.warnings == (
        "the episode API failed at offset 100 (HTTP 502 Bad Gateway (gave up after 3 tries)): "
        "only its first 100 were read",
    )
    assert not listing.complete
    assert read(page("flight.html"), context(), Source(), good).complete


def test_paging_stops_at_an_empty_page() -> None:
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return b'{"episodes": []}' if "offset=50" in url else json.dumps({"episodes": API_EPISODES[:50]}).encode()

    episodes, total, _, _ = page_api(fetch, API, "sternwarte", context())
    assert (len(episodes), total, len(asked)) == (50, None, 2)


def test_paging_stops_when_the_api_repeats_itself() -> None:
    ctx = context()
    episodes, _, _, _ = page_api(lambda url: json.dumps({"episodes": API_EPISODES[:50]}).encode(), API, "x", ctx)
    assert len(episodes) == 50
    assert ctx.warnings == ["the episode API repeated itself at offset 50; stopped paging there"]


def test_paging_stops_after_max_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(radionet_module, "MAX_PAGES", 2)
    ctx = context()
    episodes, total, _, _ = page_api(api_fetch(), API, "sternwarte", ctx)
    assert (len(episodes), total) == (100, 103)
    assert ctx.warnings == ["stopped paging after 2 pages of the episode API"]


def test_overlapping_pages_keep_each_episode_once() -> None:
    """An episode published while paging shifts the API's pages by one."""
    shifted = [dict(API_EPISODES[0], url="https://media.sternwarte.example/104.mp3", title="Folge 104"), *API_EPISODES]
    calls = iter([API_EPISODES, shifted, shifted])

    def fetch(url: str) -> bytes:
        offset = int(url.rsplit("offset=", 1)[1])
        return json.dumps({"totalCount": 103, "episodes": next(calls)[offset : offset + 50]}).encode()

    episodes, _, _, _ = page_api(fetch, API, "sternwarte", context())
    assert [e.title for e in episodes] == [e["title"].replace("&amp;", "&") for e in API_EPISODES]


def test_guids_stay_what_they_were_before() -> None:
    """Episodes stored before the API came first keep their GUIDs: no second download."""
    before = json.loads((DATA / "guids_before.json").read_text())["guids"]
    assert [e.guid for e in read(page("flight.html"), context(), Source(), api_fetch()).episodes] == before
    assert [e.guid for e in read(page("next_data.html"), context(), Source(), failing).episodes] == before[:3]
    assert [
        e.guid for offset in (0, 50, 100) for e in parse_api(page(f"api_offset_{offset}.json"), context(), offset)[0]
    ] == before


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


def test_absurd_durations_are_unknown() -> None:
    body = b'{"episodes": [{"id": "1", "title": "t", "url": "https://a/1.mp3", "duration": 1e999}]}'
    (episode,), _ = parse_api(body, context())
    assert episode.duration is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>No scripts here</body></html>", "no episode data in the page: neither __NEXT_DATA__ nor flight"),
        (b"<html><script>var x = 1;</script></html>", "no episode data in the page"),
        (
            b'<html><script id="__NEXT_DATA__" type="application/json">{broken</script></html>',
            "__NEXT_DATA__ is not JSON",
        ),
        (page("no_data.html"), "no episode list in the page's flight data"),
    ],
    ids=["no-scripts", "no-data", "broken-next-data", "no-episodes"],
)
def test_page_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_page(body, context())


def test_similar_podcasts_are_not_taken_for_the_show() -> None:
    """They share the podcast object's shape; the id says which one is the show."""
    body = page("flight.html").replace(
        b'{\\"id\\":\\"sternwarte\\",\\"name\\":\\"Sternwarte\\"', b'{\\"id\\":\\"x\\",\\"name\\":\\"X\\"'
    )
    assert body != page("flight.html")
    listing = parse_page(body, context())
    assert listing.show.title == "Sternwarte"  # from JSON-LD, not "Mondfinsternis"
    assert listing.show.image == "https://img.radio.example/sternwarte/og.png"


def test_a_list_shared_by_many_objects_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flight data can refer to one long list from every row: the shape search stays linear."""
    calls: list[int] = []
    check = radionet_module._are_episodes
    monkeypatch.setattr(radionet_module, "_are_episodes", lambda items: calls.append(len(items)) or check(items))
    episodes = json.dumps(API_EPISODES).encode()
    rows = b"".join(b'%x:{"episodes":"$1"}\n' % row for row in range(2, 1002))
    stream = (b"1:" + episodes + b"\n" + rows).decode()
    body = f"<script>self.__next_f.push([1,{json.dumps(stream)}])</script>".encode()
    listing = parse_page(body, context())
    assert len(listing.episodes) == 103
    assert calls == [103]


def test_the_kind_reads_api_first() -> None:
    listing = KINDS["radionet"].read(page("no_data.html"), context(), Source(), api_fetch())
    assert len(listing.episodes) == 103


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.radio.net/podcast/interconnects", True),
        ("http://radio.net/podcast/interconnects", True),
        ("https://WWW.RADIO.DE/podcast/sternwarte?x=1", True),
        *((f"https://{host}/podcast/a", True) for host in ("radio.at", "www.radio.fr", "radio.it", "radio.es")),
        *((f"https://www.{tld}/podcast/a", True) for tld in ("radio.pt", "radio.pl", "radio.dk", "radio.se")),
        ("https://www.radio.net/s/swr3", False),  # a station
        ("https://www.radio.com/podcast/a", False),  # not a sister site
        ("https://www.radio.net.evil.example/podcast/a", False),
        ("https://notradio.net/podcast/a", False),
        ("ftp://www.radio.net/podcast/a", False),
        ("/saved/page.html", False),
    ],
)
def test_is_page_url(url: str, expected: bool) -> None:
    assert is_page_url(url) is expected


def test_hosts() -> None:
    assert {"radio.net", "www.radio.net", "radio.de", "www.radio.se"} <= HOSTS
    assert len(HOSTS) == 20


@pytest.mark.parametrize(
    ("name", "expected"),
    [("flight.html", True), ("next_data.html", True), ("escaped.html", True), ("api_offset_0.json", False)],
)
def test_looks_like_page(name: str, expected: bool) -> None:
    assert looks_like_page(page(name)) is expected


def test_looks_like_page_wants_podcast_data_in_a_next_page() -> None:
    assert not looks_like_page(b'<script id="__NEXT_DATA__">{"props":{"pageProps":{"shop":1}}}</script>')
    assert not looks_like_page(b"<html><body>episodes and a PodcastSeries, but no Next.js</body></html>")


def test_no_feed_url_in_pages_that_name_none() -> None:
    for name in ("flight.html", "next_data.html", "no_data.html", "escaped.html"):
        assert feed_url(page(name), PAGE_URL) is None
    assert feed_url(b"\xff not a page", PAGE_URL) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            page("flight.html").replace(
                b'"PodcastSeries",', b'"PodcastSeries","webFeed":"https://sternwarte.example/feed.xml",'
            ),
            "https://sternwarte.example/feed.xml",
        ),
        (
            page("next_data.html").replace(
                b'"homepageUrl":', b'"feedUrl":"https://sternwarte.example/rss","homepageUrl":'
            ),
            "https://sternwarte.example/rss",
        ),
        (
            page("flight.html").replace(
                b'\\"homepageUrl\\":', b'\\"rssUrl\\":\\"/rss/sternwarte.xml\\",\\"homepageUrl\\":'
            ),
            "https://www.radio.de/rss/sternwarte.xml",
        ),
        (
            page("no_data.html").replace(
                b"<title>", b'<link rel="alternate" type="application/rss+xml" href="/feed?x=1&amp;y=2"><title>'
            ),
            "https://www.radio.de/feed?x=1&y=2",
        ),
    ],
    ids=["json-ld-webfeed", "old-podcast-object", "flight-podcast-object", "link-alternate"],
)
def test_feed_url(body: bytes, expected: str) -> None:
    assert feed_url(body, PAGE_URL) == expected
