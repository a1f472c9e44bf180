"""RSS 2.0 with the iTunes, Podcasting 2.0 and Podlove Simple Chapters namespaces."""

from __future__ import annotations

from feedtool.render import FeedDocument
from feedtool.render._feedgen import generator, rss_items, with_items

CONTENT_TYPE = "application/rss+xml; charset=utf-8"


def render(document: FeedDocument) -> bytes:
    """The document as an RSS 2.0 podcast feed."""
    channel: bytes = generator(document, atom=False).rss_str(pretty=False, encoding="UTF-8")
    return with_items(channel, rss_items(document.episodes))
