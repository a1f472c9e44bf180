"""A radio.net podcast page (and radio.de, radio.fr, ...) plus its episode API -> Listing.

The episodes come from radio.net's episode API first,
``<api>/podcasts/episodes/by-podcast-ids?podcastIds=<id>&count=<n>&offset=<m>``,
which answers ``{"totalCount": N, "episodes": [...]}``, newest first, paged to the end.
The page gives the show's details and is the fallback for the episodes when the API
fails. Pages come in two formats (both read by ``feedtool.sources.nextjs``): older
ones carry Next.js's ``__NEXT_DATA__`` with the podcast at
``props.pageProps.data.broadcast`` and its newest episodes at
``props.pageProps.data.episodes`` (``{"totalCount": N, "episodes": [...]}``); newer
ones carry React Server Components flight data, where the same objects are found by
their shape, wherever they are nested. A JSON-LD ``PodcastSeries`` names the show and
its author in both.

Each episode object carries ``id``, ``title``, ``description`` (plain text with
``\\n``), ``publishDate`` (Unix seconds), ``duration`` (seconds), ``url`` (the
audio), ``contentFormat`` (its MIME type) and the show's logos
``parentLogo44x44`` ... ``parentLogo1200x1200``; unknown fields are ignored, a
missing ``id``, ``title`` or ``url`` is a ParseError. None of this is a documented
API: parse tolerantly, and when the page cannot be understood, take everything from
the API with one warning that says what was missing.

The kind owns its URLs: the sister sites (``HOSTS``), its location check (a podcast
page, ``/podcast/<id>``; the id is the same on every sister site and in the API), its
``api`` option (default https://prod.radio-api.net) and its paging.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from feedtool.errors import FetchError, ParseError
from feedtool.model import Enclosure, Episode, Listing, ShowInfo
from feedtool.normalize.dates import parse_date
from feedtool.normalize.identity import derive_guid
from feedtool.normalize.text import clean_description, clean_text
from feedtool.sources import nextjs
from feedtool.sources.base import Fetch, Kind, Option, Source
from feedtool.sources.common import ParseContext, feed_links, guess_type, resolve_url, unique_by_guid

DEFAULT_API = "https://prod.radio-api.net"
PAGE_SIZE = 50
#: Paging stops after this many API pages (PAGE_SIZE * MAX_PAGES episodes).
MAX_PAGES = 200
REQUIRED = ("id", "title", "url")

#: radio.net and its sister sites, which share podcast ids and the episode API.
HOSTS = frozenset(
    f"{www}radio.{tld}" for www in ("", "www.") for tld in ("net", "de", "at", "fr", "it", "es", "pt", "pl", "dk", "se")
)

# Largest first: the show's logo on an episode object, and on the podcast object.
_SIZES = ("1200x1200", "630x630", "300x300", "175x175", "100x100", "44x44", "")
_PARENT_LOGOS = tuple(f"parentLogo{size}" for size in _SIZES)
_LOGOS = tuple(f"logo{size}" for size in _SIZES)
# Where a podcast object could name the show's own feed; schema.org's is webFeed.
_FEED_KEYS = ("feedUrl", "rssUrl", "rssFeedUrl", "rssFeed", "feed", "rss", "webFeed")

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Page:
    """What a podcast page says, as far as it could be read."""

    podcast: Mapping[str, Any]  # the broadcast object, or {}
    series: Mapping[str, Any]  # the JSON-LD PodcastSeries, or {}
    episodes: Sequence[Any] | None  # the raw episode objects, None if the page has no list
    total: int | None
    why_no_episodes: str  # when ``episodes`` is None

    @property
    def has_show(self) -> bool:
        return bool(_text(self.podcast, "name") or _text(self.series, "name"))


def is_page_url(url: str) -> bool:
    """Whether a URL is a podcast page on radio.net or a sister site (``/podcast/<id>``).

    >>> is_page_url("https://radio.de/podcast/sternwarte"), is_page_url("https://www.radio.net/s/station")
    (True, False)
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and host in HOSTS and podcast_slug(url) is not None


