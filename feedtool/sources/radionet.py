"""A radio.net podcast page (and radio.de, radio.fr, ...) plus its episode API -> Listing.

The page embeds its episodes as JSON: older pages in Next.js's ``__NEXT_DATA__``
script under ``props.pageProps.data.episodes``, newer ones as escaped JSON inside
script strings; a JSON-LD ``PodcastSeries`` names the show and its author. The page
shows only the newest episodes, so the rest are paged from
``<api>/podcasts/episodes/by-podcast-ids?podcastIds=<slug>&count=<n>&offset=<m>``,
which answers ``{"totalCount": N, "episodes": [...]}``.

Each episode object carries ``id``, ``title``, ``description`` (plain text),
``publishDate`` (Unix seconds), ``duration`` (seconds) and ``url`` (the audio file);
unknown fields are ignored, and a missing required field is a ParseError.
None of this is a documented API: parse tolerantly.

The kind owns its location check (a podcast page, ``/podcast/<slug>``), its ``api``
option (default https://prod.radio-api.net) and its paging.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from feedtool.errors import ParseError
from feedtool.model import Enclosure, Episode, Listing, ShowInfo
from feedtool.normalize import clean_description, clean_text, derive_guid, parse_date
from feedtool.sources.base import Fetch, Kind, Option, Source
from feedtool.sources.common import ParseContext, guess_type, resolve_url, unique_by_guid

DEFAULT_API = "https://prod.radio-api.net"
PAGE_SIZE = 50
#: Paging stops after this many API pages (PAGE_SIZE * MAX_PAGES episodes).
MAX_PAGES = 200
REQUIRED = ("id", "title", "url")

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_JS_STRING = re.compile(r'"((?:[^"\\]|\\.){40,})"', re.DOTALL)
_EPISODES_KEY = re.compile(r'"episodes"\s*:\s*\[')
_TOTAL_KEY = re.compile(r'"totalCount"\s*:\s*(\d+)')


def parse_page(data: bytes, context: ParseContext) -> Listing:
    """Parse a radio.net podcast page: show metadata and the episodes it embeds."""
    page = data.decode("utf-8", errors="replace")
    scripts = [(attrs, body) for attrs, body in _SCRIPT.findall(page)]
    if not scripts:
        raise ParseError("not a radio.net podcast page: it has no scripts with episode data")
    series = _series(scripts)
    objects: list[Mapping[str, Any]] | None = None
    total: int | None = None
    for attrs, body in scripts:
        if "__NEXT_DATA__" in attrs:
            found, total = _next_data(body)
            if found is not None:
                objects = found
                break
    if objects is None:
        objects, total = _embedded(scripts)
    if objects is None:
        raise ParseError("no episode data in the page: neither __NEXT_DATA__ nor embedded episode JSON")
    show = ShowInfo(
        title=clean_text(series.get("name")) or _first_parent_title(objects),
        link=resolve_url(context.location, series["url"]) if isinstance(series.get("url"), str) else None,
        description=clean_description(
            series.get("description") if isinstance(series.get("description"), str) else None
        ),
        image=resolve_url(context.location, _image(series) or _first_logo(objects)),
        author=_author(series),
        episode_count=total,
    )
    episodes = [_episode(obj, index, context) for index, obj in enumerate(objects)]
    return Listing(show=show, episodes=unique_by_guid(episodes, context), warnings=tuple(context.warnings))


def parse_api(data: bytes, context: ParseContext, offset: int = 0) -> tuple[list[Episode], int | None]:
    """Parse one page of the episode API: its episodes and the total count."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"the radio.net episode API did not answer JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("episodes"), list):
        raise ParseError('the radio.net episode API answered without an "episodes" list')
    total = document.get("totalCount")
    episodes = [_episode(obj, offset + index, context) for index, obj in enumerate(document["episodes"])]
    return episodes, total if isinstance(total, int) and total >= 0 else None


def api_url(api: str, slug: str, offset: int, count: int = PAGE_SIZE) -> str:
    """The URL of one page of a podcast's episodes.

    >>> api_url("https://prod.radio-api.net", "interconnects", 50)
    'https://prod.radio-api.net/podcasts/episodes/by-podcast-ids?podcastIds=interconnects&count=50&offset=50'
    """
    query = urlencode({"podcastIds": slug, "count": count, "offset": offset})
    return f"{api.rstrip('/')}/podcasts/episodes/by-podcast-ids?{query}"


def podcast_slug(url: str) -> str | None:
    """The podcast slug in a radio.net page URL (/podcast/<slug>), if any.

    >>> podcast_slug("https://www.radio.net/podcast/interconnects?x=1"), podcast_slug("https://www.radio.net/s/x")
    ('interconnects', None)
    """
    match = re.search(r"/podcast/([^/?#]+)", urlsplit(url).path)
    return match.group(1) if match else None


def check(location: str) -> str | None:
    """What is wrong with a radionet location: a URL must be a podcast page."""
    if location.startswith(("http://", "https://")) and not podcast_slug(location):
        return f"{location!r} is not a podcast page such as https://www.radio.net/podcast/<slug>"
    return None


def follow(first: Listing, source: Source, fetch: Fetch, context: ParseContext) -> Listing:
    """A page's listing completed from the episode API; a saved page (a path) is read alone."""
    api = source.options.get("api")
    slug = podcast_slug(source.location) if source.location.startswith(("http://", "https://")) else None
    if not api or not slug:
        return first
    return page_through(first, fetch, api, slug, context)


