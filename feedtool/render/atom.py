"""Atom 1.0, with enclosures as ``rel="enclosure"`` links carrying type and length."""

from __future__ import annotations

from feedtool.render import FeedDocument
from feedtool.render._feedgen import atom_entries, generator, with_items

CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def render(document: FeedDocument) -> bytes:
    """The document as an Atom 1.0 feed."""
    feed: bytes = generator(document, atom=True).atom_str(pretty=False, encoding="UTF-8")
    return with_items(feed, atom_entries(document.episodes))
