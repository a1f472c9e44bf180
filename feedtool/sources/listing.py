"""A podcast listing page saved as text (radio.net and its sister sites) -> Listing.

The text has a header (breadcrumbs, show title, author, episode count), then one
block per episode::

      • <show name>

        <episode title>

        26/05/2026 | 9 mins.
        <description, one paragraph per line>

then the show's "About <show>" text ending with its website. Episodes have no audio
file and no GUID; feedtool derives one from the show, title and date.

The ``listing`` kind: no options, no paging; its fields are the least precise (rank 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from feedtool.errors import ParseError
from feedtool.model import Episode, Listing, ShowInfo
from feedtool.normalize import clean_description, clean_text, derive_guid, parse_date, parse_duration
from feedtool.sources.base import Kind
from feedtool.sources.common import ParseContext, unique_by_guid

_BULLET = re.compile(r"^\s*[•·*]\s+(?P<text>.+?)\s*$")
_DATE_LINE = re.compile(r"^\s*(?P<date>\d{1,2}[/.]\d{1,2}[/.]\d{4})\s*\|\s*(?P<duration>.*?)\s*$")
_COUNT = re.compile(
    r"^\s*(?P<count>\d[\d.,]*)\s+(?:episodes?|folgen|épisodes?|episodi|episodios|afleveringen)\s*$", re.I
)
_ABOUT = re.compile(r"^(?:About|Über|À propos de|Informazioni su|Acerca de|Over)\s+(?P<show>.+)$")
_DOMAIN = re.compile(r"(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/\S*)?$", re.I)
_HEADER_NOISE = {"latest episode", "neueste folge", "dernier épisode", "ultimo episodio", "último episodio"}


def parse(data: bytes, context: ParseContext) -> Listing:
    """Parse a saved listing page."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"a listing page must be UTF-8 text: {exc}") from exc
    if text.lstrip().startswith("<"):
        raise ParseError("markup, not a listing page saved as text")
    lines = text.splitlines()
    starts = [i for i in range(len(lines)) if _episode_at(lines, i) is not None]
    if not starts:
        raise ParseError("no episodes found: expected bullet lines with a title and a 'DD/MM/YYYY | N mins.' line")
    show = _header(lines[: starts[0]], lines, starts)
    episodes = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        episode = _episode(lines, start, end, context)
        if episode is not None:
            episodes.append(episode)
    about, website = _about(lines[starts[-1] :], show.title)
    info = ShowInfo(
        title=show.title,
        link=website,
        description=clean_description(about, plain=True),
        author=show.author,
        categories=show.categories,
        episode_count=show.episode_count,
    )
    return Listing(show=info, episodes=unique_by_guid(episodes, context), warnings=tuple(context.warnings))


def _next_content(lines: Sequence[str], index: int) -> int | None:
    """Index of the first non-blank line at or after index."""
    while index < len(lines):
        if lines[index].strip():
            return index
        index += 1
    return None


def _episode_at(lines: Sequence[str], index: int) -> tuple[int, int] | None:
    """(title line, date line) when an episode block starts at this bullet line."""
    if not _BULLET.match(lines[index]):
        return None
    title = _next_content(lines, index + 1)
    if title is None or _BULLET.match(lines[title]):
        return None
    date = _next_content(lines, title + 1)
    if date is None or not _DATE_LINE.match(lines[date]):
        return None
    return title, date


def _episode(lines: Sequence[str], start: int, end: int, context: ParseContext) -> Episode | None:
    found = _episode_at(lines, start)
    assert found is not None  # starts are only taken where an episode begins
    title_at, date_at = found
    title = clean_text(lines[title_at])
    match = _DATE_LINE.match(lines[date_at])
    assert match is not None
    published = parse_date(match.group("date"))
    if published is None:
        context.warn(f"episode {title!r}: unreadable date {match.group('date')!r}")
    duration = parse_duration(match.group("duration"))
    if match.group("duration") and duration is None:
        context.warn(f"episode {title!r}: unreadable duration {match.group('duration')!r}")
    # The description is the indented text after the date line; the page's own
    # footer (unindented) ends the last episode.
    body = []
    for line in lines[date_at + 1 : end]:
        if line.strip() and not line[:1].isspace():
            break
        body.append(line)
    return Episode(
        guid=derive_guid(context.show_id, None, None, title, published),
        title=title,
        guid_is_permalink=False,
        guid_derived=True,
        published=published,
        description=clean_description("\n".join(body), context.strip, plain=True),
        duration=duration,
    )


class _Header:
    def __init__(self) -> None:
        self.title: str | None = None
        self.author: str | None = None
        self.categories: tuple[tuple[str, ...], ...] = ()
        self.episode_count: int | None = None


def _header(header: Sequence[str], lines: Sequence[str], starts: Sequence[int]) -> _Header:
    """Show title (as every episode bullet names it), author, category and count."""
    result = _Header()
    bullet = _BULLET.match(lines[starts[0]])
    result.title = clean_text(bullet.group("text")) if bullet else None
    content = [line.strip() for line in header if line.strip()]
    for line in content:
        if m := _COUNT.match(line):
            result.episode_count = int(re.sub(r"[.,]", "", m.group("count")))
    # Line 1 is the breadcrumb trail run together: "Podcasts" + category + title.
    if content and result.title and content[0].endswith(result.title):
        trail = content[0][: -len(result.title)]
        category = trail.removeprefix("Podcasts").strip()
        if category:
            result.categories = ((category,),)
    for line in content[1:]:
        if line == result.title or line.lower() in _HEADER_NOISE or _COUNT.match(line):
            continue
        result.author = clean_text(line)
        break
    return result


def _about(tail: Sequence[str], title: str | None) -> tuple[str | None, str | None]:
    """The show's "About" text and its website, from the page's footer."""
    for index, line in enumerate(tail):
        match = _ABOUT.match(line.strip())
        if match and (title is None or match.group("show").strip() == title):
            about = next((t.strip() for t in tail[index + 1 :] if t.strip()), None)
            if about is None:
                return None, None
            last = about.split()[-1] if about.split() else ""
            website = None
            if _DOMAIN.fullmatch(last):
                website = last if last.startswith("http") else f"https://{last}"
            return about, website
    return None, None


KIND = Kind(key="listing", rank=1, parse=parse)
