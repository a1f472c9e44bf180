"""Pure merging: which stored episode an incoming item is, and which fields win.

Within one source, items are distinct unless they share a GUID. Across the sources
of one show, the same episode is recognized by, in order: the GUID; the enclosure
URL without tracking parameters; the normalized title with dates at most a day
apart. Each field is then taken from the most precise source that has it
(the source kind's ``rank``), and an episode's GUID never changes once stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TypeVar

from feedtool.model import Episode, ShowInfo
from feedtool.normalize import enclosure_key, title_key

#: Titles match only when the dates are at most this far apart.
TITLE_WINDOW = timedelta(days=1)

#: Fields fixed when an episode is first stored: clients key downloads on them.
IDENTITY = frozenset({"guid", "guid_is_permalink", "guid_derived"})
MERGED_FIELDS = tuple(f.name for f in fields(Episode) if f.name not in IDENTITY)
#: Show fields merged across sources; the rest describe one source only.
SHOW_FIELDS = tuple(f.name for f in fields(ShowInfo) if f.name not in {"new_feed_url", "episode_count"})


@dataclass(frozen=True)
class Known:
    """What matching needs to know of a stored episode."""

    id: int
    guid: str
    enclosure_key: str | None
    title_key: str
    published: datetime | None
    sources: frozenset[int]  # ids of the sources that have listed it


class EpisodeIndex:
    """The stored episodes of one show, indexed for matching incoming items."""

    def __init__(self, known: Iterable[Known], links: Mapping[tuple[int, str], int]) -> None:
        self._known: dict[int, Known] = {}
        self._by_guid: dict[str, int] = {}
        self._by_enclosure: dict[str, list[int]] = {}
        self._by_title: dict[str, list[int]] = {}
        # (source id, the item's GUID in that source) -> episode id
        self._links = dict(links)
        for item in known:
            self._add(item)
        for (_, guid), episode_id in self._links.items():
            self._by_guid.setdefault(guid, episode_id)

    def _add(self, item: Known) -> None:
        self._known[item.id] = item
        self._by_guid.setdefault(item.guid, item.id)
        if item.enclosure_key:
            self._by_enclosure.setdefault(item.enclosure_key, []).append(item.id)
        self._by_title.setdefault(item.title_key, []).append(item.id)

    def match(self, source_id: int, episode: Episode) -> int | None:
        """The id of the stored episode this item is, or None for a new episode."""
        linked = self._links.get((source_id, episode.guid))
        if linked is not None:
            return linked
        by_guid = self._by_guid.get(episode.guid)
        if by_guid is not None:
            return by_guid
        # Fallbacks only join episodes that this source has not listed itself:
        # two items of one source with different GUIDs are two episodes.
        key = enclosure_key(episode.enclosure.url) if episode.enclosure else None
        for candidate in self._by_enclosure.get(key, []) if key else []:
            if source_id not in self._known[candidate].sources:
                return candidate
        for candidate in self._by_title.get(title_key(episode.title), []):
            known = self._known[candidate]
            if source_id not in known.sources and _near(known.published, episode.published):
                return candidate
        return None

    def record(self, episode_id: int, source_id: int, stored: Episode, item_guid: str) -> None:
        """Remember that a source listed this episode under item_guid."""
        self._links[(source_id, item_guid)] = episode_id
        self._by_guid.setdefault(item_guid, episode_id)
        previous = self._known.get(episode_id)
        sources = (previous.sources if previous else frozenset()) | {source_id}
        item = Known(
            id=episode_id,
            guid=stored.guid,
            enclosure_key=enclosure_key(stored.enclosure.url) if stored.enclosure else None,
            title_key=title_key(stored.title),
            published=stored.published,
            sources=sources,
        )
        if previous is None:
            self._add(item)
        else:
            self._known[episode_id] = item


def _near(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TITLE_WINDOW


def _present(value: object) -> bool:
    return value is not None and value != () and value != ""


T = TypeVar("T", Episode, ShowInfo)


def merge(
    stored: T | None,
    ranks: Mapping[str, int],
    incoming: T,
    rank: int,
) -> tuple[T, dict[str, int]]:
    """The stored record updated with what an incoming one knows as precisely or better.

    Works on episodes and on show metadata. A field is taken from the incoming
    record when it has the field and either the stored record lacks it or the
    stored value came from a source no more precise. A value the incoming record
    lacks never erases a stored one (upstream windows drop data). An episode's
    identity fields never change.

    >>> old = Episode(guid="g", title="T", duration=540)
    >>> merged, ranks = merge(old, {"title": 1, "duration": 1}, Episode(guid="x", title="T", duration=545), 3)
    >>> merged.guid, merged.duration, ranks["duration"]
    ('g', 545, 3)
    """
    names = MERGED_FIELDS if isinstance(incoming, Episode) else SHOW_FIELDS
    if stored is None:
        return incoming, {name: rank for name in names if _present(getattr(incoming, name))}
    changes = {}
    new_ranks = dict(ranks)
    for name in names:
        value = getattr(incoming, name)
        if not _present(value):
            continue
        current = getattr(stored, name)
        if not _present(current) or rank >= ranks.get(name, 0):
            if value != current:
                changes[name] = value
            new_ranks[name] = rank
    return (replace(stored, **changes) if changes else stored), new_ranks
