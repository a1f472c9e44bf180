"""feedgen, with feedtool's workarounds for where it is wrong or slow.

feedgen writes the feed: the RSS channel or Atom feed element, its metadata, the
namespaces and the serialization. One extension of ours writes everything else:

- the iTunes, Podcasting 2.0 and Podlove tags, because feedgen's podcast extension
  accepts only yes/no/clean for ``itunes:explicit`` (Apple wants true/false) and
  refuses ``itunes:image`` URLs that do not end in .jpg or .png;
- the items and entries. feedgen's entries lose ``rel``, ``type`` and ``length`` of
  every Atom link, enclosures included (lkiesow/python-feedgen issues 135 and 143),
  and cost about 100 µs each (an object per entry, a locale switch per date): a
  1,000-episode feed took 110 ms where writing the elements directly takes 20
  (bench/run.py measures it).

Also worked around: the RSS channel ``<link>`` is whichever link was added last, so
the self link is added first. Descriptions are written as CDATA.

Upstream's elements that feedtool does not model (``extensions`` of an episode or a
show, issue 11) are written back as they came; their namespaces are declared once,
at the root, and the root declares only the namespaces the document uses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedtool.model import Episode, StoredEpisode
from feedtool.namespaces import ATOM, CONTENT, ITUNES, PODCAST, PODCAST_NAMESPACES, PSC
from feedtool.normalize.text import xml_safe
from feedtool.render import FeedDocument, enclosure_type, is_permalink

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(moment: datetime) -> str:
    """An RFC 822 date in UTC, in English whatever the locale.

    >>> rfc822(datetime(2026, 5, 26, 8, 0, 5, tzinfo=UTC))
    'Tue, 26 May 2026 08:00:05 +0000'
    """
    m = moment.astimezone(UTC)
    clock = f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    return f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year} {clock} +0000"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


class _Extension(BaseExtension):  # type: ignore[misc]
    """Writes the show's podcast tags, and a marker where the items go."""

    document: FeedDocument | None = None
    namespaces: Mapping[str, str] = {}

    def extend_ns(self) -> dict[str, str]:
        return dict(self.namespaces)

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        assert self.document is not None
        channel = rss[0]
        _show_tags(channel, self.document)
        channel.append(etree.Comment(ITEMS))
        return rss

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        assert self.document is not None
        _show_tags(feed, self.document)
        feed.append(etree.Comment(ITEMS))
        return feed


#: Where the items go in feedgen's serialized feed.
ITEMS = "feedtool:items"
_MARKER = f"<!--{ITEMS}-->".encode()


def with_items(document: bytes, items: str) -> bytes:
    """feedgen's serialized feed with the items in place of the marker."""
    head, marker, tail = document.partition(_MARKER)
    assert marker, "the feed has no place for its items"
    return b"".join((head, items.encode("utf-8"), tail))  # one copy of the items, where + made two


def _show_tags(parent: etree._Element, doc: FeedDocument) -> None:
    info = doc.info
    if info.author:
        _sub(parent, f"{{{ITUNES}}}author", info.author)
    if info.image:
        _sub(parent, f"{{{ITUNES}}}image", href=info.image)
    if info.owner and (info.owner.name or info.owner.email):
        owner = _sub(parent, f"{{{ITUNES}}}owner")
        if info.owner.name:
            _sub(owner, f"{{{ITUNES}}}name", info.owner.name)
        if info.owner.email:
            _sub(owner, f"{{{ITUNES}}}email", info.owner.email)
    for category in info.categories:
        # Apple's categories carry their name in a "text" attribute.
        element = etree.SubElement(parent, f"{{{ITUNES}}}category", {"text": category[0]})
        for sub in category[1:]:
            etree.SubElement(element, f"{{{ITUNES}}}category", {"text": sub})
    _sub(parent, f"{{{ITUNES}}}explicit", "true" if info.explicit else "false")
    if info.type:
        _sub(parent, f"{{{ITUNES}}}type", info.type)
    _sub(parent, f"{{{PODCAST}}}guid", doc.podcast_guid)


# --- extensions and the namespaces a document declares --------------------------------

#: An extension's start tag with the namespace declarations lxml wrote first in it.
_DECLARATIONS = re.compile(r'<[^\s/>]+((?: xmlns:[^\s=]+="[^"]*")+)')
_DECLARATION = re.compile(r' xmlns:([^\s=]+)="([^"]*)"')
#: feedgen declares these on every RSS document; a document that does not use
#: content:encoded has the declaration taken out again.
CONTENT_DECLARATION = f' xmlns:content="{CONTENT}"'.encode()


