"""Pure merging: which stored episode an incoming item is, and which fields win.

Within one source, items are distinct unless they share a GUID. Across the sources
of one show, the same episode is recognized by, in order: the GUID; the enclosure
URL without tracking parameters; the normalized title with dates at most a day
apart. Each field is then taken from the most precise source that has it
(the source kind's ``rank``), and an episode's GUID never changes once stored.

A field's provenance is the key of the kind that supplied it (``{"title": "rss"}``);
ranks come in as data (kind key -> rank), so this module knows no kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TypeAlias, TypeVar

from feedtool.model import Episode, ShowInfo, is_empty
from feedtool.normalize.identity import enclosure_key, title_key

#: Titles match only when the dates are at most this far apart.
TITLE_WINDOW = timedelta(days=1)

#: Fields fixed when an episode is first stored: clients key downloads on them.
IDENTITY = frozenset({"guid", "guid_is_permalink", "guid_derived"})
MERGED_FIELDS = tuple(f.name for f in fields(Episode) if f.name not in IDENTITY)
#: Show fields merged across sources; the rest describe one source only.
SHOW_FIELDS = tuple(f.name for f in fields(ShowInfo) if f.name not in {"new_feed_url", "episode_count"})


#: A source of a show, as matching tells sources apart: (kind key, location).
SourceKey: TypeAlias = tuple[str, str]


@dataclass(frozen=True)
class Known:
    """What matching needs to know of a stored episode."""

    id: int
    guid: str
    enclosure_url: str | None
    title: str
    published: datetime | None
    sources: frozenset[SourceKey]  # the sources that have listed it


class EpisodeIndex:
    """The stored episodes of one show, indexed for matching incoming items.

    The fallback keys (enclosure, title) are made only when a fallback can match: an
    item's own source never matches by them, and most shows have one source, so a
    refresh of a 2,000-episode feed makes none (they were a third of its planning).
    """

    def __init__(self, known: Iterable[Known], links: Mapping[tuple[SourceKey, str], int]) -> None:
        self._known: dict[int, Known] = {}
        self._by_guid: dict[str, int] = {}
        self._by_enclosure: dict[str, list[int]] = {}
        self._by_title: dict[str, list[int]] = {}
        #: Episodes whose fallback keys are not in the index yet: (id, enclosure URL, title)
        #: as first known, in order; None once the index keeps its keys up to date.
        self._unkeyed: list[tuple[int, str | None, str]] | None = []
        #: How many known episodes each source has listed.
        self._listed: dict[SourceKey, int] = {}
        # (source, the item's GUID in that source) -> episode id
        self._links = dict(links)
        for item in known:
            self._add(item)
        for (_, guid), episode_id in self._links.items():
            self._by_guid.setdefault(guid, episode_id)

    def _add(self, item: Known) -> None:
        self._known[item.id] = item
        self._by_guid.setdefault(item.guid, item.id)
        for source in item.sources:
            self._listed[source] = self._listed.get(source, 0) + 1
        if self._unkeyed is None:
            self._key(item.id, item.enclosure_url, item.title)
        else:
            self._unkeyed.append((item.id, item.enclosure_url, item.title))

    def _key(self, episode_id: int, enclosure_url: str | None, title: str) -> None:
        key = enclosure_key(enclosure_url) if enclosure_url else None
        if key:
            self._by_enclosure.setdefault(key, []).append(episode_id)
        self._by_title.setdefault(title_key(title), []).append(episode_id)

    def match(self, source_id: SourceKey, episode: Episode) -> int | None:
        """The id of the stored episode this item is, or None for a new episode."""
        linked = self._links.get((source_id, episode.guid))
        if linked is not None:
            return linked
        by_guid = self._by_guid.get(episode.guid)
        if by_guid is not None:
            return by_guid
        # Fallbacks only join episodes that this source has not listed itself:
        # two items of one source with different GUIDs are two episodes.
        if self._listed.get(source_id, 0) == len(self._known):
            return None  # it has listed every one
        if self._unkeyed is not None:
            for unkeyed in self._unkeyed:
                self._key(*unkeyed)
            self._unkeyed = None
        key = enclosure_key(episode.enclosure.url) if episode.enclosure else None
        for candidate in self._by_enclosure.get(key, []) if key else []:
            if source_id not in self._known[candidate].sources:
                return candidate
        for candidate in self._by_title.get(title_key(episode.title), []):
            known = self._known[candidate]
            if source_id not in known.sources and _near(known.published, episode.published):
                return candidate
        return None

    def record(self, episode_id: int, source_id: SourceKey, stored: Episode, item_guid: str) -> None:
        """Remember that a source listed this episode under item_guid."""
        self._links[(source_id, item_guid)] = episode_id
        self._by_guid.setdefault(item_guid, episode_id)
        previous = self._known.get(episode_id)
        sources = (previous.sources if previous else frozenset()) | {source_id}
        item = Known(
            id=episode_id,
            guid=stored.guid,
            enclosure_url=stored.enclosure.url if stored.enclosure else None,
            title=stored.title,
            published=stored.published,
            sources=sources,
        )
        if previous is None:
            self._add(item)
        else:
            # Indexed under the keys it was first known by, as before.
            if source_id not in previous.sources:
                self._listed[source_id] = self._listed.get(source_id, 0) + 1
            self._known[episode_id] = item


def _near(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TITLE_WINDOW


T = TypeVar("T", Episode, ShowInfo)


def merge(
    stored: T | None,
    provenance: Mapping[str, str],
    incoming: T,
    kind: str,
    ranks: Mapping[str, int],
) -> tuple[T, dict[str, str]]:
    """The stored record updated with what an incoming one knows as precisely or better.

    Works on episodes and on show metadata. ``provenance`` names the kind that
    supplied each stored field, ``kind`` the incoming record's, and ``ranks`` how
    precise each kind is. A field is taken from the incoming record when it has the
    field and either the stored record lacks it or the stored value came from a kind
    no more precise. A value the incoming record lacks never erases a stored one
    (upstream windows drop data). An episode's identity fields never change.

    >>> ranks = {"listing": 1, "rss": 3}
    >>> old = Episode(guid="g", title="T", duration=540)
    >>> new = Episode(guid="x", title="T", duration=545)
    >>> merged, provenance = merge(old, {"title": "listing", "duration": "listing"}, new, "rss", ranks)
    >>> merged.guid, merged.duration, provenance["duration"]
    ('g', 545, 'rss')
    """
    names = MERGED_FIELDS if isinstance(incoming, Episode) else SHOW_FIELDS
    if stored is None:
        return incoming, {name: kind for name in names if not is_empty(getattr(incoming, name))}
    rank = ranks[kind]
    changes = {}
    new_provenance = dict(provenance)
    for name in names:
        value = getattr(incoming, name)
        if is_empty(value):
            continue
        current = getattr(stored, name)
        supplier = provenance.get(name)
        if is_empty(current) or rank >= (0 if supplier is None else ranks.get(supplier, 0)):
            if value != current:
                changes[name] = value
            new_provenance[name] = kind
    return (replace(stored, **changes) if changes else stored), new_provenance
