"""The update step, pure: what storing one source's listing, or new rules, changes.

Given what the store holds of a show (``ShowState``), one source's parsed listing, the
show's rules and how precise each source kind is, ``plan_listing`` decides which
episodes are new, which change and how (merged field by field, tagged, with their
search text), how the show's metadata merges, and what to note of the source. The
store applies the ``Plan`` in one transaction. ``plan_retag`` does the same for rules
that changed: every stored episode stripped and tagged again. No I/O here: this
module is tested with plain values (in the spirit of lemon24/reader's ``_update``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from feedtool.merge import EpisodeIndex, Known, SourceKey, merge
from feedtool.model import Episode, Listing, Rules, ShowInfo
from feedtool.normalize.text import strip_boilerplate
from feedtool.tags import description_text, tag_episode


@dataclass(frozen=True, slots=True)
class Record:
    """A stored episode, as matching and merging need it."""

    id: int
    episode: Episode
    provenance: Mapping[str, str]  # field -> the kind key that supplied it
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShowState:
    """What the store holds of one show: its episodes, which source listed which, its metadata."""

    show_id: str
    records: Mapping[int, Record] = field(default_factory=dict)
    #: (source, the item's GUID in that source) -> episode id
    links: Mapping[tuple[SourceKey, str], int] = field(default_factory=dict)
    info: ShowInfo = field(default_factory=ShowInfo)
    info_provenance: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Row:
    """An episode as the store writes it: merged, with its provenance, tags and search text."""

    episode: Episode
    provenance: Mapping[str, str]
    tags: tuple[str, ...]
    #: Upstream categories and the tags, for the filter_category parameters.
    categories: tuple[str, ...]
    #: Each distinct casefolded word of the title and text once, for ``q``.
    search: str


@dataclass(frozen=True)
class FetchMeta:
    """What a successful fetch tells the store about its source."""

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    permanent_redirect: str | None = None


@dataclass(frozen=True)
class Counts:
    """What storing one source's listing changed."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)


@dataclass(frozen=True)
class Plan:
    """What storing one source's listing changes, for the store to apply in one transaction.

    New episodes have provisional ids below zero, in listing order; ``links`` and
    ``inserts`` refer to them by those ids until the store gives them real ones.
    """

    show_id: str
    source: SourceKey
    inserts: tuple[tuple[int, Row], ...] = ()
    updates: tuple[tuple[int, Row], ...] = ()
    #: (the item's GUID in this source, episode id): links the store does not have yet.
    links: tuple[tuple[str, int], ...] = ()
    #: The show's merged metadata and its provenance, when they changed.
    info: tuple[ShowInfo, Mapping[str, str]] | None = None
    new_feed_url: str | None = None
    episode_count: int = 0
    counts: Counts = field(default_factory=Counts)

    @property
    def changed(self) -> bool:
        """Whether the show's feeds change: its version is bumped."""
        return self.counts.changed or self.info is not None


def row(episode: Episode, provenance: Mapping[str, str], rules: Rules) -> Row:
    """An episode with its tags, categories and search text under a show's rules."""
    text = description_text(episode)
    tags = tag_episode(episode, rules.tags, text)
    return Row(
        episode=episode,
        provenance=provenance,
        tags=tags,
        categories=(*episode.categories, *tags),
        # Each distinct word once: `q` looks for words (no spaces), so any one of
        # them is in the text exactly when it is in this list, a third its size.
        search=" ".join(dict.fromkeys(f"{episode.title} {text}".casefold().split())),
    )


def plan_listing(
    state: ShowState,
    listing: Listing,
    source: SourceKey,
    rules: Rules,
    ranks: Mapping[str, int],
) -> Plan:
    """What storing one source's listing changes in a show.

    ``source`` is (kind key, location); ``ranks`` maps each kind key to its rank.
    Each item is matched to a stored episode (or one this listing added before it),
    merged into it, and counted as new, updated or unchanged.
    """
    kind = source[0]
    index = _index(state)
    current: dict[int, tuple[Episode, Mapping[str, str]]] = {
        episode_id: (record.episode, record.provenance) for episode_id, record in state.records.items()
    }
    touched: dict[int, None] = {}  # ids to write, in the order first touched
    links: dict[tuple[str, int], None] = {}
    # One listing's provenances repeat: a 100,000-item feed needs a few, not 100,000 dicts.
    shared: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
    new = updated = unchanged = 0
    next_id = -1
    for episode in listing.episodes:
        episode_id = index.match(source, episode)
        if episode_id is None:
            episode_id, next_id = next_id, next_id - 1
            stored, provenance = merge(None, {}, episode, kind, ranks)
            touched[episode_id] = None
            new += 1
        else:
            old, old_provenance = current[episode_id]
            stored, provenance = merge(old, old_provenance, episode, kind, ranks)
            if stored != old or provenance != old_provenance:
                touched[episode_id] = None
                updated += stored != old
                unchanged += stored == old
            else:
                unchanged += 1
        current[episode_id] = (stored, shared.setdefault(tuple(provenance.items()), provenance))
        if (source, episode.guid) not in state.links:
            links.setdefault((episode.guid, episode_id), None)
        index.record(episode_id, source, stored, episode.guid)
    del index, shared  # before the rows are made: a large listing's peak memory
    inserts = tuple((i, row(*current[i], rules)) for i in touched if i < 0)
    updates = tuple((i, row(*current[i], rules)) for i in touched if i >= 0)
    info, info_provenance = merge(state.info, state.info_provenance, listing.show, kind, ranks)
    return Plan(
        show_id=state.show_id,
        source=source,
        inserts=inserts,
        updates=updates,
        links=tuple(links),
        info=None if info == state.info else (info, info_provenance),
        new_feed_url=listing.show.new_feed_url,
        episode_count=len(listing.episodes),
        counts=Counts(new=new, updated=updated, unchanged=unchanged),
    )


def plan_retag(records: Sequence[Record], rules: Rules) -> tuple[tuple[int, Row], ...]:
    """The stored episodes that a show's current rules strip or tag differently, rewritten.

    Runs when the rules in config.yaml changed since the last refresh, so that
    episodes no longer in any source are tagged by the same rules.
    """
    changed = []
    for record in records:
        episode = _restrip(record.episode, rules) if rules.strip else record.episode
        updated = row(episode, record.provenance, rules)
        if episode != record.episode or updated.tags != record.tags:
            changed.append((record.id, updated))
    return tuple(changed)


def _index(state: ShowState) -> EpisodeIndex:
    sources: dict[int, set[SourceKey]] = {}
    for (source, _), episode_id in state.links.items():
        sources.setdefault(episode_id, set()).add(source)
    known = [
        Known(
            id=record.id,
            guid=record.episode.guid,
            enclosure_url=record.episode.enclosure.url if record.episode.enclosure else None,
            title=record.episode.title,
            published=record.episode.published,
            sources=frozenset(sources.get(record.id, ())),
        )
        for record in state.records.values()
    ]
    return EpisodeIndex(known, state.links)


def _restrip(episode: Episode, rules: Rules) -> Episode:
    about = f"the notes of episode {episode.title[:80]!r}"  # named when a rule runs out of time
    return replace(
        episode,
        description=strip_boilerplate(episode.description, rules.strip, about) or None if episode.description else None,
        content=strip_boilerplate(episode.content, rules.strip, about) or None if episode.content else None,
    )
