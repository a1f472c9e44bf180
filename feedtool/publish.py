"""From the store to finished feeds: documents, rendering, validators, the render cache.

Shared by the web app and ``feedtool export``, so that both give the same bytes for
the same feed, filter and self link. A feed's ETag is derived from what decides its
bytes (feed, format, filter, self link, the show's store version, the config), so a
conditional request is answered without rendering; rendered bytes are cached under
the same key, and a refresh that changes a show bumps its version, in another
process too.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from feedtool import __version__
from feedtool.config import Config, FeedConfig
from feedtool.filters import Filter, check_tags, combine
from feedtool.model import Show, ShowInfo, SourceState, StoredEpisode, is_empty
from feedtool.normalize.text import html_to_text, xml_safe
from feedtool.redact import public_name, public_text
from feedtool.render import FeedDocument, Renderer, atom, html, jsonfeed, opml, podcast_guid, rss

FORMATS: dict[str, tuple[Renderer, str]] = {
    "rss": (rss.render, rss.CONTENT_TYPE),
    "atom": (atom.render, atom.CONTENT_TYPE),
    "json": (jsonfeed.render, jsonfeed.CONTENT_TYPE),
}


class FeedStore(Protocol):
    """What publishing reads from a store (``feedtool.store.Store`` is one)."""

    def version(self, show_id: str) -> tuple[int, datetime | None]: ...
    def show(self, show_id: str) -> Show | None: ...
    def commits(self) -> int: ...
    def identity(self) -> str: ...
    def config_time(self, digest: str, fallback: datetime) -> datetime: ...
    def count(self, show_id: str) -> int: ...
    def tag_counts(self, show_id: str) -> dict[str, int]: ...
    def source_states(self, show_id: str | None = None) -> list[SourceState]: ...
    def episode(self, show_id: str, episode_id: int) -> StoredEpisode | None: ...
    def episodes(
        self,
        show_id: str,
        flt: Filter = ...,
        *,
        cap: int | None = None,
        regex_seconds: float = 1.0,
        now: datetime | None = None,
    ) -> list[StoredEpisode]: ...


@dataclass(frozen=True)
class Validators:
    """What a conditional request is checked against, known before rendering."""

    etag: str  # strong, quoted
    last_modified: datetime


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    validators: Validators


class RenderCache:
    """Rendered feeds by key, least recently used dropped beyond a byte budget."""

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Rendered] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Rendered | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, item: Rendered) -> None:
        if len(item.body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._items[key] = item
            self._size += len(item.body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.body)


class UnknownFeed(LookupError):
    """No show or named feed has this name."""


def feed_url(base_url: str, name: str, fmt: str, flt: Filter = Filter(), key: str | None = None) -> str:  # noqa: B008
    """The canonical URL of a feed under a base URL (``key``: a private feed's access key).

    >>> feed_url("https://f.example", "show", "rss", Filter(tags=("a", "b")))
    'https://f.example/feeds/show.rss?tag=a%2Cb'
    >>> feed_url("https://f.example", "show", "rss", key="k&y")
    'https://f.example/feeds/show.rss?key=k%26y'
    """
    query = [*flt.query(), *([("key", key)] if key else [])]
    return f"{base_url.rstrip('/')}/feeds/{name}.{fmt}" + (f"?{urlencode(query)}" if query else "")


class Publisher:
    """Feeds of one config and store."""

    def __init__(self, config: Config, store: FeedStore, cache: RenderCache | None = None) -> None:
        self.config = config
        self.store = store
        self.cache = cache if cache is not None else RenderCache()
        self._config_time_known: datetime | None = None

    @property
    def _config_time(self) -> datetime:
        """The config's Last-Modified: its file's modification time, as the store
        has it for this config (the first web node's, on PostgreSQL); read once."""
        if self._config_time_known is None:
            try:
                mtime = datetime.fromtimestamp(int(self.config.path.stat().st_mtime), UTC)
            except OSError:
                mtime = datetime(1970, 1, 1, tzinfo=UTC)
            self._config_time_known = self.store.config_time(self.config.digest, mtime)
        return self._config_time_known

    @functools.cached_property
    def _config_key(self) -> str:
        """The config in a feed's ETag: its digest and its time (both in the body)."""
        return f"{self.config.digest}@{int(self._config_time.timestamp())}"

    def feed_config(self, name: str) -> FeedConfig:
        feed = self.config.feed(name)
        if feed is None:
            raise UnknownFeed(name)
        return feed

    def validators(self, name: str, fmt: str, flt: Filter, self_url: str) -> Validators:
        """ETag and Last-Modified of a feed, from one cheap query."""
        feed = self.feed_config(name)
        version, changed = self.store.version(feed.show)
        # The config's time is in the body (lastBuildDate, updated) and in Last-Modified:
        # an edit that changes only it (a comment; touch) must change the ETag too.
        parts = (__version__, self._config_key, self.store.identity(), name, fmt, flt.query_string, self_url)
        key = "\0".join((*parts, str(version)))
        etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
        last_modified = max(changed or self._config_time, self._config_time)
        return Validators(etag, last_modified)

    def feed(self, name: str, fmt: str, flt: Filter, self_url: str, validators: Validators | None = None) -> Rendered:
        """A feed's bytes, from the render cache when the store has not changed
        (``validators``: this feed's, if at hand)."""
        validators = validators or self.validators(name, fmt, flt, self_url)
        cached = self.cache.get(validators.etag)
        if cached is not None:
            return cached
        render, content_type = FORMATS[fmt]
        document = self.document(name, flt, self_url, validators.last_modified)
        rendered = Rendered(render(document), content_type, validators)
        self.cache.put(validators.etag, rendered)
        return rendered

    def document(self, name: str, flt: Filter, self_url: str, updated: datetime) -> FeedDocument:
        """What a feed shows: the show's metadata and the episodes that pass both the
        named feed's filter and the request's."""
        feed = self.feed_config(name)
        info = self.show_info(feed.show)
        episodes = self.episodes(name, flt)
        title = self.title(name, info)
        label = xml_safe(flt.describe())
        if label:
            title = f"{title} ({label})"
        description = feed.description or html_to_text(info.description or "") or title
        return FeedDocument(
            name=name,
            title=title,
            description=description,
            self_url=self_url,
            home_url=info.link or self.home_url(self_url, feed.private),
            info=info,
            episodes=episodes,
            updated=updated,
            podcast_guid=podcast_guid(info, name, flt.query(), own_feed=name in self.config.shows),
        )

    def episodes(self, name: str, flt: Filter) -> list[StoredEpisode]:
        """The episodes a feed holds for a request's filter, in its order: what the feed
        renders and what the show's browser page lists (one query, so they cannot disagree)."""
        feed = self.feed_config(name)
        return self.store.episodes(
            feed.show,
            combine((feed.filter, flt)),
            cap=self.config.shows[feed.show].cap,
            regex_seconds=self.config.server.regex_timeout,
        )

    def check_tags(self, name: str, flt: Filter, known: Iterable[str] | None = None) -> None:
        """Raise FilterError when the filter names a tag the feed's show does not know
        (``known``: the show's stored tags, if at hand)."""
        show = self.config.shows[self.feed_config(name).show]
        rules = show.tag_names
        # Only a tag that no rule names costs a look at the stored tags: the usual
        # request (a rule's tag) stays one version check before its 304.
        if any(tag not in rules for tag in (*flt.tags, *flt.exclude_tags)):
            check_tags(flt, [*rules, *(self.store.tag_counts(show.id) if known is None else known)])

    def show_info(self, show_id: str) -> ShowInfo:
        """A show's metadata as merged from its sources, with the config's settings on top."""
        show = self.store.show(show_id)
        info = show.info if show is not None else ShowInfo()
        overrides = self.config.shows[show_id].overrides
        changes = {
            f.name: getattr(overrides, f.name) for f in fields(ShowInfo) if not is_empty(getattr(overrides, f.name))
        }
        return replace(info, **changes) if changes else info

    def home_url(self, self_url: str, private: bool = False) -> str:
        """feedtool's own index page, for shows that have no website; a private feed's
        carries the key of its self link, so that the page lists the feed."""
        home = self.config.base_url + "/" if self.config.base_url else self_url.split("/feeds/", 1)[0] + "/"
        keys = parse_qs(urlsplit(self_url).query).get("key") if private else None
        return f"{home}?{urlencode({'key': keys[0]})}" if keys else home

    def readable(self, listener: str | None) -> list[str]:
        """The feed names a listener may read (None: the public's), in feed_names order."""
        names = []
        for name in self.config.feed_names():
            feed = self.config.feed(name)
            if feed is not None and feed.readable_by(listener):
                names.append(name)
        return names

    # --- the index page and OPML ----------------------------------------------------

    def index(
        self,
        base_url: str,
        static: bool = False,
        listener: str | None = None,
        key: str | None = None,
        root: str = "",
    ) -> bytes:
        """The HTML index of every show and named feed, from the render cache until the
        store commits another write (the page of 10,000 shows takes seconds to render).

        ``static``: the page of an export, which links no query (a static server
        ignores it) and so links a tag only to a named feed of exactly that tag.
        ``listener``: also the private shows and feeds this listener may read, linked
        with ``key`` (None: the public page, which names no private show or feed).
        ``root``: the app's path prefix, for links to the pages for people (a static
        export has none of those pages: it links feed files only).
        """
        key = key if listener is not None else None
        cache_key = self._index_key(base_url, static, listener, key, root)
        cached = self.cache.get(cache_key)
        if cached is not None:
            return cached.body
        body = self._index(base_url, static, listener, key, root)
        validators = Validators(f'"{cache_key[:32]}"', self._config_time)
        self.cache.put(cache_key, Rendered(body, html.CONTENT_TYPE, validators))
        return body

    def index_etag(self, base_url: str, listener: str | None = None, key: str | None = None, root: str = "") -> str:
        """The served index page's ETag: it changes when the store commits or the config changes."""
        return f'"{self._index_key(base_url, False, listener, key if listener is not None else None, root)[:32]}"'

    def _index_key(self, base_url: str, static: bool, listener: str | None, key: str | None, root: str) -> str:
        # One listener's page (its links carry their key) is never another's, nor the public's.
        parts = (
            "index",
            __version__,
            self._config_key,
            self.store.identity(),
            base_url,
            str(self.store.commits()),
            str(static),
            listener or "",
            key or "",
            root,
        )
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def _index(self, base_url: str, static: bool, listener: str | None, key: str | None, root: str) -> bytes:
        readable = set(self.readable(listener))
        infos = {show_id: self.show_info(show_id) for show_id in self.config.shows if show_id in readable}
        named: dict[str, list[FeedConfig]] = {}
        for feed in self.config.feeds.values():
            if feed.name in readable:
                named.setdefault(feed.show, []).append(feed)
        feeds = [html.FeedLinks(s, self.title(s, info), self._urls(base_url, s, key)) for s, info in infos.items()]
        # One section at a time: with the sections of 10,000 shows alive at once, the
        # cyclic garbage collector's passes over them made the page superlinear.
        sections = (
            self._section(base_url, feed, infos[feed.name], named.get(feed.name, []), static, key, root)
            for feed in feeds
        )
        private = any(self._private(name) for name in readable)
        opml_url = f"{base_url}/feeds.opml" + (f"?{urlencode({'key': key})}" if key and private else "")
        keyq = f"?{urlencode({'key': key})}" if key else ""
        if static:
            # An export writes the style sheet beside index.html (see export.py).
            return html.render(feeds, sections, opml_url, static=True, static_url=f"{base_url}/static")
        return html.render(feeds, sections, opml_url, static_url=f"{root}/static", home_url=f"{root}/{keyq}")

    def _private(self, name: str) -> bool:
        feed = self.config.feed(name)
        return feed is not None and feed.private

    def _section(
        self,
        base_url: str,
        feed: html.FeedLinks,
        info: ShowInfo,
        named: list[FeedConfig],
        static: bool,
        key: str | None = None,
        root: str = "",
    ) -> html.ShowSection:
        show_id = feed.name
        key = key if self.config.shows[show_id].private else None

        def page(path: str, flt: Filter = Filter()) -> str | None:  # noqa: B008 - frozen
            """A page for people, with the filter and key as its query; none in a static export."""
            query = [*flt.query(), *([("key", key)] if key else [])]
            return None if static else f"{root}/shows/{show_id}{path}" + (f"?{urlencode(query)}" if query else "")

        # A static site links a tag only to a named feed whose filter is exactly that tag.
        tag_feeds = (
            {
                f.filter.tags[0]: f.name
                for f in named
                if len(f.filter.tags) == 1 and f.filter == Filter(tags=f.filter.tags)
            }
            if static
            else {}
        )
        states = {(s.kind, s.location): s for s in self.store.source_states(show_id)}
        locations = [s.location for show in self.config.shows.values() for s in show.sources]
        latest = (
            self.store.episodes(show_id, Filter(limit=self.config.server.latest)) if self.config.server.latest else []
        )
        return html.ShowSection(
            id=show_id,
            feed=feed,
            browser_url=page(""),
            artwork=html.web_url(info.image),
            website=info.link,
            description=html_to_text(info.description or ""),
            episode_count=self.store.count(show_id),
            tags=[
                html.TagLink(
                    tag,
                    count,
                    self._tag_url(base_url, tag, tag_feeds, key) if static else page("", Filter(tags=(tag,))),
                )
                for tag, count in self.store.tag_counts(show_id).items()
            ],
            latest=latest,
            episode_urls={} if static else {e.id: page(f"/episodes/{e.id}") or "" for e in latest},
            sources=[
                _public_state(states.get((s.kind, s.location), SourceState(show_id, s.kind, s.location)), locations)
                for s in self.config.shows[show_id].sources
            ],
            named=[
                # The label follows the title: a title made of the show's and the filter would say it twice.
                html.FeedLinks(
                    f.name,
                    f.title or self.config.shows[show_id].title or info.title or show_id,
                    self._urls(base_url, f.name, key),
                    f.filter.describe(),
                    page("", f.filter),
                )
                for f in named
            ],
        )

    @staticmethod
    def _tag_url(base_url: str, tag: str, tag_feeds: dict[str, str], key: str | None) -> str | None:
        """In a static export, a tag links to a named feed of exactly that tag, if any."""
        name = tag_feeds.get(tag)
        return feed_url(base_url, name, "rss", key=key) if name else None

    def opml(self, base_url: str, listener: str | None = None, key: str | None = None) -> bytes:
        """Every public show and named feed as an OPML 2.0 subscription list, plus the
        private ones ``listener`` may read, their URLs carrying ``key``."""
        outlines = []
        for name in self.readable(listener):
            website = self.show_info(self.feed_config(name).show).link
            url = feed_url(base_url, name, "rss", key=key if self._private(name) else None)
            outlines.append(opml.Outline(self.title(name), url, website))
        return opml.render("feedtool feeds", outlines, self._config_time)

    def title(self, name: str, info: ShowInfo | None = None) -> str:
        """A feed's title before any request filter (``info``: the show's, if at hand)."""
        feed = self.feed_config(name)
        info = info or self.show_info(feed.show)
        show_title = self.config.shows[feed.show].title or info.title or feed.show
        if feed.title:
            return feed.title
        label = feed.filter.describe()
        return f"{show_title} ({label})" if label else show_title

    def _urls(self, base_url: str, name: str, key: str | None = None) -> dict[str, str]:
        key = key if self._private(name) else None
        return {fmt: feed_url(base_url, name, fmt, key=key) for fmt in FORMATS}


def _public_state(state: SourceState, locations: list[str]) -> SourceState:
    """A source's state as the index page shows it: host only, no path, query or secret (issue 14)."""

    def public(text: str | None) -> str | None:
        return None if text is None else public_text(text, locations)

    return replace(
        state,
        location=public_name(state.location),
        error=public(state.error),
        permanent_redirect=public(state.permanent_redirect),
        new_feed_url=public(state.new_feed_url),
    )
