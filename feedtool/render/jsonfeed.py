"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), enclosures as attachments."""

from __future__ import annotations

import json
from typing import Any

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
        items.append(item)
    feed["items"] = items
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")
