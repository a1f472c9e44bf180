"""The index page: every show and named feed with its subscribe links, tags, latest
episodes and the last refresh of each source. Jinja2 escapes everything it shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import jinja2

from feedtool.model import SourceState, StoredEpisode
from feedtool.normalize.durations import format_clock

CONTENT_TYPE = "text/html; charset=utf-8"

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("feedtool", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["clock"] = format_clock


@dataclass(frozen=True)
class FeedLinks:
    name: str
    title: str
    urls: Mapping[str, str]  # format -> URL
    label: str = ""  # what a named feed keeps, e.g. "tag: open-models"


@dataclass(frozen=True)
class TagLink:
    tag: str
    count: int
    url: str | None  # None: no file or URL serves this tag alone (a static export)


@dataclass(frozen=True)
class ShowSection:
    id: str
    feed: FeedLinks
    website: str | None
    description: str
    episode_count: int
    tags: Sequence[TagLink]
    latest: Sequence[StoredEpisode]
    sources: Sequence[SourceState]
    named: Sequence[FeedLinks]


def render(feeds: Sequence[FeedLinks], sections: Iterable[ShowSection], opml_url: str, static: bool = False) -> bytes:
    """The index page as UTF-8 HTML; the same store gives the same bytes.

    ``feeds`` are the shows' own feeds, linked from the page's head; ``sections``
    are read once, in order, so they may be made one at a time; ``static`` words
    the page for a static site, where feeds take no query parameters.
    """
    template = _ENVIRONMENT.get_template("index.html")
    return template.render(feeds=feeds, sections=sections, opml_url=opml_url, static=static).encode("utf-8")
