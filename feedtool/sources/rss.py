"""RSS 2.0, RSS 1.0 and Atom podcast feeds -> Listing.

lxml parses the bytes strictly, which is fast and refuses what is not XML. Only when
that fails are the slips seen in real feeds repaired (text before the XML declaration,
a wrong or missing charset, bare ``&`` and HTML entities, namespace prefixes used
without a declaration) and the document parsed strictly once more; anything else,
such as a truncated body, is a ParseError. DOCTYPEs that declare entities are refused
(entity-expansion and external-entity attacks); DTDs are never loaded.

Like gPodder's podcastparser, element names map to handlers through a table, and
namespaces are recognized by URI, ignoring case and a trailing slash (feeds in the
wild write ``http://www.itunes.com/DTDs/Podcast-1.0.dtd``).

The ``rss`` kind: any http(s) URL or path, no options, no paging; its fields are the
most precise of all kinds (rank 3).
"""

from __future__ import annotations

import codecs
import hashlib
import html
import html.entities
import io
import os
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from feedtool import namespaces
from feedtool.errors import ParseError
from feedtool.model import (
    Chapter,
    ChaptersLink,
    Enclosure,
    Episode,
    Listing,
    Owner,
    Person,
    ShowInfo,
    Transcript,
)
from feedtool.normalize.dates import parse_date
from feedtool.normalize.durations import parse_duration
from feedtool.normalize.identity import derive_guid
from feedtool.normalize.numbers import parse_explicit, parse_length, parse_positive_int
from feedtool.normalize.text import NOT_XML, clean_description, clean_text
from feedtool.sources.base import Kind
from feedtool.sources.common import ParseContext, episode_title, guess_type, resolve_url, unique_by_guid

#: The prefixes the handler table knows, by URI; RSS 1.0 and 0.90 elements map to no
#: prefix, so that their items read like RSS 2.0 items.
NAMESPACES = namespaces.PODCAST_NAMESPACES | {"rdf": namespaces.RDF}
_PREFIX_BY_URI = (
    {namespaces.key(uri): prefix for prefix, uri in NAMESPACES.items()}
    | {namespaces.key(uri): prefix for prefix, uris in namespaces.LEGACY.items() for uri in uris}
    | {namespaces.key(namespaces.RSS_1_0): "", namespaces.key(namespaces.RSS_0_90): ""}
)

_HTML_START = re.compile(rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)


def parse(data: bytes, context: ParseContext) -> Listing:
    """Parse an RSS or Atom podcast feed."""
    if not data.strip():
        raise ParseError("empty body: no feed")
    if _HTML_START.match(data[:4096]):
        raise ParseError("an HTML page, not a feed")
    warned = len(context.warnings)
    try:
        return _read(data, context)
    except etree.XMLSyntaxError:
        # The items read before the error are read again: warn about them once.
        del context.warnings[warned:]
    repaired, notes = _repair(data, context.charset)
    for note in notes:
        context.warn(note)
    try:
        return _read(repaired, context)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc


def _read(data: bytes, context: ParseContext) -> Listing:
    """Stream the document: each item is read, then cleared, so that a feed of
    100,000 items never sits in memory as a tree."""
    names = _Names()
    walk = _Walk(names, context, has_xml_base=b"xml:base" in data)
    events = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    episodes: list[Episode] = []
    batch: list[_Item] = []
    known = names.cache  # looked up inline: every element of the document passes here
    for _, element in events:
        tag = element.tag
        name = known.get(tag) or names(tag)
        if name == "item" or name == "atom:entry":
            parent = element.getparent()
            if parent is not None and names(parent.tag) in _ITEM_PARENTS:
                batch.append(_read_item(element, _ENTRY if name == "atom:entry" else _ITEM, walk))
                element.clear()
                if len(batch) == _BATCH:
                    episodes.extend(_episodes(batch, context))
                    batch = []
    episodes.extend(_episodes(batch, context))
    root = events.root
    if root is None:
        raise ParseError("empty body: no feed")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError("the DOCTYPE declares entities; refused (entity expansion attacks)")
    root_name = names(root.tag)
    if root_name == "atom:feed":
        return _listing(root, _FEED, episodes, walk)
    if root_name not in ("rss", "rdf:RDF"):
        raise ParseError(f"not a feed: the document's root element is <{etree.QName(root).localname}>")
    channel = next((c for c in root if names(c.tag) == "channel"), None)
    if channel is None:
        return _moved(root, names, context)
    return _listing(channel, _CHANNEL, episodes, walk)


