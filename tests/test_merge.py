"""Which stored episode an item is, across and within sources, and which fields win."""

from __future__ import annotations

from datetime import UTC, datetime

from feedtool.merge import EpisodeIndex, Known, merge
from feedtool.model import Enclosure, Episode
from feedtool.sources import KINDS

DAY = datetime(2026, 5, 26, 10, tzinfo=UTC)
RSS, LISTING = 1, 2  # source ids


def known(id: int, guid: str, *, url: str | None = None, title: str = "T", published: datetime | None = DAY,
          sources: frozenset[int] = frozenset()) -> Known:  # fmt: skip
    from feedtool.normalize import enclosure_key, title_key

    return Known(id, guid, enclosure_key(url), title_key(title), published, sources)


def episode(guid: str, title: str = "T", url: str | None = None, published: datetime | None = DAY) -> Episode:
    return Episode(guid=guid, title=title, enclosure=Enclosure(url) if url else None, published=published)


def test_same_guid_is_the_same_episode() -> None:
    index = EpisodeIndex([known(1, "g1", sources=frozenset({RSS}))], {(RSS, "g1"): 1})
    assert index.match(RSS, episode("g1", title="Edited title")) == 1
    assert index.match(LISTING, episode("g1")) == 1


def test_other_source_matches_by_enclosure_ignoring_tracking() -> None:
    index = EpisodeIndex([known(1, "g1", url="https://cdn.example/1.mp3?utm_source=rss", sources=frozenset({RSS}))], {})
    assert index.match(LISTING, episode("derived", title="Other", url="https://cdn.example/1.mp3?token=zz")) == 1
    assert index.match(LISTING, episode("derived", title="Other", url="https://cdn.example/2.mp3")) is None


def test_redirect_service_query_is_not_ignored() -> None:
    url = "https://dts.example/redirect.mp3?url=https://a.example/{}.mp3"
    index = EpisodeIndex([known(1, "g1", url=url.format(1), sources=frozenset({RSS}))], {})
    assert index.match(LISTING, episode("d", title="x", url=url.format(2))) is None


def test_other_source_matches_by_title_within_a_day() -> None:
    index = EpisodeIndex([known(1, "g1", title="My bets on open models, mid-2026", sources=frozenset({RSS}))], {})
    later = datetime(2026, 5, 27, 9, tzinfo=UTC)
    too_late = datetime(2026, 5, 27, 11, tzinfo=UTC)
    assert index.match(LISTING, episode("d", title="my bets on OPEN models mid 2026", published=later)) == 1
    assert index.match(LISTING, episode("d", title="My bets on open models, mid-2026", published=too_late)) is None


def test_items_of_one_source_with_different_guids_stay_distinct() -> None:
    index = EpisodeIndex([known(1, "g1", url="https://cdn.example/1.mp3", sources=frozenset({RSS}))], {(RSS, "g1"): 1})
    assert index.match(RSS, episode("g2", url="https://cdn.example/1.mp3")) is None
    assert index.match(RSS, episode("g3", title="T")) is None


def test_record_indexes_new_episodes_for_later_items() -> None:
    index = EpisodeIndex([], {})
    first = episode("g1", url="https://cdn.example/1.mp3")
    index.record(7, RSS, first, "g1")
    assert index.match(RSS, episode("g1")) == 7
    assert index.match(LISTING, episode("x", title="Other", url="https://cdn.example/1.mp3")) == 7


def test_merge_takes_each_field_from_the_most_precise_source() -> None:
    from_listing = Episode(
        guid="derived", title="Title", duration=540, published=DAY.replace(hour=0), description="<p>short</p>"
    )
    stored, ranks = merge(None, {}, from_listing, KINDS["listing"].rank)
    from_rss = Episode(guid="rss-guid", title="Title", duration=545, published=DAY, image="https://i.example/a.jpg")
    merged, ranks = merge(stored, ranks, from_rss, KINDS["rss"].rank)
    assert merged.guid == "derived"  # never changes once stored
    assert merged.duration == 545
    assert merged.published == DAY
    assert merged.description == "<p>short</p>"  # the RSS item had none: kept
    assert merged.image == "https://i.example/a.jpg"
    again, _ = merge(merged, ranks, from_listing, KINDS["listing"].rank)
    assert again == merged  # a less precise source never overrides


def test_merge_takes_edits_from_the_same_source() -> None:
    stored, ranks = merge(None, {}, Episode(guid="g", title="Old"), KINDS["rss"].rank)
    merged, _ = merge(stored, ranks, Episode(guid="g", title="New"), KINDS["rss"].rank)
    assert merged.title == "New"
