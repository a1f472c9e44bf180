"""What every source parser shares: its context, and GUID de-duplication."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from feedtool.model import Episode, Listing, Matcher
from feedtool.normalize.text import Warn, clean_text
from feedtool.redact import operator_location

log = logging.getLogger(__name__)

#: A hostile feed can carry a warning per item; a source reports at most this many.
MAX_WARNINGS = 50
#: ``<link rel="alternate">`` types of feeds, in order of preference.
FEED_TYPES = ("application/rss+xml", "application/atom+xml")


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs besides the bytes."""

    show_id: str
    location: str  # the URL or path the bytes came from; base for relative links
    strip: tuple[Matcher, ...] = ()  # the show's own boilerplate patterns
    charset: str | None = None  # the HTTP Content-Type charset, if any
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Record a problem that does not stop the parse (reported with the refresh)."""
        if len(self.warnings) < MAX_WARNINGS:
            log.warning("%s: %s", operator_location(self.location), message)
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("further warnings not shown")


Parser = Callable[[bytes, ParseContext], Listing]


def unique_by_guid(episodes: Iterable[Episode], context: ParseContext) -> list[Episode]:
    """Items of one source are distinct episodes unless they share a GUID; keep the first."""
    seen: set[str] = set()
    result = []
    for episode in episodes:
        if episode.guid in seen:
            context.warn(f"repeated GUID {episode.guid!r} (item {episode.title!r}) stored once")
            continue
        seen.add(episode.guid)
        result.append(episode)
    return result


def episode_title(raw: str | None, enclosure_url: str | None, warn: Warn) -> str | None:
    """A clean title; an untitled item is named after its audio file, as gPodder does."""
    title = clean_text(raw, warn=warn)
    if title:
        return title
    if enclosure_url:
        name = PurePosixPath(urlsplit(enclosure_url).path).stem
        return clean_text(unquote(name), warn=warn) or None
    return None


def resolve_url(base: str, url: str | None) -> str | None:
    """An absolute http(s) URL, relative ones taken against an http(s) base; else None.

    Only http and https survive: a ``javascript:`` or ``data:`` URL from upstream
    would become a live link in every reader and on the index page.

    >>> resolve_url("https://a.example/feed/", "ep.mp3"), resolve_url("https://a.example/", "javascript:x()")
    ('https://a.example/feed/ep.mp3', None)
    """
    if url is None:
        return None
    value = url.strip()
    if not value:
        return None
    if not value[:8].lower().startswith(("http://", "https://")):
        if not base.startswith(("http://", "https://")):
            return None  # relative, with nothing to resolve it against
        value = urljoin(base, value)  # only here: urljoin is slow
    return value if value[:8].lower().startswith(("http://", "https://")) else None


def guess_type(declared: str | None, url: str) -> str | None:
    """An enclosure's MIME type: the declared one, else one guessed from the file name.

    >>> guess_type(None, "https://cdn.example/ep.m4a?x=1"), guess_type("Audio/MPEG", "x")
    ('audio/mp4', 'audio/mpeg')
    """
    value = (declared or "").strip().lower()
    if "/" in value:
        return value
    guessed, _ = mimetypes.guess_type(urlsplit(url).path, strict=False)
    return guessed


def feed_links(page: bytes, location: str) -> list[str]:
    """The feeds an HTML page names in ``<link rel="alternate">``, RSS before Atom,
    each in document order, resolved against the page's ``<base href>`` or URL.

    >>> feed_links(b'<base href="/a/"><link rel="alternate" type="application/atom+xml" href="x.atom">'
    ...            b'<link rel="Alternate" type="application/rss+xml; charset=utf-8" href="x.rss">', "https://s.example/p")
    ['https://s.example/a/x.rss', 'https://s.example/a/x.atom']
    """
    finder = _LinkFinder()
    finder.feed(page.decode("utf-8", errors="replace"))
    finder.close()
    base = resolve_url(location, finder.base) or location
    ranked = sorted(finder.links, key=lambda link: FEED_TYPES.index(link[0]))
    found = [resolve_url(base, href) for _, href in ranked]
    return list(dict.fromkeys(url for url in found if url))


class _LinkFinder(HTMLParser):
    """Collects ``<base href>`` and feed ``<link rel="alternate">`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[tuple[str, str]] = []  # (type, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        href = values.get("href", "").strip()
        if tag == "base" and self.base is None and href:
            self.base = href  # the first <base href> counts, as in HTML
        elif tag == "link" and href and "alternate" in values.get("rel", "").lower().split():
            kind = values.get("type", "").split(";")[0].strip().lower()
            if kind in FEED_TYPES:
                self.links.append((kind, href))