def _moved(root: etree._Element, names: _Names, context: ParseContext) -> Listing:
    """An RSS document that only says where the feed went (<redirect><newLocation>)."""
    for redirect in root:
        if names(redirect.tag) == "redirect":
            for child in redirect:
                if names(child.tag) == "newLocation" and (url := resolve_url(context.location, _text(child))):
                    return Listing(show=ShowInfo(new_feed_url=url, episode_count=0), warnings=tuple(context.warnings))
    raise ParseError("RSS document without a <channel>")


# --- XML repairs --------------------------------------------------------------------


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)([A-Za-z][A-Za-z0-9]*;)?")
_PREFIX_USE = re.compile(r"</?([A-Za-z_][\w.-]*):[A-Za-z_]|\s([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*\s*=")
_PREFIX_DECLARATION = re.compile(r"xmlns:([A-Za-z_][\w.-]*)\s*=")
_ROOT_START = re.compile(r"<(?![?!])[A-Za-z_][\w.:-]*")
# Characters XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets), and character
# references to them (or to numbers beyond Unicode).
_CHARACTER_REFERENCE = re.compile(r"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _repair(data: bytes, header_charset: str | None) -> tuple[bytes, list[str]]:
    """Mend the slips real feeds make; return UTF-8 bytes and what was mended."""
    notes: list[str] = []
    text = _decode(data, header_charset, notes)
    text = _XML_DECLARATION.sub("", text.lstrip("\ufeff \t\r\n"), count=1).lstrip()
    dropped: Counter[int] = Counter()
    text = NOT_XML.sub(lambda m: _drop(ord(m.group()), dropped), text)
    pieces = _CDATA.split(text)
    for index in range(0, len(pieces), 2):  # never inside CDATA sections
        pieces[index] = _CHARACTER_REFERENCE.sub(lambda m: _drop_reference(m, dropped), pieces[index])
        pieces[index] = _AMPERSAND.sub(_fix_entity, pieces[index])
    text = "".join(pieces)
    if dropped:
        count = dropped.total()
        notes.append(f"{count} character{'s' * (count != 1)} that XML does not allow dropped ({_code_points(dropped)})")
    undeclared = _undeclared_prefixes(text)
    if undeclared:
        declarations = "".join(f' xmlns:{p}="{NAMESPACES.get(p, "urn:feedtool:undeclared:" + p)}"' for p in undeclared)
        root = _ROOT_START.search(text)
        if root is not None:
            text = text[: root.end()] + declarations + text[root.end() :]
            notes.append(f"namespace prefixes used without a declaration: {', '.join(undeclared)}")
    return text.encode("utf-8"), notes


def _decode(data: bytes, header_charset: str | None, notes: list[str]) -> str:
    """Decode by XML's rules: byte order mark, then the declaration, then the HTTP header."""
    encoding = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, data = name, data[len(bom) :]
            break
    if encoding is None:
        declared = _DECLARED_ENCODING.match(data[:1024])
        encoding = declared.group(1).decode("ascii") if declared else header_charset or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        notes.append(f"unknown encoding {encoding!r}, read as UTF-8")
        encoding = "utf-8"
    text = data.decode(encoding, errors="replace")
    replaced = text.count("\ufffd") - data.count("\xef\xbf\xbd".encode("latin-1"))
    if replaced > 0:
        notes.append(f"{replaced} bytes that are not {encoding} replaced with U+FFFD")
    return text


def _drop(code: int, dropped: Counter[int]) -> str:
    dropped[code] += 1
    return ""


def _drop_reference(match: re.Match[str], dropped: Counter[int]) -> str:
    """A reference to a character XML forbids is dropped; others are kept as written."""
    hexadecimal, decimal = match.groups()
    digits = (hexadecimal or decimal).lstrip("0")
    code = _BEYOND_UNICODE if len(digits) > 7 else int(digits or "0", 16 if hexadecimal else 10)
    if code <= 0x10FFFF and not NOT_XML.match(chr(code)):
        return match.group()
    return _drop(min(code, _BEYOND_UNICODE), dropped)


_BEYOND_UNICODE = 0x110000


def _code_points(counts: Counter[int], shown: int = 5) -> str:
    """'U+0001, U+000B': the distinct code points, the first few, in order."""
    names = [f"U+{c:04X}" if c < _BEYOND_UNICODE else "beyond U+10FFFF" for c in sorted(counts)]
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _fix_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name:
        char = html.entities.html5.get(name)
        if char is not None:
            return "".join(f"&#{ord(c)};" for c in char)
        return "&amp;" + name
    return "&amp;"


def _undeclared_prefixes(text: str) -> list[str]:
    used = {a or b for a, b in _PREFIX_USE.findall(text)}
    declared = set(_PREFIX_DECLARATION.findall(text))
    return sorted(used - declared - {"xml", "xmlns"})


# --- walking the tree ---------------------------------------------------------------


class _Names:
    """Element tags as 'prefix:local' for known namespaces; memoized for one parse."""

    def __init__(self) -> None:
        self.cache: dict[object, str] = {}

    def __call__(self, tag: object) -> str:
        name = self.cache.get(tag)
        if name is None:
            if not isinstance(tag, str):
                name = ""  # comments and processing instructions
            elif tag.startswith("{"):
                uri, local = tag[1:].split("}", 1)
                prefix = _PREFIX_BY_URI.get(namespaces.key(uri))
                name = local if prefix == "" else f"{prefix or '?'}:{local}"
            else:
                name = tag
            self.cache[tag] = name
        return name


def _text(element: etree._Element) -> str:
    if not len(element):
        return element.text or ""
    return str(etree.tostring(element, method="text", encoding="unicode", with_tail=False))


def _inner_markup(element: etree._Element) -> str:
    """An element's content as markup: its text, or its XHTML children serialized."""
    if not len(element):
        return element.text or ""
    parts = [html.escape(element.text or "", quote=False)]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


class _Show:
    """Channel values as read, before normalizing."""

    def __init__(self) -> None:
        self.title: str | None = None
        self.link: str | None = None
        self.description: str | None = None
        self.summary: str | None = None
        self.language: str | None = None
        self.image: str | None = None
        self.rss_image: str | None = None
        self.author: str | None = None
        self.owner_name: str | None = None
        self.owner_email: str | None = None
        self.categories: list[tuple[str, ...]] = []
        self.explicit: bool | None = None
        self.type: str | None = None
        self.podcast_guid: str | None = None
        self.new_feed_url: str | None = None
        self.extensions: list[str] = []


class _Item:
    """Item values as read, before normalizing."""

    def __init__(self) -> None:
        self.guid: str | None = None
        self.permalink: bool | None = None
        self.title: str | None = None
        self.link: str | None = None
        self.date: str | None = None
        self.updated: str | None = None
        self.description: str | None = None
        self.summary: str | None = None
        self.content: str | None = None
        self.enclosures: list[Enclosure] = []
        self.media: list[Enclosure] = []
        self.duration: str | None = None
        self.image: str | None = None
        self.thumbnail: str | None = None
        self.episode: int | None = None
        self.season: int | None = None
        self.episode_type: str | None = None
        self.explicit: bool | None = None
        self.author: str | None = None
        self.keywords: list[str] = []
        self.categories: list[str] = []
        self.transcripts: list[Transcript] = []
        self.chapters_link: ChaptersLink | None = None
        self.chapters: list[Chapter] = []
        self.persons: list[Person] = []
        self.extensions: list[str] = []


Handler = Callable[[Any, etree._Element, "_Walk"], None]


class _Walk:
    """State of one walk: the name map and the base URL for relative links."""

    def __init__(self, names: _Names, context: ParseContext, *, has_xml_base: bool) -> None:
        self.names = names
        self.context = context
        self.has_xml_base = has_xml_base

    def url(self, value: str | None, element: etree._Element) -> str | None:
        """An absolute URL: relative ones resolved against xml:base, else the feed's URL."""
        return resolve_url(self.base(element), value)

    def base(self, element: etree._Element) -> str:
        # lxml composes the xml:base of every ancestor; most feeds have none, so skip
        # the walk up.
        if not self.has_xml_base:
            return self.context.location
        declared = element.base
        return urljoin(self.context.location, declared) if declared else self.context.location


def _first(attr: str, read: Callable[[etree._Element, _Walk], Any]) -> Handler:
    """A handler that keeps the first non-empty value of an element."""

    def handle(target: Any, element: etree._Element, walk: _Walk) -> None:
        if getattr(target, attr) is None:
            value = read(element, walk)
            if value not in (None, ""):
                setattr(target, attr, value)

    return handle


def _text_of(element: etree._Element, walk: _Walk) -> str:
    return _text(element).strip()


def _markup_of(element: etree._Element, walk: _Walk) -> str:
    return _inner_markup(element)


def _url_text(element: etree._Element, walk: _Walk) -> str | None:
    return walk.url(_text(element), element)


def _href(element: etree._Element, walk: _Walk) -> str | None:
    return walk.url(element.get("href"), element)


def _url_attr(element: etree._Element, walk: _Walk) -> str | None:
    return walk.url(element.get("url"), element)


def _image_url(element: etree._Element, walk: _Walk) -> str | None:
    for child in element:
        if walk.names(child.tag) == "url":
            return walk.url(_text(child), child)
    return None


def _atom_text(element: etree._Element, walk: _Walk) -> str:
    """An Atom text construct (text, html or xhtml) as markup or plain text."""
    if element.get("type") == "xhtml":
        div = next(iter(element), None)
        return _inner_markup(div) if div is not None else _text(element)
    if element.get("type") in (None, "text"):
        return html.escape(_text(element), quote=False) if "<" in _text(element) else _text(element)
    return _text(element)


# Channel (RSS) handlers


def _owner(show: _Show, element: etree._Element, walk: _Walk) -> None:
    for child in element:
        name = walk.names(child.tag)
        if name == "itunes:name":
            show.owner_name = _text(child).strip() or None
        elif name == "itunes:email":
            show.owner_email = _text(child).strip() or None


def _category(show: _Show, element: etree._Element, walk: _Walk) -> None:
    text = (element.get("text") or "").strip()
    if not text:
        return
    subs = [(c.get("text") or "").strip() for c in element if walk.names(c.tag) == "itunes:category"]
    show.categories.append((html.unescape(text), *[html.unescape(s) for s in subs if s]))


def _atom_link_show(show: _Show, element: etree._Element, walk: _Walk) -> None:
    if element.get("rel", "alternate") == "alternate" and show.link is None:
        show.link = walk.url(element.get("href"), element)


def _atom_author(target: Any, element: etree._Element, walk: _Walk) -> None:
    if target.author is None:
        for child in element:
            if walk.names(child.tag) == "atom:name":
                target.author = _text(child).strip() or None


_CHANNEL: dict[str, Handler] = {
    "title": _first("title", _text_of),
    "link": _first("link", _url_text),
    "atom:link": _atom_link_show,
    "description": _first("description", _markup_of),
    "itunes:summary": _first("summary", _markup_of),
    "language": _first("language", _text_of),
    "dc:language": _first("language", _text_of),
    "itunes:image": _first("image", _href),
    "image": _first("rss_image", _image_url),  # artwork only where there is no itunes:image
    "itunes:author": _first("author", _text_of),
    "dc:creator": _first("author", _text_of),
    "itunes:owner": _owner,
    "itunes:category": _category,
    "itunes:explicit": _first("explicit", lambda e, w: parse_explicit(_text(e))),
    "itunes:type": _first("type", lambda e, w: _text(e).strip().lower() or None),
    "podcast:guid": _first("podcast_guid", _text_of),
    "itunes:new-feed-url": _first("new_feed_url", _url_text),
}

_FEED: dict[str, Handler] = {
    "atom:title": _first("title", _text_of),
    "atom:link": _atom_link_show,
    "atom:subtitle": _first("description", _atom_text),
    "itunes:summary": _first("summary", _markup_of),
    "atom:icon": _first("image", _url_text),
    "atom:logo": _first("image", _url_text),
    "itunes:image": _first("image", _href),
    "atom:author": _atom_author,
    "itunes:author": _first("author", _text_of),
    "itunes:owner": _owner,
    "itunes:category": _category,
    "itunes:explicit": _first("explicit", lambda e, w: parse_explicit(_text(e))),
    "itunes:type": _first("type", lambda e, w: _text(e).strip().lower() or None),
    "podcast:guid": _first("podcast_guid", _text_of),
    "itunes:new-feed-url": _first("new_feed_url", _url_text),
}


# Item handlers


def _guid(item: _Item, element: etree._Element, walk: _Walk) -> None:
    value = _text(element).strip()
    if value and item.guid is None:
        flag = element.get("isPermaLink")
        item.permalink = None if flag is None else flag.strip().lower() == "true"
        # A relative permalink under an explicit xml:base means the resolved URL, as
        # gPodder reads it; any other GUID stays verbatim.
        if walk.has_xml_base and item.permalink is not False and not urlsplit(value).scheme:
            value = walk.url(value, element) or value
        item.guid = value


def _enclosure(item: _Item, element: etree._Element, walk: _Walk) -> None:
    url = walk.url(element.get("url"), element)
    if url:
        item.enclosures.append(
            Enclosure(url, guess_type(element.get("type"), url), parse_length(element.get("length")))
        )


def _media_content(item: _Item, element: etree._Element, walk: _Walk) -> None:
    url = walk.url(element.get("url"), element)
    if url:
        size = parse_length(element.get("fileSize"))
        item.media.append(Enclosure(url, guess_type(element.get("type"), url), size))


def _media_group(item: _Item, element: etree._Element, walk: _Walk) -> None:
    for child in element:
        name = walk.names(child.tag)
        if name == "media:content":
            _media_content(item, child, walk)
        elif name == "media:thumbnail" and item.thumbnail is None:
            item.thumbnail = walk.url(child.get("url"), child)


def _atom_link_item(item: _Item, element: etree._Element, walk: _Walk) -> None:
    rel = element.get("rel", "alternate")
    url = walk.url(element.get("href"), element)
    if not url:
        return
    if rel == "enclosure":
        item.enclosures.append(
            Enclosure(url, guess_type(element.get("type"), url), parse_length(element.get("length")))
        )
    elif rel == "alternate" and item.link is None:
        item.link = url


def _keywords(item: _Item, element: etree._Element, walk: _Walk) -> None:
    item.keywords.extend(k.strip() for k in _text(element).split(",") if k.strip())


def _category_item(item: _Item, element: etree._Element, walk: _Walk) -> None:
    value = (element.get("term") if walk.names(element.tag) == "atom:category" else None) or _text(element)
    if value.strip():
        item.categories.append(clean_text(value, warn=walk.context.warn))


def _transcript(item: _Item, element: etree._Element, walk: _Walk) -> None:
    url = walk.url(element.get("url"), element)
    if url:
        item.transcripts.append(Transcript(url, element.get("type"), element.get("language"), element.get("rel")))


def _chapters_link(item: _Item, element: etree._Element, walk: _Walk) -> None:
    url = walk.url(element.get("url"), element)
    if url and item.chapters_link is None:
        item.chapters_link = ChaptersLink(url, element.get("type"))


def _psc_chapters(item: _Item, element: etree._Element, walk: _Walk) -> None:
    for child in element:
        start = (child.get("start") or "").strip()
        if walk.names(child.tag) == "psc:chapter" and start:
            item.chapters.append(
                Chapter(
                    start,
                    clean_text(child.get("title"), warn=walk.context.warn),
                    walk.url(child.get("href"), child),
                    walk.url(child.get("image"), child),
                )
            )


def _person(item: _Item, element: etree._Element, walk: _Walk) -> None:
    name = clean_text(_text(element), warn=walk.context.warn)
    if name:
        item.persons.append(
            Person(
                name,
                element.get("role"),
                element.get("group"),
                walk.url(element.get("img"), element),
                walk.url(element.get("href"), element),
            )
        )


def _episode_type(element: etree._Element, walk: _Walk) -> str | None:
    value = _text(element).strip().lower()
    return value if value in ("full", "trailer", "bonus") else None


_COMMON_ITEM: dict[str, Handler] = {
    "content:encoded": _first("content", _markup_of),
    "itunes:summary": _first("summary", _markup_of),
    "itunes:duration": _first("duration", lambda e, w: _text(e).strip()),
    "itunes:image": _first("image", _href),
    "media:thumbnail": _first("thumbnail", _url_attr),
    "media:content": _media_content,
    "media:group": _media_group,
    "itunes:episode": _first("episode", lambda e, w: parse_positive_int(_text(e))),
    "podcast:episode": _first("episode", lambda e, w: parse_positive_int(_text(e))),
    "itunes:season": _first("season", lambda e, w: parse_positive_int(_text(e))),
    "podcast:season": _first("season", lambda e, w: parse_positive_int(_text(e))),
    "itunes:episodeType": _first("episode_type", _episode_type),
    "itunes:explicit": _first("explicit", lambda e, w: parse_explicit(_text(e))),
    "itunes:author": _first("author", _text_of),
    "itunes:keywords": _keywords,
    "podcast:transcript": _transcript,
    "podcast:chapters": _chapters_link,
    "psc:chapters": _psc_chapters,
    "podcast:person": _person,
}

_ITEM: dict[str, Handler] = _COMMON_ITEM | {
    "guid": _guid,
    "title": _first("title", _text_of),
    "link": _first("link", _url_text),
    "atom:link": _atom_link_item,
    "description": _first("description", _markup_of),
    "pubDate": _first("date", _text_of),
    "dc:date": _first("date", _text_of),
    "enclosure": _enclosure,
    "category": _category_item,
    "dc:creator": _first("author", _text_of),
}

_ENTRY: dict[str, Handler] = _COMMON_ITEM | {
    "atom:id": _first("guid", _text_of),
    "atom:title": _first("title", lambda e, w: _text(e).strip()),
    "atom:link": _atom_link_item,
    "atom:summary": _first("description", _atom_text),
    "atom:content": _first("content", _atom_text),
    "atom:published": _first("date", _text_of),
    "atom:updated": _first("updated", _text_of),
    "atom:category": _category_item,
    "atom:author": _atom_author,
}


# --- extensions: upstream elements written back as they came -------------------------

#: Modelled elements that are also kept as they came: the model keeps only part of
#: them (podcast:season's ``name``, podcast:episode's ``display``, the whole channel
#: <image>), or feedtool reads them but never writes them (media RSS).
_ALSO_KEPT = frozenset(
    {"podcast:season", "podcast:episode", "image", "media:content", "media:group", "media:thumbnail"}
)
#: Never kept: wrong in a feed at another address (the new address of *this* feed;
#: Podping announcing *this* URL's updates), or decided by feedtool.
_NOT_KEPT = frozenset({"itunes:new-feed-url", "podcast:podping", "lastBuildDate", "generator"})
#: RSS 2.0's own elements that feedtool does not model, kept as they came.
_RSS_OWN_CHANNEL = frozenset({"copyright", "managingEditor", "webMaster", "image", "ttl"})
#: Read into the model and kept as well, on the channel only: the channel's itunes:summary
#: (the description stands in for it only where upstream has none; the renderer writes none).
_ALSO_KEPT_CHANNEL = frozenset({"itunes:summary"})
_RSS_OWN_ITEM = frozenset({"author"})
#: Namespaces never kept at the top level: Atom's links (self, hub) and ids belong to
#: the feed's address; RDF and RSS 1.0 are the document's own structure.
_NOT_KEPT_NAMESPACES = frozenset(
    namespaces.key(uri)
    for uri in (namespaces.ATOM, namespaces.XHTML, namespaces.RDF, namespaces.RSS_1_0, namespaces.RSS_0_90)
)
#: podcast:liveItem is an item: RSS's own item elements (no namespace) are its content.
_LIVE_ITEM = f"{{{namespaces.PODCAST}}}liveItem"
_LIVE_ITEM_CHILDREN = frozenset(
    {"title", "description", "link", "guid", "enclosure", "author", "pubDate", "category", "comments", "source"}
)
_USUAL_PREFIX = {uri: prefix for prefix, uri in namespaces.PODCAST_NAMESPACES.items()}
#: The most extension XML kept per episode and for the channel; the rest is dropped
#: with a warning (a feed must not grow the store without bound).
MAX_EXTENSION_BYTES = 64 * 1024


def _keep(kept: list[str], element: etree._Element, name: str, rss_own: frozenset[str]) -> None:
    """Keep an element that feedtool does not model, if it is another namespace's or
    one of RSS's own listed in ``rss_own``."""
    tag: object = element.tag  # comments have a function here
    if not isinstance(tag, str):
        return
    if tag.startswith("{"):
        if namespaces.key(tag[1:].partition("}")[0]) in _NOT_KEPT_NAMESPACES:
            return
    elif name not in rss_own:
        return
    xml = extension(element)
    if xml is not None:
        kept.append(xml)


def extension(element: etree._Element) -> str | None:
    """An element as kept: serialized with the namespaces it uses declared on it, the
    podcast namespaces under their usual prefix and URI, without what is unsafe to
    pass on (elements of the XHTML or no namespace inside it, comments, processing
    instructions, entity references).

    >>> root = etree.fromstring(
    ...     '<c xmlns:p="http://podcastindex.org/namespace/1.0" xmlns:h="http://www.w3.org/1999/xhtml">'
    ...     '<p:block>yes<h:b>!</h:b><!-- c --></p:block></c>')
    >>> extension(root[0])
    '<podcast:block xmlns:podcast="https://podcastindex.org/namespace/1.0">yes</podcast:block>'
    """
    tag = str(element.tag)
    if not len(element) and tag.startswith("{") and not any(str(a).startswith("{") for a in element.attrib):
        return _leaf(element, tag)
    prefixes: dict[str, str] = {}  # URI as written -> prefix
    upstream = {uri: prefix for prefix, uri in element.nsmap.items() if prefix}
    uris: dict[str, str] = {}  # URI as written -> URI as kept

    def declare(uri: str) -> None:
        if uri in prefixes:
            return
        kept = namespaces.meant(uri) or uri
        uris[uri] = kept
        prefix = _USUAL_PREFIX.get(kept)
        if prefix is None:
            # Another namespace under a podcast namespace's usual prefix, or none.
            prefix = upstream.get(uri)
            if prefix is None or prefix in namespaces.PODCAST_NAMESPACES or prefix.lower().startswith("xml"):
                # Made from the URI: the same in every element kept, so that the
                # document's root can declare it once.
                prefix = "ns" + hashlib.sha256(uri.encode()).hexdigest()[:6]
        while prefix in prefixes.values():
            prefix += "_"
        prefixes[uri] = prefix

    def allowed(node: etree._Element, parent_tag: str | None) -> bool:
        tag: object = node.tag
        if not isinstance(tag, str):
            return False  # comments, processing instructions, entity references
        if tag.startswith("{"):
            return namespaces.key(tag[1:].partition("}")[0]) != _XHTML_KEY
        return parent_tag is None or (parent_tag == _LIVE_ITEM and tag in _LIVE_ITEM_CHILDREN) or parent_tag == ""

    def scan(node: etree._Element, parent_tag: str | None) -> None:
        tag = str(node.tag)
        if tag.startswith("{"):
            declare(tag[1:].partition("}")[0])
        for attribute in map(str, node.attrib):
            if attribute.startswith("{") and not attribute.startswith(_XML_ATTRIBUTE):
                declare(attribute[1:].partition("}")[0])
        # RSS's own elements (<image>) keep their own plain children; a plain child
        # of a namespaced element is dropped, but inside podcast:liveItem.
        own = "" if parent_tag is None and not tag.startswith("{") else tag
        for child in node:
            if allowed(child, own):
                scan(child, own)

    if not allowed(element, None):
        return None
    scan(element, None)

    def renamed(name: str) -> str:
        if not name.startswith("{") or name.startswith(_XML_ATTRIBUTE):
            return name
        uri, _, local = name[1:].partition("}")
        return f"{{{uris[uri]}}}{local}"

    def copy(node: etree._Element, target: etree._Element, parent_tag: str | None) -> None:
        target.text = node.text
        for key, value in node.attrib.items():
            target.set(renamed(str(key)), value)
        tag = str(node.tag)
        own = "" if parent_tag is None and not tag.startswith("{") else tag
        last: etree._Element | None = None
        for child in node:
            if allowed(child, own):
                last = etree.SubElement(target, renamed(str(child.tag)))
                copy(child, last, own)
                last.tail = child.tail
            elif child.tail:  # the text after a dropped node is kept
                if last is None:
                    target.text = (target.text or "") + child.tail
                else:
                    last.tail = (last.tail or "") + child.tail

    root = etree.Element(renamed(str(element.tag)), nsmap={prefix: uris[uri] for uri, prefix in prefixes.items()})
    copy(element, root, None)
    return str(etree.tostring(root, encoding="unicode", with_tail=False))


def _leaf(element: etree._Element, tag: str) -> str | None:
    """extension() of the commonest case, quicker: a namespaced element without
    children or namespaced attributes."""
    uri, _, local = tag[1:].partition("}")
    if namespaces.key(uri) == _XHTML_KEY:
        return None
    kept = namespaces.meant(uri) or uri
    prefix = _USUAL_PREFIX.get(kept)
    if prefix is None:
        prefix = element.prefix
        if prefix is None or prefix in namespaces.PODCAST_NAMESPACES or prefix.lower().startswith("xml"):
            prefix = "ns" + hashlib.sha256(uri.encode()).hexdigest()[:6]
    root = etree.Element(f"{{{kept}}}{local}", nsmap={prefix: kept})
    for name, value in element.attrib.items():
        root.set(name, value)
    root.text = element.text
    return str(etree.tostring(root, encoding="unicode", with_tail=False))


_XHTML_KEY = namespaces.key(namespaces.XHTML)
_XML_ATTRIBUTE = f"{{{namespaces.XML}}}"


def _bounded(kept: list[str], where: str, context: ParseContext) -> tuple[str, ...]:
    """The extensions of an item or the channel, at most MAX_EXTENSION_BYTES of them."""
    total = 0
    for index, xml in enumerate(kept):
        total += len(xml.encode("utf-8"))
        if total > MAX_EXTENSION_BYTES:
            context.warn(
                f"{where}: {len(kept) - index} extension elements beyond {MAX_EXTENSION_BYTES // 1024} KB dropped"
            )
            return tuple(kept[:index])
    return tuple(kept)


_ITEM_PARENTS = frozenset({"channel", "rdf:RDF", "atom:feed"})


def _read_item(element: etree._Element, handlers: dict[str, Handler], walk: _Walk) -> _Item:
    item = _Item()
    names = walk.names
    known = names.cache
    for child in element:
        tag = child.tag
        name = known.get(tag) or names(tag)
        handler = handlers.get(name)
        if handler is not None:
            handler(item, child, walk)
            if name not in _ALSO_KEPT:
                continue
        if name not in _NOT_KEPT:
            _keep(item.extensions, child, name, _RSS_OWN_ITEM)
    if handlers is _ENTRY:
        item.permalink = False  # an Atom id identifies; it is not a permalink
    return item


#: Items are normalized in batches: few enough to keep memory flat on a huge feed,
#: enough to sanitize their HTML on every core.
_BATCH = 256
_SANITIZER: ThreadPoolExecutor | None = None


def _episodes(items: list[_Item], context: ParseContext) -> list[Episode]:
    """Normalize a batch of items; their HTML is sanitized in parallel (nh3 releases
    the GIL: on two cores a 2,000-episode feed's notes take half the time)."""
    global _SANITIZER
    texts = [(item.description or item.summary, item.content) for item in items]

    def clean(pair: tuple[str | None, str | None]) -> tuple[str | None, str | None, list[str]]:
        # Cuts are reported from this thread, in item order, not from the workers.
        notes: list[str] = []
        description = clean_description(pair[0], context.strip, warn=notes.append)
        return description, clean_description(pair[1], context.strip, warn=notes.append), notes

    def clean_chunk(chunk: list[tuple[str | None, str | None]]) -> list[tuple[str | None, str | None, list[str]]]:
        return [clean(pair) for pair in chunk]

    workers = os.cpu_count() or 1
    if len(items) < 16 or workers < 2:
        cleaned = [clean(pair) for pair in texts]
    else:
        if _SANITIZER is None:
            _SANITIZER = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sanitize")
        # One task per worker, not per item: a future and two lock hand-offs per item
        # cost as much as sanitizing 500 bytes of notes.
        size = -(-len(texts) // workers)
        chunks = [texts[start : start + size] for start in range(0, len(texts), size)]
        cleaned = [done for chunk in _SANITIZER.map(clean_chunk, chunks) for done in chunk]
    result = []
    for item, (description, content, notes) in zip(items, cleaned, strict=True):
        for note in notes:
            context.warn(note)
        episode = _episode(item, context, description, content)
        if episode is not None:
            result.append(episode)
    return result


def _listing(channel: etree._Element, handlers: dict[str, Handler], episodes: list[Episode], walk: _Walk) -> Listing:
    show = _Show()
    for child in channel:
        name = walk.names(child.tag)
        handler = handlers.get(name)
        if handler is not None:
            handler(show, child, walk)
        if (handler is None or name in _ALSO_KEPT or name in _ALSO_KEPT_CHANNEL) and name not in _NOT_KEPT:
            _keep(show.extensions, child, name, _RSS_OWN_CHANNEL)
    if show.language is None and channel.get(f"{{{namespaces.XML}}}lang"):
        show.language = channel.get(f"{{{namespaces.XML}}}lang")
    context = walk.context
    info = ShowInfo(
        title=clean_text(show.title, warn=context.warn) or None,
        link=show.link,
        description=clean_description(show.description or show.summary, warn=context.warn),
        language=show.language,
        image=show.image or show.rss_image,
        author=clean_text(show.author, warn=context.warn) or None,
        owner=Owner(show.owner_name, show.owner_email) if show.owner_name or show.owner_email else None,
        categories=tuple(dict.fromkeys(show.categories)),
        explicit=show.explicit,
        type=show.type if show.type in ("episodic", "serial") else None,
        podcast_guid=show.podcast_guid,
        new_feed_url=show.new_feed_url,
        episode_count=len(episodes),
        extensions=_bounded(show.extensions, "the channel", context),
    )
    return Listing(show=info, episodes=unique_by_guid(episodes, context), warnings=tuple(context.warnings))


def _episode(item: _Item, context: ParseContext, description: str | None, content: str | None) -> Episode | None:
    enclosure = _pick_enclosure(item.enclosures or item.media)
    title = episode_title(item.title, enclosure.url if enclosure else None, context.warn)
    if title is None:
        context.warn("an item with neither title nor enclosure was skipped")
        return None
    raw_date = item.date or item.updated
    published = parse_date(raw_date)
    if raw_date and published is None:
        context.warn(f"item {title!r}: unreadable or absurd date {raw_date[:60]!r} ignored")
    duration = parse_duration(item.duration)
    if item.duration and duration is None:
        context.warn(f"item {title!r}: unreadable duration {item.duration[:40]!r} ignored")
    guid = item.guid
    derived = guid is None
    if guid is None:
        guid = derive_guid(context.show_id, enclosure.url if enclosure else None, item.link, title, published)
    return Episode(
        guid=guid,
        title=title,
        guid_is_permalink=False if derived else item.permalink,
        guid_derived=derived,
        link=item.link,
        published=published,
        description=description,
        content=content,
        enclosure=enclosure,
        duration=duration,
        image=item.image or item.thumbnail,
        episode=item.episode,
        season=item.season,
        episode_type=item.episode_type,
        explicit=item.explicit,
        author=clean_text(item.author, warn=context.warn) or None,
        keywords=tuple(dict.fromkeys(item.keywords)),
        categories=tuple(dict.fromkeys(item.categories)),
        transcripts=tuple(item.transcripts),
        chapters_link=item.chapters_link,
        chapters=tuple(item.chapters),
        persons=tuple(item.persons),
        extensions=_bounded(item.extensions, f"item {title!r}", context),
    )


def _pick_enclosure(enclosures: list[Enclosure]) -> Enclosure | None:
    """The episode's one enclosure: the first audio file, else video, else the first."""
    for prefix in ("audio/", "video/"):
        for enclosure in enclosures:
            if enclosure.type and enclosure.type.startswith(prefix):
                return enclosure
    return enclosures[0] if enclosures else None


KIND = Kind(key="rss", rank=3, parse=parse)
