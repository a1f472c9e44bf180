"""RSS 2.0 with the iTunes, Podcasting 2.0 and Podlove Simple Chapters namespaces."""

from __future__ import annotations

from feedtool.render import FeedDocument
from feedtool.render._feedgen import generator

CONTENT_TYPE = "application/rss+xml; charset=utf-8"


def render(document: FeedDocument) -> bytes:
    """The document as an RSS 2.0 podcast feed."""
    result: bytes = generator(document, atom=False).rss_str(pretty=False, encoding="UTF-8")
    return result