class Namespaces:
    """The namespaces one RSS document declares at its root, and extension XML written
    to use them: upstream's prefix where it is free, else one made from it."""

    def __init__(self) -> None:
        # The podcast namespaces keep their usual prefixes: apps look for those.
        self._uri_by_prefix: dict[str, str] = dict(PODCAST_NAMESPACES)
        self._prefix_by_uri = {uri: prefix for prefix, uri in PODCAST_NAMESPACES.items()}
        #: What the root declares: feedtool always writes itunes:explicit, podcast:guid
        #: and the atom self link; the rest only where used.
        self.declared = {"itunes": ITUNES, "podcast": PODCAST, "atom": ATOM}
        self._renames: dict[str, dict[str, str] | None] = {}

    def use(self, prefix: str) -> None:
        """Declare one of the podcast namespaces, which the document uses."""
        self.declared[prefix] = self._uri_by_prefix[prefix]

    def write(self, fragment: str) -> str:
        """An extension's XML without its declarations, which the root now makes."""
        match = _DECLARATIONS.match(fragment)
        if match is None:
            return fragment  # RSS's own elements: no namespace
        declarations = match.group(1)
        # A feed's extensions share a few sets of declarations: each is planned once.
        if declarations in self._renames:
            renames = self._renames[declarations]
        else:
            renames = self._renames[declarations] = self._plan(declarations)
        if renames is None:
            return fragment[: match.start(1)] + fragment[match.end(1) :]
        return _renamed(fragment, renames)

    def _plan(self, declarations: str) -> dict[str, str] | None:
        """Declare the namespaces; the prefixes to rename (by URI), if any clash."""
        renames = {}
        for prefix, escaped in _DECLARATION.findall(declarations):
            uri = html.unescape(escaped)
            ours = self._prefix_by_uri.get(uri)
            if ours is None:
                ours, n = prefix, 1
                while ours in self._uri_by_prefix:
                    n += 1
                    ours = f"{prefix}{n}"
                self._uri_by_prefix[ours] = uri
                self._prefix_by_uri[uri] = ours
            self.declared[ours] = uri
            if ours != prefix:
                renames[uri] = ours
        return renames or None


def _renamed(fragment: str, renames: Mapping[str, str]) -> str:
    """An extension rewritten with other prefixes for some of its namespaces (rare: only
    where upstream's prefix means another namespace elsewhere in the document)."""
    source = etree.fromstring(fragment)
    nsmap = {renames.get(uri, prefix): uri for prefix, uri in source.nsmap.items() if prefix}

    def copy(node: etree._Element, target: etree._Element) -> None:
        target.text = node.text
        for key, value in node.attrib.items():
            target.set(key, value)
        for child in node:
            if isinstance(child.tag, str):
                copy(child, etree.SubElement(target, child.tag))
                target[-1].tail = child.tail

    root = etree.Element(source.tag, nsmap=nsmap)
    copy(source, root)
    text = str(etree.tostring(root, encoding="unicode", with_tail=False))
    match = _DECLARATIONS.match(text)
    return text if match is None else text[: match.start(1)] + text[match.end(1) :]


def channel_image(extension: str, show_title: str | None, title: str) -> str:
    """Upstream's channel <image>, its title made this feed's where it was the show's
    (RSS 2.0: the image title is the channel's, and a filtered feed has a title of its
    own); any other extension unchanged.

    >>> channel_image("<image><url>https://s.example/a.png</url><title>S</title></image>", "S", "S (tag: x)")
    '<image><url>https://s.example/a.png</url><title>S (tag: x)</title></image>'
    """
    if not extension.startswith(("<image>", "<image ")) or show_title == title:
        return extension
    image = etree.fromstring(extension)
    child = image.find("title")
    if child is None or (child.text or "").strip() != show_title:
        return extension
    child.text = title
    return str(etree.tostring(image, encoding="unicode", with_tail=False))


def has_rss_image(extensions: Sequence[str]) -> bool:
    """Whether upstream's channel <image> is among the show's extensions."""
    return any(x.startswith(("<image>", "<image ")) for x in extensions)


# Items are written as text, not lxml elements: an element costs about 5 µs, and a
# 1,000-episode feed has 16,000 of them.


