"""The pages for people (issue 15): a show's episode browser and an episode's page.

The browser's query is a feed's query: it is parsed by the feeds' ``parse_filter``
and its episodes are ``Publisher.episodes``, the list the feed renders, cut into
pages of ``PAGE_SIZE``. ``page`` and ``key`` are not filter parameters. The form's
controls are named as the feed's parameters, and the subscribe URLs' query is the
form's own serialisation (document order, empty values dropped), so that submitting
the form gives a page whose URL's query is its feed's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from feedtool import __version__
from feedtool.errors import FilterError
from feedtool.filters import PARAMS, REGEX_PARAMS, Filter, parse_filter
from feedtool.normalize.identity import slugify
from feedtool.normalize.text import html_to_text, sanitize_html
from feedtool.publish import FORMATS, Publisher
from feedtool.render import html, qr

PAGE_SIZE = 50
#: Filter parameters the form has no visible control for: carried as hidden inputs.
HIDDEN_PARAMS = ("limit", *REGEX_PARAMS, "filter_time", "filter_case_sensitive")
#: Controls with one text value, in the form's document order.
_TEXT_CONTROLS = ("q", "since", "until", "min_duration", "max_duration")

Query = list[tuple[str, str]]


class UnknownPage(LookupError):
    """No such show or episode, or a private one without a valid key: one 404 for all."""


@dataclass(frozen=True)
class Request:
    """What a page is asked with: the show, the query's pairs in order, where it is served."""

    show_id: str
    pairs: Sequence[tuple[str, str]]
    base_url: str  # absolute, for subscribe URLs and the QR code
    root: str  # the app's path prefix, for links between pages
    listener: str | None
    key: str | None


