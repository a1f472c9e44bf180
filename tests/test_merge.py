"""Which stored episode an item is, across and within sources, and which fields win."""

from __future__ import annotations

from datetime import UTC, datetime

from feedtool.merge import EpisodeIndex, Known, merge
from feedtool.model import Enclosure, Episode, ShowInfo

DAY = datetime(2026, 5, 26, 10, tzinfo=UTC)
RSS, LISTING = ("rss", "https://a.example/feed"), ("listing", "/saved/a.txt")  # sources
RANKS = {"listing": 1, "radionet": 2, "rss": 3}  # as the kinds rank themselves


def known(id: int, guid: str, *, url: str | None = None, title: str = "T", published: datetime | None = DAY,
          sources: frozenset[tuple[str, str]] = frozenset()) -> Known:  # fmt: skip
    return Known(id, guid, url, title, published, sources)


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
    stored, ranks = merge(None, {}, from_listing, "listing", RANKS)
    from_rss = Episode(guid="rss-guid", title="Title", duration=545, published=DAY, image="https://i.example/a.jpg")
    merged, ranks = merge(stored, ranks, from_rss, "rss", RANKS)
    assert merged.guid == "derived"  # never changes once stored
    assert merged.duration == 545
    assert merged.published == DAY
    assert merged.description == "<p>short</p>"  # the RSS item had none: kept
    assert merged.image == "https://i.example/a.jpg"
    assert ranks == {"title": "rss", "duration": "rss", "published": "rss", "description": "listing", "image": "rss"}
    again, _ = merge(merged, ranks, from_listing, "listing", RANKS)
    assert again == merged  # a less precise source never overrides


def test_merge_takes_edits_from_the_same_source() -> None:
    stored, ranks = merge(None, {}, Episode(guid="g", title="Old"), "rss", RANKS)
    merged, _ = merge(stored, ranks, Episode(guid="g", title="New"), "rss", RANKS)
    assert merged.title == "New"


def test_extensions_are_taken_whole_from_the_rss_source() -> None:
    """Extension XML is one field: the RSS source's list, never mixed with another's."""
    value = ('<podcast:value xmlns:podcast="https://podcastindex.org/namespace/1.0" type="lightning"/>',)
    from_rss = Episode(guid="g", title="T", extensions=value)
    stored, provenance = merge(None, {}, from_rss, "rss", RANKS)
    assert provenance["extensions"] == "rss"
    from_listing = Episode(guid="g", title="T")  # listings and radio.net have none
    again, provenance = merge(stored, provenance, from_listing, "listing", RANKS)
    assert again.extensions == value
    assert provenance["extensions"] == "rss"
    edited = ('<podcast:funding xmlns:podcast="https://podcastindex.org/namespace/1.0" url="u">F</podcast:funding>',)
    merged, _ = merge(again, provenance, Episode(guid="g", title="T", extensions=edited), "rss", RANKS)
    assert merged.extensions == edited
    show, _ = merge(ShowInfo(title="S"), {"title": "listing"}, ShowInfo(extensions=edited), "rss", RANKS)
    assert show.extensions == edited


def test_fallback_keys_are_the_ones_an_episode_was_first_known_by() -> None:
    """The index makes its fallback keys only when a fallback can match (issue 16): the
    keys are still those of the episode as first known, not as merged since."""
    index = EpisodeIndex([known(1, "g1", url="https://cdn.example/1.mp3", sources=frozenset({RSS}))], {})
    assert index.match(RSS, episode("g2", url="https://cdn.example/1.mp3")) is None  # its own source
    index.record(1, RSS, episode("g1", title="Renamed", url="https://cdn.example/moved.mp3"), "g1")
    assert index.match(LISTING, episode("x", title="Other", url="https://cdn.example/1.mp3")) == 1
    assert index.match(LISTING, episode("x", title="Other", url="https://cdn.example/moved.mp3")) is None
    assert index.match(LISTING, episode("x", title="T")) == 1
