"""The HTML pages: the index of every show and named feed, a show's episode browser
and an episode's page. Jinja2 escapes everything it shows; the only markup passed
through is an episode's sanitized show notes and the QR code's SVG made by segno."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jinja2

from feedtool.model import SourceState, StoredEpisode
from feedtool.normalize.dates import format_iso
from feedtool.normalize.durations import format_clock

CONTENT_TYPE = "text/html; charset=utf-8"

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("feedtool", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["clock"] = format_clock
_ENVIRONMENT.filters["iso"] = format_iso


def web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) URL a page may link or load, else None.

    >>> web_url("https://cdn.example/a.mp3"), web_url("javascript:alert(1)"), web_url(None)
    ('https://cdn.example/a.mp3', None, None)
    """
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


@dataclass(frozen=True)
class FeedLinks:
    name: str
    title: str
    urls: Mapping[str, str]  # format -> URL
    label: str = ""  # what a named feed keeps, e.g. "tag: open-models"
    browser_url: str | None = None  # the show's browser with this feed's filter (served only)


@dataclass(frozen=True)
class TagLink:
    tag: str
    count: int
    url: str | None  # None: no file or URL serves this tag alone (a static export)


@dataclass(frozen=True)
class ShowSection:
    id: str
    feed: FeedLinks
    browser_url: str | None  # the show's episode browser; None in a static export
    artwork: str | None
    website: str | None
    description: str
    episode_count: int
    tags: Sequence[TagLink]
    latest: Sequence[StoredEpisode]
    sources: Sequence[SourceState]
    named: Sequence[FeedLinks]
    episode_urls: Mapping[int, str] = field(default_factory=dict)  # latest episodes' pages (served only)


def render(
    feeds: Sequence[FeedLinks],
    sections: Iterable[ShowSection],
    opml_url: str,
    static: bool = False,
    static_url: str = "/static",
    home_url: str = "/",
) -> bytes:
    """The index page as UTF-8 HTML; the same store gives the same bytes.

    ``feeds`` are the shows' own feeds, linked from the page's head; ``sections``
    are read once, in order, so they may be made one at a time; ``static`` words
    the page for a static site, where feeds take no query parameters.
    """
    template = _ENVIRONMENT.get_template("index.html")
    return template.render(
        feeds=feeds, sections=sections, opml_url=opml_url, static=static, static_url=static_url, home_url=home_url
    ).encode("utf-8")


@dataclass(frozen=True)
class TagChoice:
    tag: str
    count: int
    kept: bool  # checked under "tag"
    dropped: bool  # checked under "exclude_tag"


@dataclass(frozen=True)
class AppLink:
    app: str
    label: str
    href: str


@dataclass(frozen=True)
class BrowserPage:
    root: str
    key: str | None
    show_id: str
    title: str
    description: str
    artwork: str | None
    action: str
    error: str | None
    tags: Sequence[TagChoice]
    text: Mapping[str, str]  # q, since, until, min_duration, max_duration
    since_is_date: bool
    until_is_date: bool
    sort: str
    hidden: Sequence[tuple[str, str]]
    also: str
    count: int
    page: int
    pages: int
    first: int
    episodes: Sequence[StoredEpisode]
    episode_url: Callable[[int], str]
    page_url: Callable[[int], str]
    feeds: Mapping[str, str]  # format -> subscribe URL; empty when the filter is invalid
    qr: str  # inline SVG
    apps: Sequence[AppLink]
    private: bool


@dataclass(frozen=True)
class EpisodePage:
    root: str
    key: str | None
    show_title: str
    browser_url: str
    episode: StoredEpisode
    notes: str  # sanitized HTML
    audio: str | None
    link: str | None
    tag_urls: Mapping[str, str]
    private: bool


def render_browser(page: BrowserPage) -> bytes:
    """A show's episode browser as UTF-8 HTML."""
    return _ENVIRONMENT.get_template("show.html").render(p=page, static_url=page.root + "/static").encode("utf-8")


def render_episode(page: EpisodePage) -> bytes:
    """An episode's page as UTF-8 HTML."""
    return _ENVIRONMENT.get_template("episode.html").render(p=page, static_url=page.root + "/static").encode("utf-8")
