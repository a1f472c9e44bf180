"""RSS and Atom feeds: fixture files with expected JSON, repaired slips, refused documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedtool.errors import ParseError
from feedtool.sources import ParseContext
from feedtool.sources.rss import parse

from listing_json import listing_json

DATA = Path(__file__).parent / "data" / "rss"
FEEDS = sorted(DATA.glob("*.xml"))


def context(name: str = "feed.xml", charset: str | None = None) -> ParseContext:
    return ParseContext(show_id="test", location=f"https://feeds.example/{name}", charset=charset)


@pytest.mark.parametrize("feed", FEEDS, ids=[f.stem for f in FEEDS])
def test_fixture(feed: Path) -> None:
    """Each tests/data/rss/NAME.xml parses to tests/data/rss/NAME.json."""
    expected = json.loads(feed.with_suffix(".json").read_text(encoding="utf-8"))
    assert listing_json(parse(feed.read_bytes(), context(feed.name))) == expected


def test_every_fixture_has_an_expected_file() -> None:
    assert FEEDS
    assert {f.stem for f in DATA.glob("*.json")} == {f.stem for f in FEEDS}


def test_relative_urls_are_resolved_against_the_feed() -> None:
    body = b"""<rss><channel><title>R</title><link>/</link><item><title>a</title>
    <enclosure url="media/a.mp3" type="audio/mpeg"/><link>../a</link></item></channel></rss>"""
    listing = parse(body, context("shows/r/feed.xml"))
    episode = listing.episodes[0]
    assert episode.enclosure is not None
    assert episode.enclosure.url == "https://feeds.example/shows/r/media/a.mp3"
    assert episode.link == "https://feeds.example/shows/a"


def test_rss_1_0_items_read_like_rss_2() -> None:
    body = b"""<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
             xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="https://r1.example/"><title>RSS One</title><link>https://r1.example/</link>
        <description>d</description></channel>
      <item rdf:about="https://r1.example/1"><title>First</title><link>https://r1.example/1</link>
        <dc:date>2026-05-01T00:00:00Z</dc:date></item>
    </rdf:RDF>"""
    listing = parse(body, context())
    assert listing.show.title == "RSS One"
    assert [(e.title, e.guid, e.published and e.published.day) for e in listing.episodes] == [
        ("First", "https://r1.example/1", 1)
    ]


def test_charset_header_applies_only_without_bom_or_declaration() -> None:
    latin = "<rss><channel><title>Caf\xe9</title></channel></rss>".encode("latin-1")
    assert parse(latin, context(charset="iso-8859-1")).show.title == "Café"
    declared = b'<?xml version="1.0" encoding="utf-8"?><rss><channel><title>Caf\xc3\xa9</title></channel></rss>'
    assert parse(declared, context(charset="iso-8859-1")).show.title == "Café"


def test_stray_undecodable_bytes_are_replaced_with_a_warning() -> None:
    body = b'<?xml version="1.0" encoding="utf-8"?><rss><channel><title>Caf\xe9 \xff</title></channel></rss>'
    ctx = context()
    listing = parse(body, ctx)
    assert listing.show.title == "Caf\ufffd \ufffd"
    assert "2 bytes that are not utf-8 replaced with U+FFFD" in ctx.warnings


def test_utf16_with_bom() -> None:
    body = '<?xml version="1.0" encoding="UTF-16"?><rss><channel><title>Wide ✓</title></channel></rss>'.encode("utf-16")
    assert parse(body, context()).show.title == "Wide ✓"


def test_redirect_document_gives_the_new_location() -> None:
    body = b"<rss><redirect><newLocation>https://new.example/feed</newLocation></redirect></rss>"
    listing = parse(body, context())
    assert listing.show.new_feed_url == "https://new.example/feed"
    assert not listing.episodes


REFUSED = [
    (b"", "empty body"),
    (b"   \n\t ", "empty body"),
    (b"<!DOCTYPE html><html><head><title>Not found</title></head><body><p>Sorry</body></html>", "an HTML page"),
    (b"<html><body>login</body></html>", "an HTML page"),
    (b"<rss><channel><title>T</title><item><title>a</title></item><item><ti", "not well-formed XML"),
    (b"<rss><channel><title>T</title>", "not well-formed XML"),
    (b"\x00\x01\x02 garbage {]", "not well-formed XML"),
    (b'{"episodes": []}', "not well-formed XML"),
    (b"<opml version='2.0'><body/></opml>", "not a feed: the document's root element is <opml>"),
    (b"<rss version='2.0'><nochannel/></rss>", "RSS document without a <channel>"),
    (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<rss><channel><title>&lol2;</title></channel></rss>",
        "the DOCTYPE declares entities",
    ),
    (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><title>&xxe;</title></channel></rss>",
        "the DOCTYPE declares entities",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), REFUSED, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(REFUSED)]
)
def test_refused(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("<", ".").replace(">", ".")):
        parse(body, context())


def test_remote_dtd_is_allowed_but_never_fetched() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://127.0.0.1:9/rss-0.91.dtd"><rss version="0.91"><channel><title>Old &amp; fine</title>'
        b"<item><title>x</title><link>https://old.example/x</link></item></channel></rss>"
    )
    listing = parse(body, context())
    assert listing.show.title == "Old & fine"
    assert [e.title for e in listing.episodes] == ["x"]


def test_corpus_feeds_all_parse(shared: Path) -> None:
    feeds = sorted((shared / "corpus" / "podcastparser").glob("*.rss"))
    assert feeds
    for feed in feeds:
        parse(feed.read_bytes(), context(feed.name))


def test_xml_base_resolves_links_and_relative_permalinks() -> None:
    """As gPodder reads it: xml:base applies to links, enclosures and permalink GUIDs."""
    body = b"""<rss xml:base="http://example.com/podcast/"><channel><title>B</title>
    <item><title>a</title><guid isPermaLink="true">episode/1/</guid><enclosure url="a.mp3" type="audio/mpeg"/></item>
    <item xml:base="/other/"><title>b</title><guid isPermaLink="false">episode/2/</guid><link>b.html</link></item>
    <item><title>c</title><guid>not-a-url</guid></item>
    </channel></rss>"""
    first, second, third = parse(body, context()).episodes
    assert first.guid == "http://example.com/podcast/episode/1/"
    assert first.enclosure is not None
    assert first.enclosure.url == "http://example.com/podcast/a.mp3"
    assert (second.guid, second.link) == ("episode/2/", "http://example.com/other/b.html")
    assert third.guid == "http://example.com/podcast/not-a-url"


def test_atom_ids_are_not_permalinks() -> None:
    body = (DATA / "atom.xml").read_bytes()
    assert {e.guid_is_permalink for e in parse(body, context()).episodes} == {False}