def _text(value: str) -> str:
    if not value.isprintable():  # rare: only then look for what XML cannot carry
        value = xml_safe(value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _attrs(**attrs: str | None) -> str:
    return "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items() if v is not None)


def _element(tag: str, text: str | None = None, **attrs: str | None) -> str:
    if text is None:
        return f"<{tag}{_attrs(**attrs)}/>"
    return f"<{tag}{_attrs(**attrs)}>{_text(text)}</{tag}>"


def _simple(tag: str, text: str) -> str:
    return f"<{tag}>{_text(text)}</{tag}>"


def _cdata(tag: str, markup: str) -> str:
    """Sanitized HTML as CDATA. normalize.text.clean_description made it XML-safe (and
    escaped every '>' of its text, so ']]>' cannot occur; checked all the same)."""
    if "]]>" in markup:
        return _simple(tag, markup)
    return f"<{tag}><![CDATA[{markup}]]></{tag}>"


def rss_items(episodes: Sequence[StoredEpisode], namespaces: Namespaces) -> str:
    """The <item> elements of an RSS feed; the namespaces they use are declared in ``namespaces``."""
    return "".join([_rss_item(stored, namespaces) for stored in episodes])


def _rss_item(stored: StoredEpisode, namespaces: Namespaces) -> str:
    e = stored.data
    parts = ["<item>", _simple("title", e.title)]
    if e.link:
        parts.append(_simple("link", e.link))
    description = e.description or e.content
    if description:
        parts.append(_cdata("description", description))
    if e.content and e.content != description:
        parts.append(_cdata("content:encoded", e.content))
        namespaces.use("content")
    # The hot elements are written inline: a 1,000-episode feed renders each 1,000 times.
    permalink = "true" if is_permalink(e.guid, e.guid_is_permalink, e.guid_derived) else "false"
    parts.append(f'<guid isPermaLink="{permalink}">{_text(e.guid)}</guid>')
    parts.extend(f"<category>{_text(tag)}</category>" for tag in stored.tags)
    if (enclosure := e.enclosure) is not None:
        kind = _attr(enclosure_type(enclosure.type))
        length = enclosure.length or 0
        parts.append(f'<enclosure url="{_attr(enclosure.url)}" length="{length}" type="{kind}"/>')
    parts.append(f"<pubDate>{rfc822(stored.sort_time)}</pubDate>")
    _episode_tags(parts, e)
    if e.chapters:
        namespaces.use("psc")
    for extension in e.extensions:
        parts.append(namespaces.write(extension))
    parts.append("</item>")
    return "".join(parts)


def _episode_tags(parts: list[str], e: Episode) -> None:
    if e.duration is not None:
        parts.append(f"<itunes:duration>{e.duration}</itunes:duration>")
    if e.image:
        parts.append(f'<itunes:image href="{_attr(e.image)}"/>')
    if e.episode is not None:
        parts.append(f"<itunes:episode>{e.episode}</itunes:episode>")
    if e.season is not None:
        parts.append(f"<itunes:season>{e.season}</itunes:season>")
    if e.episode_type:
        parts.append(_simple("itunes:episodeType", e.episode_type))
    if e.explicit is not None:
        parts.append(
            "<itunes:explicit>true</itunes:explicit>" if e.explicit else "<itunes:explicit>false</itunes:explicit>"
        )
    if e.author:
        parts.append(_simple("itunes:author", e.author))
    if e.keywords:
        parts.append(_simple("itunes:keywords", ",".join(e.keywords)))
    for t in e.transcripts:
        transcript = _element(
            "podcast:transcript", url=t.url, type=t.type or "text/plain", language=t.language, rel=t.rel
        )
        parts.append(transcript)
    if e.chapters_link:
        kind = e.chapters_link.type or "application/json+chapters"
        parts.append(_element("podcast:chapters", url=e.chapters_link.url, type=kind))
    for p in e.persons:
        parts.append(_element("podcast:person", p.name, role=p.role, group=p.group, img=p.img, href=p.href))
    if e.chapters:
        parts.append('<psc:chapters version="1.2">')
        for c in e.chapters:
            parts.append(_element("psc:chapter", start=c.start, title=c.title, href=c.href, image=c.image))
        parts.append("</psc:chapters>")


def generator(doc: FeedDocument, *, atom: bool, namespaces: Mapping[str, str] | None = None) -> FeedGenerator:
    """A FeedGenerator holding the document, with feedtool's extension loaded; the root
    declares ``namespaces`` (by default the podcast namespaces that the entries use)."""
    fg = FeedGenerator()
    fg.register_extension("feedtool", _Extension)
    fg.feedtool.document = doc
    if namespaces is None:
        namespaces = {"itunes": ITUNES, "podcast": PODCAST}
        if any(stored.data.chapters for stored in doc.episodes):
            namespaces["psc"] = PSC
    fg.feedtool.namespaces = namespaces
    fg.id(doc.self_url)
    fg.title(doc.title)
    fg.description(doc.description)
    fg.subtitle(doc.description)
    # feedgen writes the RSS channel <link> from the last link added: self first.
    fg.link(href=doc.self_url, rel="self", type="application/atom+xml" if atom else "application/rss+xml")
    fg.link(href=doc.home_url, rel="alternate", type="text/html")
    if doc.info.language:
        fg.language(doc.info.language)
    # Upstream's own channel <image>, if any, is written back with the extensions.
    if doc.info.image and (atom or not has_rss_image(doc.info.extensions)):
        fg.logo(doc.info.image)
        if not atom:
            fg.image(url=doc.info.image, title=doc.title, link=doc.home_url)
    if doc.info.author:
        fg.author({"name": doc.info.author})
    fg.generator(doc.generator)
    fg.updated(doc.updated.astimezone(UTC))
    fg.lastBuildDate(doc.updated.astimezone(UTC))
    return fg