def looks_like_page(body: bytes) -> bool:
    """Whether a body looks like a radio.net podcast page in either format (a cheap sniff)."""
    return nextjs.has_page_data(body) and (b"episodes" in body or b"PodcastSeries" in body)


def feed_url(page: bytes, location: str) -> str | None:
    """The show's own RSS feed, if the page or its data names it; None otherwise.

    Looked for in the JSON-LD PodcastSeries (``webFeed``), the podcast object (``feedUrl``,
    ``rssUrl``, ...) and the page's ``<link rel="alternate">`` to RSS or Atom. None of the
    pages seen so far name one; a page that cannot be read names none.
    """
    text = page.decode("utf-8", errors="replace")
    found = _read_page(text, location)
    for record in (found.series, found.podcast):
        for key in _FEED_KEYS:
            value = record.get(key)
            if isinstance(value, dict):
                value = value.get("url")
            url = resolve_url(location, value) if isinstance(value, str) else None
            if url:
                return url
    links = feed_links(page, location)
    if links:
        return links[0]
    return None


def parse_page(data: bytes, context: ParseContext) -> Listing:
    """Parse a radio.net podcast page alone (a saved page): the show and the episodes it holds."""
    page = _read_page(data.decode("utf-8", errors="replace"), context.location)
    if page.episodes is None:
        raise ParseError(page.why_no_episodes)
    episodes = [_episode(obj, index, context) for index, obj in enumerate(page.episodes)]
    return Listing(
        show=_show(page, episodes, page.episodes, context),
        episodes=unique_by_guid(episodes, context),
        warnings=tuple(context.warnings),
    )


def read(body: bytes, context: ParseContext, source: Source, fetch: Fetch) -> Listing:
    """A page's whole listing: episodes from the API, the page for the show and as the fallback.

    A saved page (a path), or a source without an ``api``, is the page alone.
    """
    api = source.options.get("api")
    slug = podcast_slug(context.location) if context.location.startswith(("http://", "https://")) else None
    if not api or not slug:
        return parse_page(body, context)
    page = _read_page(body.decode("utf-8", errors="replace"), context.location)
    page_episodes, why_not = _page_episodes(page, context)
    try:
        episodes, total, parent, complete = page_api(fetch, api, slug, context)
    except (FetchError, ParseError) as exc:
        if not page_episodes:
            raise ParseError(f"no episodes: the episode API failed ({exc}), and the page has none ({why_not})") from exc
        context.warn(f"the episode API failed ({exc}): only the {len(page_episodes)} episodes on the page were read")
        return Listing(
            show=_show(page, page_episodes, page.episodes or (), context),
            episodes=unique_by_guid(page_episodes, context),
            warnings=tuple(context.warnings),
            complete=False,
        )
    missing = [f"its episode list ({why_not})"] if page_episodes is None else []
    if not page.has_show:
        missing.append("its show details (no podcast object, no JSON-LD PodcastSeries)")
    if missing:
        context.warn(f"could not read {' or '.join(missing)} from the page; the episode API gave everything")
    # The same episode on both keeps the API's text; an episode only the page has is kept too.
    known = {episode.guid for episode in episodes}
    episodes += [episode for episode in page_episodes or () if episode.guid not in known]
    show = _show(page, episodes, [*(page.episodes or ()), parent], context)
    return Listing(
        show=replace(show, episode_count=total if total is not None else show.episode_count),
        episodes=episodes,
        warnings=tuple(context.warnings),
        complete=complete,
    )


class ApiEpisodes(NamedTuple):
    """What the episode API's pages held."""

    episodes: list[Episode]
    total: int | None
    first: Mapping[str, Any]  # the first episode object: it names the show and its logos
    complete: bool  # False when a page after the first failed


