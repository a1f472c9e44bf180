"""The JSON stored in the ``episodes.data`` and ``shows.info`` columns, one codec per version.

Codec 3 (schema 4 on) is codec 2 plus ``extensions``, a list of XML strings, on
episodes and shows; a codec 2 row is a codec 3 row without them, so schema 4 rewrote
nothing. Codec 2 (schema 3) is keyed by field name all the way down (``"enclosure":
{"url": ..., "type": ...}``) and decodes through the model's constructors, so
reordering a model field cannot misread a stored row; fields at their default are
left out. Codec 1 (schema 1 and 2) wrote nested values as positional lists in the
field order of release 0.1; it is only decoded, by the migration to schema 3, with
that order written out here. A released codec is never edited: a new one gets a
new version, and a migration rewrites the rows.

orjson: a rendered feed decodes every row it shows, a refresh encodes every row it
writes, and orjson does both 4 to 20 times faster than the json module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from feedtool.model import Chapter, ChaptersLink, Enclosure, Episode, Owner, Person, ShowInfo, Transcript

#: The codec that the current schema writes.
VERSION = 3


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    # Empty strings are written: they decode as themselves, where a missing key is None.
    # (is_empty but for "", inline: called for every field of every row a refresh writes.)
    return {k: v for k, v in data.items() if v is not None and v != [] and v != ()}


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


# --- codec 2: keyed by field name -------------------------------------------------------


def _object(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def encode_episode(e: Episode) -> str:
    """An episode as compact JSON keyed by field name: the ``data`` column (codec 3)."""
    data = {
        "guid": e.guid,
        "title": e.title,
        "guid_is_permalink": e.guid_is_permalink,
        "guid_derived": e.guid_derived or None,
        "link": e.link,
        "published": _seconds(e.published),
        "description": e.description,
        "content": e.content,
        "enclosure": _object(url=e.enclosure.url, type=e.enclosure.type, length=e.enclosure.length)
        if e.enclosure
        else None,
        "duration": e.duration,
        "image": e.image,
        "episode": e.episode,
        "season": e.season,
        "episode_type": e.episode_type,
        "explicit": e.explicit,
        "author": e.author,
        "keywords": list(e.keywords),
        "categories": list(e.categories),
        "transcripts": [_object(url=t.url, type=t.type, language=t.language, rel=t.rel) for t in e.transcripts],
        "chapters_link": _object(url=e.chapters_link.url, type=e.chapters_link.type) if e.chapters_link else None,
        "chapters": [_object(start=c.start, title=c.title, href=c.href, image=c.image) for c in e.chapters],
        "persons": [_object(name=p.name, role=p.role, group=p.group, img=p.img, href=p.href) for p in e.persons],
        "extensions": list(e.extensions),
    }
    return dumps(_drop_empty(data))


_fromtimestamp = datetime.fromtimestamp
#: Nested values of one model class, and lists of them, by field name.
_ONE: tuple[tuple[str, Callable[..., Any]], ...] = (("enclosure", Enclosure), ("chapters_link", ChaptersLink))
_MANY: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("transcripts", Transcript),
    ("chapters", Chapter),
    ("persons", Person),
)


def decode_episode(text: str) -> Episode:
    """The inverse of encode_episode, through the model's constructors.

    The fast path: the stored keys are the constructor's keyword names, so the
    decoded object is handed to ``Episode(**d)`` as it is, after converting only
    the values JSON cannot hold (times, tuples, nested dataclasses); absent fields
    take the constructor's defaults.
    """
    d = orjson.loads(text)
    if (published := d.get("published")) is not None:
        d["published"] = _fromtimestamp(published, UTC)
    for name, one in _ONE:
        if (value := d.get(name)) is not None:
            d[name] = one(**value)
    for name, many in _MANY:
        if (values := d.get(name)) is not None:
            d[name] = tuple([many(**v) for v in values])
    if (keywords := d.get("keywords")) is not None:
        d["keywords"] = tuple(keywords)
    if (categories := d.get("categories")) is not None:
        d["categories"] = tuple(categories)
    if (extensions := d.get("extensions")) is not None:
        d["extensions"] = tuple(extensions)
    return Episode(**d)


def encode_show_info(info: ShowInfo) -> str:
    """Show metadata as JSON keyed by field name: the ``shows.info`` column (codec 3)."""
    data = {
        "title": info.title,
        "link": info.link,
        "description": info.description,
        "language": info.language,
        "image": info.image,
        "author": info.author,
        "owner": _object(name=info.owner.name, email=info.owner.email) if info.owner else None,
        "categories": [list(c) for c in info.categories],
        "explicit": info.explicit,
        "type": info.type,
        "podcast_guid": info.podcast_guid,
        "new_feed_url": info.new_feed_url,
        "episode_count": info.episode_count,
        "extensions": list(info.extensions),
    }
    return dumps(_drop_empty(data))


def decode_show_info(text: str) -> ShowInfo:
    """The inverse of encode_show_info."""
    d = orjson.loads(text)
    if (owner := d.get("owner")) is not None:
        d["owner"] = Owner(**owner)
    if (categories := d.get("categories")) is not None:
        d["categories"] = tuple(tuple(c) for c in categories)
    if (extensions := d.get("extensions")) is not None:
        d["extensions"] = tuple(extensions)
    return ShowInfo(**d)


# --- codec 1: positional nested values (schema 1 and 2), decoded by the migration only -----

#: The field order of each nested value as codec 1 wrote it (release 0.1's model).
_V1_FIELDS: dict[str, tuple[str, ...]] = {
    "enclosure": ("url", "type", "length"),
    "chapters_link": ("url", "type"),
    "transcripts": ("url", "type", "language", "rel"),
    "chapters": ("start", "title", "href", "image"),
    "persons": ("name", "role", "group", "img", "href"),
    "owner": ("name", "email"),
}


def _v1_keyed(name: str, value: Any) -> Any:
    """A codec 1 positional list keyed by its field names; a value already keyed is kept."""
    if not isinstance(value, list):
        return value
    return _object(**dict(zip(_V1_FIELDS[name], value, strict=False)))


def episode_v1_to_v2(text: str) -> str:
    """An episode's codec 1 JSON in codec 2: every nested list keyed by its field names."""
    d = orjson.loads(text)
    for name in ("enclosure", "chapters_link"):
        if d.get(name) is not None:
            d[name] = _v1_keyed(name, d[name])
    for name in ("transcripts", "chapters", "persons"):
        if d.get(name) is not None:
            d[name] = [_v1_keyed(name, v) for v in d[name]]
    return dumps(_drop_empty(d))


def show_info_v1_to_v2(text: str) -> str:
    """Show metadata's codec 1 JSON in codec 2."""
    d = orjson.loads(text)
    if d.get("owner") is not None:
        d["owner"] = _v1_keyed("owner", d["owner"])
    return dumps(_drop_empty(d))
