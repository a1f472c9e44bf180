"""Our RSS, Atom and JSON output read back by real parsers: feedparser and podcastparser
(gPodder's), every episode field compared with the document rendered.

Renderers are pure: each case is a FeedDocument built from plain values (a fixture's
parsed episodes, tagged and dated by hand), with no config file and no store.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from feedtool.lint import lint
from feedtool.model import Chapter, Episode, ShowInfo, SourceState, StoredEpisode
from feedtool.normalize.identity import atom_id, is_atom_id
from feedtool.normalize.text import html_to_text
from feedtool.render import FeedDocument, atom, html, jsonfeed, podcast_guid, rss
from feedtool.sources import ParseContext
from feedtool.sources.rss import parse

DATA = Path(__file__).parent / "data" / "rss"
FIXTURES = ["full.xml", "atom.xml", "no_guid.xml", "slips.xml", "boilerplate.xml", "durations.xml", "dates.xml"]
BASE = "https://feeds.example"
SEEN = datetime(2026, 5, 1, tzinfo=UTC)  # when the undated episodes were first seen
RENDERERS = {"rss": rss.render, "atom": atom.render, "json": jsonfeed.render}


def document(name: str, fmt: str = "rss") -> FeedDocument:
    """The unfiltered feed "show" of one fixture's episodes, newest first; every other one tagged."""
    listing = parse((DATA / name).read_bytes(), ParseContext("show", f"https://upstream.example/{name}"))
    stored = [
        StoredEpisode(n, "show", episode, ("open-models",) if n % 2 else (), SEEN - timedelta(minutes=n), SEEN)
        for n, episode in enumerate(listing.episodes, 1)
    ]
    stored.sort(key=lambda s: s.sort_time, reverse=True)
    info = listing.show
    title = info.title or "show"
    return FeedDocument(
        name="show",
        title=title,
        description=html_to_text(info.description or "") or title,
        self_url=f"{BASE}/feeds/show.{fmt}",
        home_url=info.link or f"{BASE}/",
        info=info,
        episodes=stored,
        updated=SEEN,
        podcast_guid=podcast_guid(info, "show", (), own_feed=True),
    )