def page_api(fetch: Fetch, api: str, slug: str, context: ParseContext) -> ApiEpisodes:
    """Every episode the API pages hold, its total count, and its first episode object.

    ``fetch`` returns the body of a URL (raising FetchError); paging stops at the total
    count, at an empty page, at a page with nothing new, or after MAX_PAGES pages. A
    failure on the first page is raised; on a later one, the pages before it are kept
    (with a warning).
    """
    episodes: list[Episode] = []
    first: Mapping[str, Any] = {}
    seen: set[str] = set()
    total: int | None = None
    complete = True
    offset = 0
    for _ in range(MAX_PAGES):
        if total is not None and offset >= total:
            break
        try:
            page, page_total, objects = _api_page(fetch(api_url(api, slug, offset)), context, offset)
        except (FetchError, ParseError) as exc:
            if not episodes:
                raise
            context.warn(f"the episode API failed at offset {offset} ({exc}): only its first {offset} were read")
            complete = False
            break
        first = first or next(iter(objects), {})
        total = page_total if page_total is not None else total
        if not page:
            break
        # Pages overlap when an episode is published while paging: keep each one once.
        new = [episode for episode in page if episode.guid not in seen]
        if not new:
            context.warn(f"the episode API repeated itself at offset {offset}; stopped paging there")
            break
        seen.update(episode.guid for episode in new)
        episodes.extend(new)
        offset += len(page)
    else:
        if total is None or offset < total:
            context.warn(f"stopped paging after {MAX_PAGES} pages of the episode API")
    return ApiEpisodes(episodes, total, first, complete)


def parse_api(data: bytes, context: ParseContext, offset: int = 0) -> tuple[list[Episode], int | None]:
    """Parse one page of the episode API: its episodes and the total count."""
    episodes, total, _ = _api_page(data, context, offset)
    return episodes, total


def _api_page(data: bytes, context: ParseContext, offset: int) -> tuple[list[Episode], int | None, list[Any]]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"the radio.net episode API did not answer JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("episodes"), list):
        raise ParseError('the radio.net episode API answered without an "episodes" list')
    total = document.get("totalCount")
    objects: list[Any] = document["episodes"]
    episodes = [_episode(obj, offset + index, context) for index, obj in enumerate(objects)]
    return episodes, total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None, objects


def api_url(api: str, slug: str, offset: int, count: int = PAGE_SIZE) -> str:
    """The URL of one page of a podcast's episodes.

    >>> api_url("https://prod.radio-api.net", "interconnects", 50)
    'https://prod.radio-api.net/podcasts/episodes/by-podcast-ids?podcastIds=interconnects&count=50&offset=50'
    """
    query = urlencode({"podcastIds": slug, "count": count, "offset": offset})
    return f"{api.rstrip('/')}/podcasts/episodes/by-podcast-ids?{query}"


def podcast_slug(url: str) -> str | None:
    """The podcast id in a radio.net page URL (/podcast/<id>), if any.

    >>> podcast_slug("https://www.radio.net/podcast/interconnects?x=1"), podcast_slug("https://www.radio.net/s/x")
    ('interconnects', None)
    """
    match = re.search(r"/podcast/([^/?#]+)", urlsplit(url).path)
    return match.group(1) if match else None


def check(location: str) -> str | None:
    """What is wrong with a radionet location: a URL must be a podcast page."""
    if location.startswith(("http://", "https://")) and not podcast_slug(location):
        return f"{location!r} is not a podcast page such as https://www.radio.net/podcast/<id>"
    return None


def _page_episodes(page: _Page, context: ParseContext) -> tuple[list[Episode] | None, str]:
    """The page's episodes, or None and why not (a broken episode makes the list unusable)."""
    if page.episodes is None:
        return None, page.why_no_episodes
    if not page.episodes:
        return [], "its episode list is empty"
    try:
        return [_episode(obj, index, context) for index, obj in enumerate(page.episodes)], ""
    except ParseError as exc:
        return None, f"the page's {exc}"