def blank_params(pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether a query holds an empty value (an empty form control): such a URL is redirected."""
    return any(not value.strip() for _, value in pairs)


def without_blanks(pairs: Sequence[tuple[str, str]]) -> Query:
    """The query without its empty values, in order."""
    return [(name, value) for name, value in pairs if value.strip()]


def readable_show(publisher: Publisher, show_id: str, listener: str | None) -> bool:
    """Whether a show's pages are served to this listener (None: the public)."""
    if show_id not in publisher.config.shows:
        return False
    feed = publisher.config.feed(show_id)
    return feed is not None and feed.readable_by(listener)


def etag(publisher: Publisher, kind: str, req: Request) -> str:
    """A page's strong ETag, known before rendering: the show's store version, the
    config, the query (without the key) and whose page it is."""
    version, _ = publisher.store.version(req.show_id)
    query = urlencode([(k, v) for k, v in req.pairs if k != "key"])
    config, store = publisher.config.digest, publisher.store.identity()
    parts = (kind, __version__, config, store, req.show_id, str(version), req.base_url, req.root, query)
    digest = hashlib.sha256("\0".join((*parts, req.listener or "")).encode()).hexdigest()
    return f'"{digest[:32]}"'


def browser(publisher: Publisher, req: Request) -> tuple[int, bytes]:
    """The show's episode browser as (status, HTML): 200, or 400 with the filter's error in the form."""
    if not readable_show(publisher, req.show_id, req.listener):
        raise UnknownPage(req.show_id)
    key = req.key if publisher.config.shows[req.show_id].private else None
    show_id = req.show_id
    info = publisher.show_info(show_id)
    known = _known_tags(publisher, show_id)
    values = {name: [v.strip() for k, v in req.pairs if k == name] for name in PARAMS}
    error: str | None = None
    episodes = []
    page, pages = 1, 1
    try:
        flt = parse_filter(values)
        publisher.check_tags(show_id, flt, known)
        everything = publisher.episodes(show_id, flt)
        pages = max(1, -(-len(everything) // PAGE_SIZE))
        page = _page_number([v for k, v in req.pairs if k == "page"], pages)
        episodes = everything[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        count = len(everything)
    except FilterError as exc:
        error, count, flt = str(exc), 0, Filter()
    checked = _checked(values["tag"])
    dropped = _checked(values["exclude_tag"])
    # As parse_filter reads them: every ``q``, the last of the others.
    text = {name: (values[name][-1] if values[name] else "") for name in _TEXT_CONTROLS}
    text["q"] = " ".join(values["q"])
    hidden = [(name, values[name][-1]) for name in HIDDEN_PARAMS if values[name]]
    sort = "oldest" if (values["sort"][-1:] or [""])[0] == "oldest" else ""
    # The form's serialisation, in the template's document order: the feed's query.
    query: Query = [
        *(("tag", t) for t in known if t in checked),
        *(("exclude_tag", t) for t in known if t in dropped),
        *((name, text[name]) for name in _TEXT_CONTROLS if text[name]),
        *([("sort", sort)] if sort else []),
        *hidden,
    ]
    also = _describe_hidden(hidden)
    keyq = [("key", key)] if key else []
    keyed = [*query, *keyq]
    page_url = f"{req.root}/shows/{show_id}"
    urls = {fmt: f"{req.base_url}/feeds/{show_id}.{fmt}" + (f"?{urlencode(keyed)}" if keyed else "") for fmt in FORMATS}
    model = html.BrowserPage(
        root=req.root,
        key=key,
        show_id=show_id,
        title=publisher.title(show_id, info),
        description=html_to_text(info.description or ""),
        artwork=html.web_url(info.image),
        action=page_url,
        error=error,
        tags=[html.TagChoice(t, n, t in checked, t in dropped) for t, n in known.items()],
        text=text,
        since_is_date=_is_date(text["since"]),
        until_is_date=_is_date(text["until"]),
        sort=sort,
        hidden=hidden,
        also=also,
        count=count,
        page=page,
        pages=pages,
        first=(page - 1) * PAGE_SIZE + 1,
        episodes=episodes,
        episode_url=lambda eid: f"{page_url}/episodes/{eid}" + _query(keyq),
        page_url=lambda n: page_url + _query([*query, *([("page", str(n))] if n > 1 else []), *keyq]),
        feeds=urls if error is None else {},
        qr=qr.svg(urls["rss"]) if error is None else "",
        apps=[] if error is not None else app_links(urls["rss"], private=key is not None),
        private=key is not None,
    )
    return (400 if error else 200), html.render_browser(model)


def episode_page(publisher: Publisher, req: Request, episode_id: int) -> bytes:
    """One episode's page: its show notes, an audio player, its date, length and tags."""
    if not readable_show(publisher, req.show_id, req.listener):
        raise UnknownPage(req.show_id)
    stored = publisher.store.episode(req.show_id, episode_id)
    if stored is None:
        raise UnknownPage(f"{req.show_id}/{episode_id}")
    key = req.key if publisher.config.shows[req.show_id].private else None
    keyq = [("key", key)] if key else []
    browser_url = f"{req.root}/shows/{req.show_id}"
    data = stored.data
    model = html.EpisodePage(
        root=req.root,
        key=key,
        show_title=publisher.title(req.show_id),
        browser_url=browser_url + _query(keyq),
        episode=stored,
        notes=sanitize_html(data.content or data.description or ""),
        audio=html.web_url(data.enclosure.url if data.enclosure else None),
        link=html.web_url(data.link),
        tag_urls={t: browser_url + _query([("tag", t), *keyq]) for t in stored.tags},
        private=key is not None,
    )
    return html.render_episode(model)


def app_links(rss_url: str, private: bool) -> list[html.AppLink]:
    """One-tap subscribe links, only for apps whose own code or documentation takes a
    feed URL this way (see README, "Pages for people").

    >>> for link in app_links("https://f.example/feeds/s.rss?tag=a", private=False):
    ...     print(link.href)
    https://antennapod.org/deeplink/subscribe?url=https%3A%2F%2Ff.example%2Ffeeds%2Fs.rss%3Ftag%3Da
    pktc://subscribehttps/f.example/feeds/s.rss?tag=a
    pktc://subscribe/https://f.example/feeds/s.rss?tag=a
    gpodder:https://f.example/feeds/s.rss?tag=a
    """
    scheme, rest = rss_url.split("://", 1)
    links = [
        html.AppLink(
            "antennapod",
            "AntennaPod (Android)",
            f"https://antennapod.org/deeplink/subscribe?url={quote(rss_url, safe='')}",
        )
    ]
    if not private:
        # Pocket Casts subscribes through its own servers: a private feed's key would go there.
        android = f"pktc://subscribehttps/{rest}" if scheme == "https" else f"pktc://subscribe/{rest}"
        links.append(html.AppLink("pocketcasts-android", "Pocket Casts (Android)", android))
        links.append(html.AppLink("pocketcasts-ios", "Pocket Casts (iPhone, iPad)", f"pktc://subscribe/{rss_url}"))
    links.append(html.AppLink("gpodder", "gPodder (desktop)", f"gpodder:{rss_url}"))
    return links


def _known_tags(publisher: Publisher, show_id: str) -> dict[str, int]:
    """The show's tags with their episode counts, most used first, then its rules' unused tags."""
    counts = publisher.store.tag_counts(show_id)
    for rule in publisher.config.shows[show_id].tags:
        counts.setdefault(rule.name, 0)
    return counts


def _checked(values: list[str]) -> set[str]:
    return {slugify(part) for value in values for part in value.split(",") if part.strip()}


def _is_date(value: str) -> bool:
    """Whether a date control can hold the value (a browser drops anything but YYYY-MM-DD)."""
    return value == "" or (
        len(value) == 10 and value[4] == "-" and value[7] == "-" and value.replace("-", "").isdigit()
    )


def _describe_hidden(hidden: Query) -> str:
    try:
        return parse_filter({name: [value] for name, value in hidden}).describe()
    except FilterError:
        return ""  # the error itself is shown in the form


def _page_number(values: list[str], pages: int) -> int:
    value = values[-1].strip() if values else "1"
    if not value.isdecimal() or len(value) > 9 or not 1 <= int(value) <= pages:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise FilterError("page", shown, f"a page number from 1 to {pages}")
    return int(value)


def _query(pairs: Query) -> str:
    return f"?{urlencode(pairs)}" if pairs else ""
