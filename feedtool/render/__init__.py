"""Renderers: a FeedDocument in, the bytes of one feed format out. Pure.

Each format module exposes ``render(document) -> bytes``; FORMATS maps the URL
extension to it and its content type.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from feedtool.model import ShowInfo, StoredEpisode

GENERATOR = "feedtool"
#: The Podcasting 2.0 namespace's UUIDv5 namespace for podcast:guid.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


@dataclass(frozen=True)
class FeedDocument:
    """Everything one feed shows: the show's metadata and the chosen episodes."""

    name: str
    title: str
    description: str
    self_url: str
    home_url: str  # the show's website, else feedtool's index page
    info: ShowInfo
    episodes: Sequence[StoredEpisode]
    updated: datetime
    podcast_guid: str
    generator: str = GENERATOR


def is_permalink(guid: str, flag: bool | None, derived: bool) -> bool:
    """isPermaLink="true" only for an http(s) URL that upstream did not mark otherwise.

    >>> is_permalink("https://e.example/1", None, False), is_permalink("abc", None, False)
    (True, False)
    """
    if derived or flag is False:
        return False
    return guid.startswith(("http://", "https://"))


def enclosure_type(declared: str | None) -> str:
    """The enclosure's MIME type as stored; the parsers already guessed a missing one
    from the file name, so one still missing is written as podcasts' usual MP3."""
    return declared or "audio/mpeg"


def podcast_guid(info: ShowInfo, name: str, query: Sequence[tuple[str, str]], *, own_feed: bool) -> str:
    """A feed's podcast:guid: upstream's on a show's own unfiltered feed, else a UUIDv5
    (in the Podcasting 2.0 namespace) of the feed's name and canonical filter.

    Never of the URL asked for: a tracking parameter or another Host header must not
    make the same feed another podcast, and the guid outlives a move to a new domain.

    >>> podcast_guid(ShowInfo(), "show", [("tag", "a")], own_feed=True)
    'aefba066-448c-510b-bce1-4c0d1f9d2dbb'
    """
    if own_feed and not query and info.podcast_guid:
        return info.podcast_guid
    identity = f"feedtool:{name}" + (f"?{urlencode(query)}" if query else "")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, identity))


Renderer = Callable[[FeedDocument], bytes]