@pytest.fixture(params=FIXTURES)
def fixture(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def render(doc: FeedDocument, fmt: str) -> tuple[bytes, list[StoredEpisode]]:
    return RENDERERS[fmt](doc), list(doc.episodes)


def words(text: str | None) -> str:
    return " ".join(html_to_text(text or "").split())


def test_rss_read_by_podcastparser(fixture: str) -> None:
    doc = document(fixture)
    body, stored = render(doc, "rss")
    parsed = podcastparser.parse("", io.BytesIO(body))
    assert len(parsed["episodes"]) == len(stored)
    for episode, s in zip(parsed["episodes"], stored, strict=True):
        e = s.data
        assert episode["guid"] == e.guid
        assert episode["title"] == e.title
        assert episode["published"] == int(s.sort_time.timestamp())
        assert episode["total_time"] == (e.duration or 0)
        if e.link:
            assert episode["link"] == e.link
        if e.enclosure:
            [enclosure] = episode["enclosures"]
            assert enclosure["url"] == e.enclosure.url
            assert enclosure["mime_type"] == (e.enclosure.type or "audio/mpeg")
            assert enclosure["file_size"] == (e.enclosure.length or -1)
        else:
            assert episode["enclosures"] == []
        assert episode.get("episode_art_url") == e.image
        assert words(episode.get("description_html") or episode["description"]) == words(e.content or e.description)
        assert [c["title"] for c in episode.get("chapters", [])] == [c.title for c in e.chapters]
        assert episode.get("number") == e.episode
        assert episode.get("season", None) == e.season
    assert parsed["title"] == doc.title


def test_rss_read_by_feedparser(fixture: str) -> None:
    doc = document(fixture)
    body, stored = render(doc, "rss")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == doc.title
    assert parsed.version == "rss20"
    for entry, s in zip(parsed.entries, stored, strict=True):
        e = s.data
        assert entry.id == e.guid
        assert entry.title == e.title
        assert time.mktime(entry.published_parsed) - time.timezone == int(s.sort_time.timestamp())
        if e.duration is not None:
            assert entry.itunes_duration == str(e.duration)
        if e.enclosure:
            [enclosure] = entry.enclosures
            assert (enclosure.href, enclosure.length) == (e.enclosure.url, str(e.enclosure.length or 0))
        if e.image:
            assert entry.image.href == e.image
        if e.description or e.content:
            assert words(entry.summary) == words(e.description or e.content)
        # feedparser adds itunes:keywords to the categories it reads
        assert set(s.tags) <= {t.term for t in entry.get("tags", [])}


def test_atom_read_by_parsers(fixture: str) -> None:
    body, stored = render(document(fixture, "atom"), "atom")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    gpodder = podcastparser.parse("", io.BytesIO(body))
    for entry, episode, s in zip(parsed.entries, gpodder["episodes"], stored, strict=True):
        e = s.data
        assert entry.id == episode["guid"] == atom_id(s.show_id, e.guid)
        assert entry.title == episode["title"] == e.title
        assert episode["published"] == int(s.sort_time.timestamp())
        if e.enclosure:
            [enclosure] = entry.enclosures
            assert enclosure.href == e.enclosure.url
            assert enclosure.type == (e.enclosure.type or "audio/mpeg")
            assert enclosure.length == str(e.enclosure.length or 0)
            [pp] = episode["enclosures"]
            assert (pp["url"], pp["file_size"]) == (e.enclosure.url, e.enclosure.length or -1)
        if e.link:
            assert episode["link"] == e.link


def test_atom_enclosure_links_keep_rel_type_and_length(fixture: str) -> None:
    """feedgen drops rel, type and length of Atom links (issues 135, 143): worked around."""
    body, stored = render(document(fixture, "atom"), "atom")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert b"ns0:" not in body  # Atom elements under the default namespace, no invented prefix
    entries = etree.fromstring(body).findall("a:entry", ns)
    for entry, s in zip(entries, stored, strict=True):
        links = entry.findall("a:link", ns)
        enclosures = [link for link in links if link.get("rel") == "enclosure"]
        assert len(enclosures) == (1 if s.data.enclosure else 0)
        for link in enclosures:
            assert link.get("type")
            assert link.get("length") is not None
        assert all(link.get("rel") for link in links)


def test_atom_ids_are_iris_stable_across_renders(fixture: str) -> None:
    """Regression (issue 11): a GUID such as 'quietlab-0002' was written as the atom:id,
    which is no IRI (the W3C validator's error); the feed's id followed the URL asked for."""
    doc = document(fixture, "atom")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = etree.fromstring(atom.render(doc))
    ids = [entry.findtext("a:id", namespaces=ns) for entry in root.findall("a:entry", ns)]
    assert all(is_atom_id(i or "") for i in ids), ids
    assert len(set(ids)) == len(ids)
    for i, s in zip(ids, doc.episodes, strict=True):  # an IRI GUID stays as it is
        assert (i == s.data.guid) == is_atom_id(s.data.guid)
    assert root.findtext("a:id", namespaces=ns) == f"urn:uuid:{doc.podcast_guid}"
    # Another render, at another address and with other episodes around, says the same.
    again = replace(doc, self_url="http://other.example/show.atom?utm_source=x", episodes=doc.episodes[::-1])
    root_again = etree.fromstring(atom.render(again))
    assert root_again.findtext("a:id", namespaces=ns) == root.findtext("a:id", namespaces=ns)
    assert sorted(e.findtext("a:id", namespaces=ns) or "" for e in root_again.findall("a:entry", ns)) == sorted(
        i or "" for i in ids
    )


def test_atom_non_iri_guids_in_the_fixtures() -> None:
    """The fixtures do hold GUIDs that are no IRI, so the test above can fail."""
    guids = [s.data.guid for name in FIXTURES for s in document(name, "atom").episodes]
    assert not all(is_atom_id(g) for g in guids)
    assert any(is_atom_id(g) for g in guids)


def test_atom_feed_without_author_names_the_show() -> None:
    """RFC 4287 4.1.1: a feed needs an author, or every entry one."""
    doc = document("durations.xml", "atom")
    assert not doc.info.author
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = etree.fromstring(atom.render(doc))
    assert root.findtext("a:author/a:name", namespaces=ns) == doc.title
    for entry in root.findall("a:entry", ns):  # and no entry's content is blank
        assert (entry.findtext("a:content", namespaces=ns) or "").strip()


def test_json_feed(fixture: str) -> None:
    body, stored = render(document(fixture, "json"), "json")
    feed = json.loads(body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == f"{BASE}/feeds/show.json"
    for item, s in zip(feed["items"], stored, strict=True):
        e = s.data
        assert (item["id"], item["title"]) == (e.guid, e.title)
        assert datetime.fromisoformat(item["date_published"]) == s.sort_time.replace(microsecond=0)
        if e.enclosure:
            [attachment] = item["attachments"]
            assert attachment["url"] == e.enclosure.url
            assert attachment.get("size_in_bytes") == e.enclosure.length
            assert attachment.get("duration_in_seconds") == e.duration
        assert item.get("tags", []) == list(s.tags)


def _members(value: object) -> Iterator[tuple[str, object]]:
    """Every (name, value) of every object in a JSON document."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield name, child
            yield from _members(child)
    elif isinstance(value, list):
        for child in value:
            yield from _members(child)


def test_json_feed_extensions(fixture: str) -> None:
    """Issue 11: what JSON Feed has no field for rides in `_`-named objects, as its spec allows."""
    doc = document(fixture, "json")
    feed = json.loads(jsonfeed.render(doc))
    standard = {"version", "title", "home_page_url", "feed_url", "description", "icon", "authors", "language", "items"}
    assert {k for k in feed if not k.startswith("_")} <= standard
    assert all(re.fullmatch("_[A-Za-z].*", k) for k in feed if k not in standard)
    assert None not in (v for _, v in _members(feed))  # unknown is left out, never null
    assert feed["_podcast"] == {"about": "https://podcastindex.org/namespace/1.0", "guid": doc.podcast_guid}
    assert feed.get("_itunes", {}).get("explicit") == doc.info.explicit
    assert feed.get("_itunes", {}).get("categories", []) == [list(c) for c in doc.info.categories]
    for item, s in zip(feed["items"], doc.episodes, strict=True):
        e = s.data
        itunes, podcast = item.get("_itunes", {}), item.get("_podcast", {})
        assert itunes.get("duration") == e.duration
        assert (itunes.get("season"), itunes.get("episode")) == (e.season, e.episode)
        assert (itunes.get("episodeType"), itunes.get("explicit")) == (e.episode_type, e.explicit)
        assert itunes.get("keywords", []) == list(e.keywords)
        assert [t["url"] for t in podcast.get("transcripts", [])] == [t.url for t in e.transcripts]
        assert [t.get("type") for t in podcast.get("transcripts", [])] == [t.type for t in e.transcripts]
        assert podcast.get("chapters", {}).get("url") == (e.chapters_link.url if e.chapters_link else None)
        assert [(p["name"], p.get("role")) for p in podcast.get("persons", [])] == [(p.name, p.role) for p in e.persons]
        assert [c["title"] for c in item.get("_podlove", {}).get("chapters", [])] == [c.title for c in e.chapters]
        assert item.get("authors", [{}])[0].get("name") == e.author


def test_json_feed_fixtures_use_the_extensions() -> None:
    """The fixtures hold what the extensions carry, so the test above can fail."""
    items = [i for name in FIXTURES for i in json.loads(jsonfeed.render(document(name, "json")))["items"]]
    for member in ("_itunes", "_podcast", "_podlove"):
        assert any(member in i for i in items), member
    podcast = [i["_podcast"] for i in items if "_podcast" in i]
    for key in ("transcripts", "chapters", "persons"):
        assert any(key in p for p in podcast), key


def test_rss_channel_and_items_carry_podcast_tags() -> None:
    body, _ = render(document("full.xml"), "rss")
    root = etree.fromstring(body)
    ns = {
        "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "podcast": "https://podcastindex.org/namespace/1.0",
        "atom": "http://www.w3.org/2005/Atom",
    }
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("link") == "https://quietlab.example/"  # not the self link
    assert channel.find("atom:link[@rel='self']", ns).get("href") == f"{BASE}/feeds/show.rss"
    assert channel.findtext("itunes:explicit", namespaces=ns) == "false"
    assert channel.find("itunes:image", ns).get("href") == "https://quietlab.example/art.png"
    assert [c.get("text") for c in channel.iterfind("itunes:category", ns)] == ["Technology", "Science"]
    assert channel.findtext("podcast:guid", namespaces=ns) == "5a1c6c2e-0d2e-5a36-8f3e-3f8d1d6a9b01"
    item = channel.find("item")
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext("itunes:explicit", namespaces=ns) == "true"
    assert item.findtext("itunes:episodeType", namespaces=ns) == "full"
    assert [t.get("url") for t in item.iterfind("podcast:transcript", ns)] == [
        "https://quietlab.example/2.vtt",
        "https://quietlab.example/2.html",
    ]
    assert item.find("podcast:chapters", ns).get("url") == "https://quietlab.example/2.chapters.json"
    assert [p.text for p in item.iterfind("podcast:person", ns)] == ["Ada Example", "Bo Guest"]
    assert b"<description><![CDATA[<p>Short summary of episode two.</p>]]></description>" in body
    second = channel.findall("item")[1]
    assert second.find("guid").get("isPermaLink") == "true"


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_rendering_is_deterministic(fixture: str, fmt: str) -> None:
    assert RENDERERS[fmt](document(fixture, fmt)) == RENDERERS[fmt](document(fixture, fmt))


# Atom is not linted (podcast directories want RSS); slips.xml is not well-formed,
# so lint stops at its first line.
WELL_FORMED_RSS = [name for name in FIXTURES if name not in ("atom.xml", "slips.xml")]


@pytest.mark.parametrize("name", WELL_FORMED_RSS)
def test_output_adds_no_lint_problem(name: str) -> None:
    """Whatever upstream lacks stays missing, but feedtool's output never has a
    problem that upstream did not have."""
    upstream = {(p.rule, p.severity) for p in lint((DATA / name).read_bytes())}
    ours = {(p.rule, p.severity) for p in lint(render(document(name), "rss")[0])}
    assert ours <= upstream


def test_repaired_feed_lacks_only_what_upstream_lacks() -> None:
    problems = lint(render(document("slips.xml"), "rss")[0])
    assert {p.rule for p in problems} == {"channel-image", "channel-language", "channel-category"}


@pytest.mark.parametrize("name", ["full.xml", "atom.xml"])
def test_complete_shows_are_lint_clean(name: str) -> None:
    doc = document(name)
    if name == "atom.xml":  # what an Atom feed cannot say, as the config sets it
        info = replace(doc.info, image="https://atomic.example/art.png", categories=(("Science", "Physics"),))
        doc = replace(doc, info=info)
    problems = [str(p) for p in lint(render(doc, "rss")[0])]
    if name == "atom.xml":  # upstream's Ogg file stays an Ogg file
        assert problems == [
            "warning: item 1 'Fusion, again': <enclosure> type 'audio/ogg' does not play in Apple Podcasts "
            "[item-enclosure]"
        ]
    else:
        assert problems == []


# --- extensions: upstream's unmodelled elements written back (issue 11) ----------------

EXTENSION_FIXTURES = ["extensions_podcasting20.xml", "extensions_namespaces.xml", "extensions_unsafe.xml"]
PODCAST = "https://podcastindex.org/namespace/1.0"


def hand_built(*extensions: tuple[str, ...], show: tuple[str, ...] = (), chapters: bool = False) -> FeedDocument:
    """A document of one episode per tuple of extension XML, built by hand."""
    episodes = [
        StoredEpisode(
            n,
            "show",
            Episode(
                guid=f"g{n}",
                title=f"Episode {n}",
                extensions=kept,
                chapters=(Chapter("00:00:00", "Start"),) if chapters else (),
            ),
            (),
            SEEN - timedelta(minutes=n),
            SEEN,
        )
        for n, kept in enumerate(extensions, 1)
    ]
    return FeedDocument(
        name="show",
        title="Show",
        description="A show",
        self_url=f"{BASE}/feeds/show.rss",
        home_url=f"{BASE}/",
        info=ShowInfo(title="Show", image="https://show.example/art.png", extensions=show),
        episodes=episodes,
        updated=SEEN,
        podcast_guid="5a1c6c2e-0d2e-5a36-8f3e-3f8d1d6a9b01",
    )


def declarations(body: bytes) -> dict[str, str]:
    """The namespaces the document declares, by prefix; every one of them on the root."""
    root = etree.fromstring(body)
    for element in root.iter():
        if element is not root and isinstance(element.tag, str):
            assert element.nsmap == root.nsmap, f"<{element.tag}> declares a namespace of its own"
    return {prefix: uri for prefix, uri in root.nsmap.items() if prefix}


@pytest.mark.parametrize("name", EXTENSION_FIXTURES)
def test_extensions_round_trip_through_rss(name: str) -> None:
    """Parsing feedtool's RSS gives back upstream's kept elements, each exactly once."""
    doc = document(name)
    again = parse(rss.render(doc), ParseContext("show", f"{BASE}/feeds/show.rss"))
    assert again.show.extensions == doc.info.extensions
    by_guid = {stored.data.guid: stored.data.extensions for stored in doc.episodes}
    assert {e.guid: e.extensions for e in again.episodes} == by_guid
    assert any(by_guid.values())


def test_podcasting20_tags_survive_with_their_values() -> None:
    root = etree.fromstring(rss.render(document("extensions_podcasting20.xml")))
    ns = {"podcast": PODCAST}
    channel = root.find("channel")
    assert [(b.get("id"), b.text) for b in channel.iterfind("podcast:block", ns)] == [(None, "yes"), ("spotify", "no")]
    splits = [r.get("split") for r in channel.iterfind("podcast:value/podcast:valueRecipient", ns)]
    assert splits == ["90", "10"]
    remote = channel.find("podcast:value/podcast:valueTimeSplit/podcast:remoteItem", ns)
    assert remote.get("feedGuid") == "a94f5cc9-8c58-55fc-91fe-a324087a655b"
    live = channel.find("podcast:liveItem", ns)
    assert live.findtext("guid") == "extlab-live-1"
    assert live.find("podcast:contentLink", ns).get("href") == "https://youtube.example/watch?v=extlab"
    # Not passed on: wrong at another address, or feedtool's to decide.
    assert channel.find("podcast:podping", ns) is None
    assert channel.find("{http://www.itunes.com/dtds/podcast-1.0.dtd}new-feed-url") is None
    assert [link.get("rel") for link in channel.iterfind("{http://www.w3.org/2005/Atom}link")] == ["self"]
    assert [g.text for g in channel.iterfind("generator")] == ["feedtool"]
    # RSS's own: one <image>, upstream's, with its size.
    assert [i.findtext("width") for i in channel.iterfind("image")] == ["144"]
    assert channel.findtext("copyright") == "© 2026 Extension Lab"
    item = channel.find("item")
    assert item.findtext("author") == "ada@extlab.example (Ada Example)"
    assert item.find("podcast:season", ns).get("name") == "Money"
    assert [s.get("uri") for s in item.iterfind("podcast:alternateEnclosure/podcast:source", ns)] == [
        "https://cdn.extlab.example/1.opus",
        "ipfs://QmdwGqd3d3gkbC2yGbvVkfbqWBTm9P7pZbXi3f9N8yX7uL",
    ]
    # Modelled elements are written once, from the model.
    assert len(item.findall("podcast:transcript", ns)) == 1
    assert len(item.findall("podcast:person", ns)) == 1


def test_only_namespaces_the_document_uses_are_declared() -> None:
    """No episode has chapters or content:encoded: neither psc nor content is declared
    (the W3C validator warned "Use of unknown namespace" for psc)."""
    assert set(declarations(rss.render(hand_built(())))) == {"itunes", "podcast", "atom"}
    used = declarations(rss.render(hand_built((), chapters=True)))
    assert used["psc"] == "http://podlove.org/simple-chapters"
    assert "content" not in used
    assert "content" in declarations(rss.render(document("full.xml")))


def test_extension_namespaces_are_declared_once_at_the_root() -> None:
    value = f'<podcast:value xmlns:podcast="{PODCAST}" type="lightning"/>'
    rating = '<media:rating xmlns:media="http://search.yahoo.com/mrss/">nonadult</media:rating>'
    body = rss.render(hand_built((value, rating), (value,), show=('<g:block xmlns:g="urn:g">yes</g:block>',)))
    assert declarations(body) == {
        "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "podcast": PODCAST,
        "atom": "http://www.w3.org/2005/Atom",
        "media": "http://search.yahoo.com/mrss/",
        "g": "urn:g",
    }
    assert body.count(b"xmlns:") == 5


def test_a_clashing_prefix_is_renamed() -> None:
    """Upstream's prefix is kept unless it already means another namespace."""
    body = rss.render(
        hand_built(
            ('<media:rating xmlns:media="http://search.yahoo.com/mrss/">adult</media:rating>',),
            ('<media:plan xmlns:media="urn:host" tier="gold"><media:x/></media:plan>',),
            ('<h:a xmlns:h="urn:one"/>', '<h:b xmlns:h="urn:two" h:c="1"/>'),
        )
    )
    declared = declarations(body)
    assert declared["media"] == "http://search.yahoo.com/mrss/"
    assert declared["media2"] == "urn:host"
    assert declared["h"] == "urn:one"
    assert declared["h2"] == "urn:two"
    root = etree.fromstring(body)
    assert root.find(".//{urn:host}plan/{urn:host}x") is not None
    assert root.find(".//{urn:two}b").get("{urn:two}c") == "1"


def test_upstream_channel_image_replaces_feedtools() -> None:
    image = (
        "<image><url>https://show.example/logo.png</url><title>Show</title><link>https://show.example/</link></image>"
    )
    channel = etree.fromstring(rss.render(hand_built((), show=(image,)))).find("channel")
    assert [i.findtext("url") for i in channel.iterfind("image")] == ["https://show.example/logo.png"]
    channel = etree.fromstring(rss.render(hand_built(()))).find("channel")
    assert [i.findtext("url") for i in channel.iterfind("image")] == ["https://show.example/art.png"]


def test_index_page_fits_a_phone() -> None:
    # At 390 px the sources table ran off the screen and hid the failing status (issue 13).
    long_url = "http://127.0.0.1:9/" + "a-very-long-path/" * 8 + "feed.rss?token=" + "x" * 60
    failed = SourceState(
        "s", "rss", long_url, last_attempt=datetime(2026, 5, 4, 12, 0, tzinfo=UTC), status="failed", error="HTTP 500"
    )
    feed = html.FeedLinks("s", "Show", {f: f"https://f.example/feeds/s.{f}" for f in ("rss", "atom", "json")})
    day = datetime(2026, 5, 4, tzinfo=UTC)
    episode = StoredEpisode(1, "s", Episode(guid="e1", title="One", published=day, duration=60), (), day, day)
    section = html.ShowSection("s", feed, "/shows/s", None, None, "", 1, [], [episode], [failed], [])
    page = html.render([feed], [section], "https://f.example/feeds.opml").decode()
    tree = etree.HTML(page)
    # The style sheet is a static file since issue 15 (the pages' CSP allows no inline style).
    assert tree.xpath("//link[@rel='stylesheet']/@href") == ["/static/feedtool.css"]
    sheet = (resources.files("feedtool") / "static" / "feedtool.css").read_text()
    style = re.sub(r"\s+", " ", re.sub(r"/\*.*?\*/", "", sheet, flags=re.S))
    rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{([^{}]*)\}", style.split("@media", 1)[0])}
    narrow = re.search(r"@media \(max-width: [0-9.]+rem\) \{(.*)\}", style)
    assert narrow, style
    narrow_rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{([^{}]*)\}", narrow.group(1))}
    # dates never break inside; a long source location breaks anywhere
    assert [td.text for td in tree.xpath("//td[@class='date']")] == ["2026-05-04", "2026-05-04 12:00 UTC"]
    assert "white-space: nowrap" in rules[".date"]
    assert tree.xpath("//td[@class='location']")[0].text == long_url
    assert "overflow-wrap: anywhere" in rules[".location"]
    # on a phone each source is a block of stacked lines, the status among them, so none is off-screen
    (table,) = tree.xpath("//table[@class='sources']")
    status = table.xpath(".//td[contains(@class, 'failed')]")
    assert [td.xpath("string()") for td in status] == ["failed: HTTP 500"]
    assert "display: block" in narrow_rules[".sources tr, .sources td"]
    assert table.xpath("./thead/tr/th")
    assert "display: none" in narrow_rules[".sources thead"]
