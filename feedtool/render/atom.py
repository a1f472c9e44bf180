"""Atom 1.0, with enclosures as ``rel="enclosure"`` links carrying type and length.

Ids are IRIs (RFC 4287 4.2.6): an episode's GUID where it is one, else a stable
``urn:uuid:`` of show and GUID (``normalize.identity.atom_id``); the feed's id is the
``urn:uuid:`` of its podcast:guid, which neither the Host asked for nor a tracking
parameter changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC

from feedtool.model import StoredEpisode
from feedtool.normalize.identity import ATOM_ENTRY_NAMESPACE, atom_id
from feedtool.render import FeedDocument, enclosure_type
from feedtool.render._feedgen import _element, _episode_tags, _simple, generator, with_items

CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def render(document: FeedDocument) -> bytes:
    """The document as an Atom 1.0 feed."""
    fg = generator(document, atom=True)
    fg.id(feed_id(document.podcast_guid))
    if not document.info.author:
        # RFC 4287 4.1.1: a feed without an author needs one in every entry.
        fg.author({"name": document.title})
    feed: bytes = fg.atom_str(pretty=False, encoding="UTF-8")
    return with_items(feed, entries(document.episodes))


def feed_id(podcast_guid: str) -> str:
    """The feed's Atom id: its podcast:guid as a URN (a non-UUID one hashed into a UUIDv5).

    >>> feed_id("aefba066-448c-510b-bce1-4c0d1f9d2dbb")
    'urn:uuid:aefba066-448c-510b-bce1-4c0d1f9d2dbb'
    """
    try:
        return f"urn:uuid:{uuid.UUID(podcast_guid)}"
    except ValueError:
        return f"urn:uuid:{uuid.uuid5(ATOM_ENTRY_NAMESPACE, podcast_guid)}"


def entries(episodes: Sequence[StoredEpisode]) -> str:
    """The <entry> elements of an Atom feed (in the default namespace, as feedgen writes it)."""
    return "".join(_entry(stored) for stored in episodes)


def _entry(stored: StoredEpisode) -> str:
    e = stored.data
    date = stored.sort_time.astimezone(UTC).isoformat()
    parts = ["<entry>", _simple("id", atom_id(stored.show_id, e.guid)), _simple("title", e.title)]
    parts += [f"<updated>{date}</updated>", f"<published>{date}</published>"]
    if e.author:
        parts.append(f"<author>{_simple('name', e.author)}</author>")
    if e.link:
        parts.append(_element("link", rel="alternate", type="text/html", href=e.link))
    if e.enclosure is not None:
        kind = enclosure_type(e.enclosure.type)
        parts.append(
            _element("link", rel="enclosure", href=e.enclosure.url, type=kind, length=str(e.enclosure.length or 0))
        )
    content = e.content or e.description
    if content:
        parts.append(_element("content", content, type="html"))
    else:
        # An entry needs content or an alternate link (RFC 4287 4.1.2), and validators
        # warn on blank content and on none: the title is all it says.
        parts.append(_element("content", e.title, type="text"))
    if e.description and e.content:
        parts.append(_element("summary", e.description, type="html"))
    parts.extend(_element("category", term=tag) for tag in stored.tags)
    _episode_tags(parts, e)
    parts.append("</entry>")
    return "".join(parts)
