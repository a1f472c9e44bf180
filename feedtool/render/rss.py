"""RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, Podlove Simple Chapters where
an episode has chapters, and upstream's other namespaces where its elements are kept."""

from __future__ import annotations

from feedtool.render import FeedDocument
from feedtool.render._feedgen import (
    CONTENT_DECLARATION,
    Namespaces,
    channel_image,
    generator,
    rss_items,
    with_items,
)

CONTENT_TYPE = "application/rss+xml; charset=utf-8"


def render(document: FeedDocument) -> bytes:
    """The document as an RSS 2.0 podcast feed."""
    namespaces = Namespaces()
    # The channel's extensions go before the items; both are written before the
    # channel, so that its root declares what they use.
    extensions = [channel_image(x, document.info.title, document.title) for x in document.info.extensions]
    body = "".join([namespaces.write(x) for x in extensions])
    body += rss_items(document.episodes, namespaces)
    fg = generator(document, atom=False, namespaces=namespaces.declared)
    channel: bytes = fg.rss_str(pretty=False, encoding="UTF-8")
    if "content" not in namespaces.declared:
        end = channel.index(b">", channel.index(b"<rss"))  # feedgen declares it on <rss>
        channel = channel[:end].replace(CONTENT_DECLARATION, b"", 1) + channel[end:]
    return with_items(channel, body)
