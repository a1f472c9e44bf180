"""RSS and Atom feeds: fixture files with expected JSON, repaired slips, refused documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from feedtool.errors import ParseError
from feedtool.sources import ParseContext
from feedtool.sources.rss import MAX_EXTENSION_BYTES, parse

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


# --- characters XML forbids (issue 9, item 11) ---------------------------------------

#: XML 1.0 allows #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF.
FORBIDDEN_RAW = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]
#: A reference may also name a surrogate, or a number beyond Unicode.
FORBIDDEN_REFERENCED = [*FORBIDDEN_RAW, *range(0xD800, 0xE000), 0x110000, 10**12]


def _forbidden_feed(codes: list[int], write: Callable[[int], str]) -> str:
    """An item per code point, which is written into a title, a description, an
    attribute and a CDATA section (where a reference is text, kept as such)."""
    items = "".join(
        f'<item><title>T{write(c)}{n}</title><guid isPermaLink="false">g{n}</guid>'
        f"<description>D{write(c)}</description><content:encoded><![CDATA[<b>C{write(c)}</b>]]></content:encoded>"
        f'<psc:chapters><psc:chapter start="0" title="A{write(c)}"/></psc:chapters></item>'
        for n, c in enumerate(codes)
    )
    return (
        '<rss xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:psc="http://podlove.org/simple-chapters"><channel>'
        f"<title>S{write(codes[0])}</title>{items}</channel></rss>"
    )


FORMS: list[tuple[str, list[int], Callable[[int], str], str]] = [
    ("raw-utf-8", FORBIDDEN_RAW, chr, "utf-8"),
    ("raw-utf-16", FORBIDDEN_RAW, chr, "utf-16"),
    ("raw-latin-1", FORBIDDEN_RAW[:-2], chr, "iso-8859-1"),  # U+FFFE/F are not in Latin-1
    ("decimal", FORBIDDEN_REFERENCED, lambda c: f"&#{c};", "utf-8"),
    ("hex", FORBIDDEN_REFERENCED, lambda c: f"&#x{c:x};", "utf-8"),
    ("hex-upper-padded", FORBIDDEN_REFERENCED, lambda c: f"&#x000{c:X};", "utf-8"),
]


@pytest.mark.parametrize(("codes", "write", "encoding"), [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_every_forbidden_character_is_dropped_with_a_warning(
    codes: list[int], write: Callable[[int], str], encoding: str
) -> None:
    """Regression: one such character failed the whole source."""
    raw = write is chr
    text = f'<?xml version="1.0" encoding="{encoding}"?>' + _forbidden_feed(codes, write)
    ctx = context()
    listing = parse(text.encode(encoding), ctx)
    assert listing.show.title == "S"
    assert [e.title for e in listing.episodes] == [f"T{n}" for n in range(len(codes))]
    assert {e.description for e in listing.episodes} == {"<p>D</p>"}
    # In CDATA a reference is text; the sanitizer decodes it by HTML's rules (NUL, a
    # surrogate or a number beyond Unicode is U+FFFD), then forbidden characters are dropped.
    assert {e.content for e in listing.episodes} <= {"<b>C</b>", "<b>C\ufffd</b>"}
    if raw:
        assert {e.content for e in listing.episodes} == {"<b>C</b>"}
    assert {c.title for e in listing.episodes for c in e.chapters} == {"A"}
    count = len(codes) * (4 if raw else 3) + 1
    assert len(ctx.warnings) == 1, ctx.warnings
    assert ctx.warnings[0].startswith(f"{count} characters that XML does not allow dropped (U+0000, U+0001, ")
    assert ctx.warnings[0].endswith(" more)")


@pytest.mark.parametrize(
    ("title", "named"),
    [
        (b"a\x0bb", "U+000B"),
        (b"a\x01b", "U+0001"),
        (b"a\x00b", "U+0000"),
        (b"a&#1;b", "U+0001"),
        (b"a&#x0;b&#xFFFE;", "U+0000, U+FFFE"),
        (b"a&#99999999999999999999;b", "beyond U+10FFFF"),
    ],
    ids=["vertical-tab", "U+0001", "NUL", "&#1;", "&#x0;", "huge"],
)
def test_one_forbidden_character_does_not_fail_the_feed(title: bytes, named: str) -> None:
    ctx = context()
    body = b"<rss><channel><title>S</title><item><title>" + title + b"</title><guid>1</guid></item></channel></rss>"
    assert [e.title for e in parse(body, ctx).episodes] == ["ab"]
    count = "2 characters" if b"FFFE" in title else "1 character"
    assert ctx.warnings == [f"{count} that XML does not allow dropped ({named})"]


def test_a_repaired_feed_warns_once_about_each_item() -> None:
    """Regression: items read before the strict parse failed were warned about twice."""
    items = b"<item><title>a</title><itunes:duration>soon</itunes:duration></item>" + b"".join(
        b"<item><title>%d</title></item>" % n for n in range(300)
    )
    body = (
        b'<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>S</title>'
        + items
        + b"<item><title>b & c</title></item></channel></rss>"  # a bare '&': repaired
    )
    ctx = context()
    assert len(parse(body, ctx).episodes) == 302
    assert ctx.warnings == ["item 'a': unreadable duration 'soon' ignored"]


def test_references_to_allowed_characters_are_kept() -> None:
    """Only forbidden ones are dropped; a reference in CDATA is text, not a reference."""
    body = (
        b"<rss><channel><title>S&#x1;</title><item><title>&#65;&#x42;&#x00043;&#9;&#x1F600;</title><guid>1</guid>"
        b"<description><![CDATA[<p>&#1; stays</p>]]></description></item></channel></rss>"
    )
    episode = parse(body, context()).episodes[0]
    assert episode.title == "ABC \U0001f600"
    assert episode.description == "<p> stays</p>"  # decoded by the sanitizer, then dropped


def test_extension_xml_is_bounded_per_episode_with_a_warning() -> None:
    """At most MAX_EXTENSION_BYTES of kept XML per episode: a feed cannot grow the store without bound."""
    txt = '<podcast:txt purpose="p{n}">' + "x" * 1000 + "</podcast:txt>"
    many = "".join(txt.format(n=n) for n in range(100))  # about 100 KB
    body = (
        '<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>T</title>'
        f"<item><title>Big</title><guid>g</guid>{many}</item></channel></rss>"
    ).encode()
    listing = parse(body, context())
    kept = listing.episodes[0].extensions
    assert sum(len(x.encode()) for x in kept) <= MAX_EXTENSION_BYTES < sum(len(x.encode()) for x in kept) + 1100
    assert kept[0].startswith('<podcast:txt xmlns:podcast="https://podcastindex.org/namespace/1.0" purpose="p0">')
    assert listing.warnings == (f"item 'Big': {100 - len(kept)} extension elements beyond 64 KB dropped",)


def test_entity_references_and_dtds_never_reach_extensions() -> None:
    """A DOCTYPE that declares entities is refused whole, so no entity reaches a kept element."""
    body = (
        b'<!DOCTYPE rss [<!ENTITY e "boom">]><rss version="2.0" xmlns:h="urn:h"><channel><title>T</title>'
        b"<h:x>&e;</h:x></channel></rss>"
    )
    with pytest.raises(ParseError, match="declares entities"):
        parse(body, context())
