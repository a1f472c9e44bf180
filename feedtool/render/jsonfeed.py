"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), enclosures as attachments.

What JSON Feed has no field for goes where its spec allows extensions: objects whose
names start with an underscore (``_itunes``, ``_podcast``, ``_podlove``), on the feed
and on items, each with an ``about`` URL naming the namespace it carries. Inside
them, the names are the XML elements' (``episodeType``, ``transcripts`` for the
repeated ``podcast:transcript``); unknown values are left out, never null.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from feedtool.model import Episode, ShowInfo
from feedtool.namespaces import ITUNES, PODCAST, PSC
from feedtool.normalize.dates import format_iso
from feedtool.render import FeedDocument, enclosure_type

CONTENT_TYPE = "application/feed+json; charset=utf-8"
VERSION = "https://jsonfeed.org/version/1.1"


def render(document: FeedDocument) -> bytes:
    """The document as a JSON Feed."""
    info = document.info
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": document.title,
        "home_page_url": document.home_url,
        "feed_url": document.self_url,
        "description": document.description,
    }
    if info.image:
        feed["icon"] = info.image
    if info.author:
        feed["authors"] = [{"name": info.author}]
    if info.language:
        feed["language"] = info.language
    _extend(feed, "_itunes", ITUNES, _show_itunes(info))
    _extend(feed, "_podcast", PODCAST, {"guid": document.podcast_guid})
    items = []
    for stored in document.episodes:
        e = stored.data
        item: dict[str, Any] = {"id": e.guid, "title": e.title}
        if e.link:
            item["url"] = e.link
        item["content_html"] = e.content or e.description or ""
        if e.description and e.content:
            item["summary"] = e.description
        if e.image:
            item["image"] = e.image
        item["date_published"] = format_iso(stored.sort_time)
        if e.author:
            item["authors"] = [{"name": e.author}]
        if stored.tags:
            item["tags"] = list(stored.tags)
        if e.enclosure is not None:
            attachment: dict[str, Any] = {
                "url": e.enclosure.url,
                "mime_type": enclosure_type(e.enclosure.type),
            }
            if e.enclosure.length:
                attachment["size_in_bytes"] = e.enclosure.length
            if e.duration is not None:
                attachment["duration_in_seconds"] = e.duration
            item["attachments"] = [attachment]
        _extend(item, "_itunes", ITUNES, _episode_itunes(e))
        _extend(item, "_podcast", PODCAST, _episode_podcast(e))
        _extend(item, "_podlove", PSC, {"chapters": [_known(asdict(c)) for c in e.chapters]})
        items.append(item)
    feed["items"] = items
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def _known(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that say something: no None, no empty string or list."""
    return {k: v for k, v in fields.items() if v is not None and v != "" and v != [] and v != {}}


def _extend(parent: dict[str, Any], name: str, about: str, fields: dict[str, Any]) -> None:
    known = _known(fields)
    if known:
        parent[name] = {"about": about, **known}


def _show_itunes(info: ShowInfo) -> dict[str, Any]:
    owner = _known(asdict(info.owner)) if info.owner else {}
    return {
        "author": info.author,
        "image": info.image,
        "owner": owner,
        "categories": [list(c) for c in info.categories],
        "explicit": info.explicit,
        "type": info.type,
    }


def _episode_itunes(e: Episode) -> dict[str, Any]:
    return {
        "duration": e.duration,
        "episode": e.episode,
        "season": e.season,
        "episodeType": e.episode_type,
        "explicit": e.explicit,
        "keywords": list(e.keywords),
    }


def _episode_podcast(e: Episode) -> dict[str, Any]:
    return {
        "transcripts": [_known(asdict(t)) for t in e.transcripts],
        "chapters": _known(asdict(e.chapters_link)) if e.chapters_link else None,
        "persons": [_known(asdict(p)) for p in e.persons],
    }