def _read_page(page: str, location: str) -> _Page:
    """The podcast, JSON-LD and episode objects of a page, in whichever format it has;
    page data that is there but broken is a page without episodes, saying why."""
    series = _series(page)
    slug = podcast_slug(location) if location.startswith(("http://", "https://")) else None
    try:
        return _read_data(page, series, slug)
    except ParseError as exc:
        return _Page({}, series, None, None, str(exc))


def _read_data(page: str, series: Mapping[str, Any], slug: str | None) -> _Page:
    document = nextjs.next_data(page)
    if document is not None:
        data = _dig(document, "props", "pageProps", "data")
        podcast = data.get("broadcast") if isinstance(data, dict) else None
        holder = data.get("episodes") if isinstance(data, dict) else None
        if not (isinstance(holder, dict) and _is_episode_list(holder)):
            holder = _episode_holder([document])  # not where the site puts it: the same shape anywhere
        podcast = podcast if isinstance(podcast, dict) else _podcast([document], slug, holder)
        return _found(podcast, series, holder, "__NEXT_DATA__")
    flight = nextjs.flight(page)
    if flight is not None:
        roots = list(flight.rows.values())
        holder = _episode_holder(roots)
        found = _found(_podcast(roots, slug, holder), series, holder, "flight data")
        if holder is None and flight.problems:
            return _Page(found.podcast, series, None, None, f"{found.why_no_episodes}; {'; '.join(flight.problems)}")
        return found
    return _Page({}, series, None, None, "no episode data in the page: neither __NEXT_DATA__ nor flight data")


def _found(
    podcast: Mapping[str, Any] | None, series: Mapping[str, Any], holder: Mapping[str, Any] | None, where: str
) -> _Page:
    if holder is None:
        return _Page(podcast or {}, series, None, None, f"no episode list in the page's {where}")
    total = holder.get("totalCount")
    return _Page(
        podcast or {},
        series,
        holder["episodes"],
        total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None,
        "",
    )


def _is_episode_list(holder: Mapping[str, Any]) -> bool:
    """A dict whose "episodes" is a list of episode objects (id, title, url); empty only with a totalCount."""
    episodes = holder.get("episodes")
    if not isinstance(episodes, list):
        return False
    return _are_episodes(episodes) if episodes else "totalCount" in holder


def _are_episodes(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and all(key in item for key in REQUIRED) for item in items)


def _episode_holder(roots: list[Any]) -> Mapping[str, Any] | None:
    """The object with the longest episode list in the data, the first of equals."""
    best: Mapping[str, Any] | None = None
    checked: dict[int, bool] = {}  # by list: flight data can share one list among many objects
    for node in nextjs.walk(*roots):
        episodes = node.get("episodes")
        if not isinstance(episodes, list):
            continue
        if episodes and id(episodes) not in checked:
            checked[id(episodes)] = _are_episodes(episodes)
        found = checked[id(episodes)] if episodes else "totalCount" in node
        if found and (best is None or len(episodes) > len(best["episodes"])):
            best = node
    return best


