"""Renderers: a FeedDocument in, the bytes of one feed format out. Pure.

Each format module exposes ``render(document) -> bytes``; FORMATS maps the URL
extension to it and its content type.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

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


def podcast_guid(info: ShowInfo, feed_url: str) -> str:
    """The show's podcast:guid: upstream's, else derived from our feed URL as the
    Podcasting 2.0 namespace specifies (UUIDv5 of the URL without scheme)."""
    if info.podcast_guid:
        return info.podcast_guid
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


Renderer = Callable[[FeedDocument], bytes]