def page_through(
    first: Listing,
    fetch: Fetch,
    api: str,
    slug: str,
    context: ParseContext,
) -> Listing:
    """The page's listing completed with every episode the API pages hold.

    ``fetch`` returns the body of a URL (raising FetchError); paging stops at the
    total count, at an empty page, or after MAX_PAGES pages.
    """
    episodes = list(first.episodes)
    total = first.show.episode_count
    offset = 0
    for _ in range(MAX_PAGES):
        if total is not None and offset >= total:
            break
        page, page_total = parse_api(fetch(api_url(api, slug, offset)), context, offset)
        total = page_total if page_total is not None else total
        if not page:
            break
        episodes.extend(page)
        offset += len(page)
    else:
        context.warn(f"stopped paging after {MAX_PAGES} pages of the episode API")
    # The page and the API's first page overlap by design: keep each episode once.
    seen: set[str] = set()
    unique = []
    for episode in episodes:
        if episode.guid not in seen:
            seen.add(episode.guid)
            unique.append(episode)
    show = replace(first.show, episode_count=total)
    return Listing(show=show, episodes=unique, warnings=tuple(context.warnings))


def _episode(obj: Any, index: int, context: ParseContext) -> Episode:
    if not isinstance(obj, dict):
        raise ParseError(f"episode {index}: expected a JSON object, got {type(obj).__name__}")
    missing = [key for key in REQUIRED if obj.get(key) in (None, "")]
    if missing:
        raise ParseError(f"episode {index}: missing required field {', '.join(missing)}")
    url = resolve_url(context.location, str(obj["url"]))
    title = clean_text(str(obj["title"]))
    if not title:
        raise ParseError(f"episode {index}: empty title")
    published = parse_date(str(obj["publishDate"])) if obj.get("publishDate") not in (None, "") else None
    duration = obj.get("duration")
    seconds = (
        int(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0
        else None
    )
    description = obj.get("description")
    # The episode's own artwork, if the object has one; parentLogo* is the show's.
    image = resolve_url(
        context.location, next((obj[k] for k in ("logo630x630", "logo300x300") if isinstance(obj.get(k), str)), None)
    )
    return Episode(
        guid=derive_guid(context.show_id, url, None, title, published),
        title=title,
        guid_is_permalink=False,
        guid_derived=True,
        published=published,
        description=clean_description(description if isinstance(description, str) else None, context.strip, plain=True),
        enclosure=Enclosure(url, guess_type(None, url)) if url else None,
        duration=seconds,
        image=image,
    )


def _next_data(body: str) -> tuple[list[Mapping[str, Any]] | None, int | None]:
    try:
        document = json.loads(html.unescape(body) if body.lstrip().startswith("&") else body)
    except json.JSONDecodeError as exc:
        raise ParseError(f"the page's __NEXT_DATA__ is not JSON: {exc}") from exc
    data = _dig(document, "props", "pageProps", "data")
    if not isinstance(data, dict):
        return None, None
    episodes = data.get("episodes")
    total = data.get("totalCount") if isinstance(data.get("totalCount"), int) else None
    if isinstance(episodes, dict):
        total = episodes.get("totalCount") if isinstance(episodes.get("totalCount"), int) else total
        episodes = episodes.get("episodes")
    if not isinstance(episodes, list):
        return None, None
    return episodes, total


def _embedded(scripts: list[tuple[str, str]]) -> tuple[list[Mapping[str, Any]] | None, int | None]:
    """Episode arrays inside script text, plain or escaped inside a JS string."""
    for text in _script_texts(scripts):
        for match in _EPISODES_KEY.finditer(text):
            try:
                value, _ = json.JSONDecoder().raw_decode(text, match.end() - 1)
            except json.JSONDecodeError:
                continue
            if isinstance(value, list) and all(isinstance(v, dict) and "title" in v for v in value):
                total = _TOTAL_KEY.search(text)
                return value, int(total.group(1)) if total else None
    return None, None


def _script_texts(scripts: list[tuple[str, str]]) -> Iterator[str]:
    for _, body in scripts:
        if '"episodes"' in body:
            yield body
        if '\\"episodes\\"' in body:
            for literal in _JS_STRING.findall(body):
                if '\\"episodes\\"' in literal:
                    try:
                        yield json.loads(f'"{literal}"')
                    except json.JSONDecodeError:
                        continue


def _series(scripts: list[tuple[str, str]]) -> dict[str, Any]:
    """The JSON-LD PodcastSeries object of the page, or {}."""
    for attrs, body in scripts:
        if "ld+json" not in attrs:
            continue
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            continue
        for node in _nodes(document):
            kind = node.get("@type")
            if kind == "PodcastSeries" or (isinstance(kind, list) and "PodcastSeries" in kind):
                return node
    return {}


def _nodes(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _nodes(item)
    elif isinstance(document, dict):
        yield document
        if "@graph" in document:
            yield from _nodes(document["@graph"])


def _dig(document: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _author(series: Mapping[str, Any]) -> str | None:
    author = series.get("author")
    if isinstance(author, list):
        author = author[0] if author else None
    if isinstance(author, dict):
        author = author.get("name")
    return clean_text(author) or None if isinstance(author, str) else None


def _image(series: Mapping[str, Any]) -> str | None:
    image = series.get("image")
    if isinstance(image, dict):
        image = image.get("url")
    return image if isinstance(image, str) else None


def _first_parent_title(objects: list[Mapping[str, Any]]) -> str | None:
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("parentTitle"), str):
            return clean_text(obj["parentTitle"]) or None
    return None


def _first_logo(objects: list[Mapping[str, Any]]) -> str | None:
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("parentLogo300x300"), str):
            return str(obj["parentLogo300x300"])
    return None


KIND = Kind(
    key="radionet",
    rank=2,
    parse=parse_page,
    options=(Option("api", "an api URL", "url", DEFAULT_API),),
    check=check,
    follow=follow,
)