def _podcast(roots: list[Any], slug: str | None, holder: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The podcast object: under a "broadcast" key, else named with a logo and the show's id.

    The id is the page's, else the episodes' ``parentId``; matching it keeps the similar
    podcasts a page also lists from being taken for the show.
    """
    ids = {slug} if slug else set()
    for obj in holder["episodes"] if holder else ():
        if isinstance(obj.get("parentId"), str):
            ids.add(obj["parentId"])
    candidate: Mapping[str, Any] | None = None
    for node in nextjs.walk(*roots):
        broadcast = node.get("broadcast")
        if isinstance(broadcast, dict) and _text(broadcast, "name"):
            return broadcast
        if candidate is None and node.get("id") in ids and _text(node, "name") and _largest(node, _LOGOS):
            candidate = node
    return candidate


def _show(page: _Page, episodes: Sequence[Episode], raw: Sequence[Any], context: ParseContext) -> ShowInfo:
    podcast, series = page.podcast, page.series
    first: Mapping[str, Any] = next((obj for obj in raw if isinstance(obj, dict) and obj), {})
    title = _text(podcast, "name") or _text(series, "name") or _text(first, "parentTitle")
    description = _text(podcast, "description") or _text(series, "description")
    link = _text(podcast, "homepageUrl") or _text(series, "url")
    image = _largest(podcast, _LOGOS) or _image(series) or _largest(first, _PARENT_LOGOS)
    if image is None and episodes:
        image = episodes[0].image
    return ShowInfo(
        title=clean_text(title, warn=context.warn) or None,
        link=resolve_url(context.location, link),
        description=clean_description(description, warn=context.warn),
        image=resolve_url(context.location, image),
        author=_author(podcast, series, context),
        episode_count=page.total,
    )


def _episode(obj: Any, index: int, context: ParseContext) -> Episode:
    if not isinstance(obj, dict):
        raise ParseError(f"episode {index}: expected a JSON object, got {type(obj).__name__}")
    missing = [key for key in REQUIRED if obj.get(key) in (None, "")]
    if missing:
        raise ParseError(f"episode {index}: missing required field {', '.join(missing)}")
    url = resolve_url(context.location, str(obj["url"]))
    title = clean_text(str(obj["title"]), warn=context.warn)
    if not title:
        raise ParseError(f"episode {index}: empty title")
    raw_date = obj.get("publishDate")
    published = parse_date(str(raw_date)) if raw_date not in (None, "") else None
    if raw_date not in (None, "") and published is None:
        context.warn(f"episode {title!r}: unreadable or absurd date {str(raw_date)[:60]!r} ignored")
    duration = obj.get("duration")
    seconds = (
        int(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and 0 < duration < 10**9
        else None
    )
    description = obj.get("description")
    content_format = obj.get("contentFormat")
    return Episode(
        # The same inputs as ever (the audio URL, else title and day): stored GUIDs stay.
        guid=derive_guid(context.show_id, url, None, title, published),
        title=title,
        guid_is_permalink=False,
        guid_derived=True,
        published=published,
        description=clean_description(
            description if isinstance(description, str) else None, context.strip, plain=True, warn=context.warn
        ),
        enclosure=Enclosure(url, guess_type(content_format if isinstance(content_format, str) else None, url))
        if url
        else None,
        duration=seconds,
        image=resolve_url(context.location, _largest(obj, _PARENT_LOGOS)),
    )


def _series(page: str) -> dict[str, Any]:
    """The JSON-LD PodcastSeries object of the page, or {}."""
    for attrs, body in _SCRIPT.findall(page):
        if "ld+json" not in attrs:
            continue
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, RecursionError):
            continue
        for node in _nodes(document):
            kind = node.get("@type")
            if kind == "PodcastSeries" or (isinstance(kind, list) and "PodcastSeries" in kind):
                return node
    return {}


def _nodes(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            if isinstance(item, dict):
                yield item
    elif isinstance(document, dict):
        yield document
        graph = document.get("@graph")
        if isinstance(graph, list):
            yield from (item for item in graph if isinstance(item, dict))


def _dig(document: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _largest(record: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    return next((record[key] for key in keys if _text(record, key)), None)


def _author(podcast: Mapping[str, Any], series: Mapping[str, Any], context: ParseContext) -> str | None:
    author = podcast.get("author") or series.get("author")
    if isinstance(author, list):
        author = author[0] if author else None
    if isinstance(author, dict):
        author = author.get("name")
    return clean_text(author, warn=context.warn) or None if isinstance(author, str) else None


def _image(series: Mapping[str, Any]) -> str | None:
    image = series.get("image")
    if isinstance(image, dict):
        image = image.get("url")
    return image if isinstance(image, str) else None


KIND = Kind(
    key="radionet",
    rank=2,
    parse=parse_page,
    options=(Option("api", "an api URL", "url", DEFAULT_API),),
    check=check,
    reader=read,
)
