"""feedgen, with feedtool's workarounds for where it is wrong.

feedgen writes the RSS and Atom skeletons; one extension of ours writes every
iTunes, Podcasting 2.0 and Podlove tag, because feedgen's podcast extension
accepts only yes/no/clean for ``itunes:explicit`` (Apple wants true/false) and
refuses ``itunes:image`` URLs that do not end in .jpg or .png. Also worked around:
feedgen's Atom entries lose ``rel``, ``type`` and ``length`` of every link
(lkiesow/python-feedgen issues 135 and 143), so enclosures are written by the
extension; the RSS channel ``<link>`` is whichever link was added last, so the
self link is added first; descriptions are written as CDATA.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedtool.model import Episode, StoredEpisode
from feedtool.render import FeedDocument, enclosure_type, is_permalink, podcast_guid

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
PSC = "http://podlove.org/simple-chapters"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _cdata(text: str) -> Any:
    return etree.CDATA(text) if "]]>" not in text else text


class _ShowExtension(BaseExtension):  # type: ignore[misc]
    """Channel-level iTunes and Podcasting 2.0 tags."""

    document: FeedDocument | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"itunes": ITUNES, "podcast": PODCAST, "psc": PSC}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        assert self.document is not None
        channel = rss[0]
        _show_tags(channel, self.document)
        return rss

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        assert self.document is not None
        _show_tags(feed, self.document)
        return feed


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
    _sub(parent, f"{{{PODCAST}}}guid", podcast_guid(info, doc.self_url))


class _EpisodeExtension(BaseEntryExtension):  # type: ignore[misc]
    """Item-level tags, the CDATA descriptions and the Atom enclosure."""

    episode: Episode | None = None

    def extend_rss(self, item: etree._Element) -> etree._Element:
        assert self.episode is not None
        for child in item:
            if child.tag in ("description", f"{{{_CONTENT}}}encoded") and child.text:
                child.text = _cdata(child.text)
        _episode_tags(item, self.episode)
        return item

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        assert self.episode is not None
        # feedgen writes entry links with href only (issue 135); ours are all the
        # episode's web page. (feedgen's Atom elements are unqualified, under a
        # default xmlns declared on the root: ours follow suit.)
        for link in entry.iterfind("link"):
            link.set("rel", "alternate")
            link.set("type", "text/html")
        enclosure = self.episode.enclosure
        if enclosure is not None:
            _sub(
                entry,
                "link",
                rel="enclosure",
                href=enclosure.url,
                type=enclosure_type(enclosure.type, enclosure.url),
                length=str(enclosure.length or 0),
            )
        _episode_tags(entry, self.episode)
        return entry


_CONTENT = "http://purl.org/rss/1.0/modules/content/"


def _episode_tags(parent: etree._Element, e: Episode) -> None:
    if e.duration is not None:
        _sub(parent, f"{{{ITUNES}}}duration", str(e.duration))
    if e.image:
        _sub(parent, f"{{{ITUNES}}}image", href=e.image)
    if e.episode is not None:
        _sub(parent, f"{{{ITUNES}}}episode", str(e.episode))
    if e.season is not None:
        _sub(parent, f"{{{ITUNES}}}season", str(e.season))
    if e.episode_type:
        _sub(parent, f"{{{ITUNES}}}episodeType", e.episode_type)
    if e.explicit is not None:
        _sub(parent, f"{{{ITUNES}}}explicit", "true" if e.explicit else "false")
    if e.author:
        _sub(parent, f"{{{ITUNES}}}author", e.author)
    if e.keywords:
        _sub(parent, f"{{{ITUNES}}}keywords", ",".join(e.keywords))
    for t in e.transcripts:
        _sub(parent, f"{{{PODCAST}}}transcript", url=t.url, type=t.type or "text/plain", language=t.language, rel=t.rel)
    if e.chapters_link:
        _sub(parent, f"{{{PODCAST}}}chapters", url=e.chapters_link.url,
             type=e.chapters_link.type or "application/json+chapters")  # fmt: skip
    for p in e.persons:
        _sub(parent, f"{{{PODCAST}}}person", p.name, role=p.role, group=p.group, img=p.img, href=p.href)
    if e.chapters:
        chapters = _sub(parent, f"{{{PSC}}}chapters", version="1.2")
        for c in e.chapters:
            _sub(chapters, f"{{{PSC}}}chapter", start=c.start, title=c.title, href=c.href, image=c.image)


def generator(doc: FeedDocument, *, atom: bool) -> FeedGenerator:
    """A FeedGenerator holding the document, with feedtool's extension loaded."""
    fg = FeedGenerator()
    fg.register_extension("feedtool", _ShowExtension, _EpisodeExtension)
    fg.feedtool.document = doc
    fg.id(doc.self_url)
    fg.title(doc.title)
    fg.description(doc.description)
    fg.subtitle(doc.description)
    # feedgen writes the RSS channel <link> from the last link added: self first.
    fg.link(href=doc.self_url, rel="self", type="application/atom+xml" if atom else "application/rss+xml")
    fg.link(href=doc.home_url, rel="alternate", type="text/html")
    if doc.info.language:
        fg.language(doc.info.language)
    if doc.info.image:
        fg.logo(doc.info.image)
        if not atom:
            fg.image(url=doc.info.image, title=doc.title, link=doc.home_url)
    if doc.info.author:
        fg.author({"name": doc.info.author})
    fg.generator(doc.generator)
    fg.updated(doc.updated.astimezone(UTC))
    fg.lastBuildDate(doc.updated.astimezone(UTC))
    for stored in doc.episodes:
        _entry(fg.add_entry(order="append"), stored, atom=atom)
    return fg


def _entry(fe: FeedEntry, stored: StoredEpisode, *, atom: bool) -> None:
    e = stored.data
    fe.feedtool.episode = e
    date = stored.sort_time.astimezone(UTC)
    fe.id(e.guid)
    fe.guid(e.guid, permalink=is_permalink(e.guid, e.guid_is_permalink, e.guid_derived))
    fe.title(e.title)
    if e.link:
        fe.link(href=e.link, rel="alternate", type="text/html")
    description = e.description or e.content
    if atom:
        # An Atom entry needs content or an alternate link: empty content will do.
        fe.content(e.content or description or "", type="html")
        if e.description and e.content:
            fe.summary(e.description, type="html")
    else:
        # feedgen writes content:encoded only beside a description, as RSS wants.
        if description:
            fe.description(description)
        if e.content and e.content != description:
            fe.content(e.content)
        if e.enclosure is not None:
            fe.enclosure(
                e.enclosure.url, str(e.enclosure.length or 0), enclosure_type(e.enclosure.type, e.enclosure.url)
            )
    fe.published(date)
    fe.updated(date)
    for tag in stored.tags:
        fe.category(term=tag)
