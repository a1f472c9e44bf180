"""The pure update step: plain values in, a plan out; no store, no SQLite."""

from __future__ import annotations

from feedtool.model import Listing, Rules, ShowInfo, TagRule
from feedtool.patterns import compile_rule
from feedtool.testing.feeds import episode as ep
from feedtool.update import Counts, Record, ShowState, plan_listing, plan_retag, row

RANKS = {"listing": 1, "radionet": 2, "rss": 3}
RSS = ("rss", "https://feeds.example/show.rss")
LISTING = ("listing", "/saved/show.txt")
RULES = Rules(tags=(TagRule("open-models", (compile_rule(r"open models?", "tags.open-models.match[0]", 1.0),)),))
EMPTY = ShowState("show")


def stored(*records: Record, links: dict[tuple[tuple[str, str], str], int] | None = None) -> ShowState:
    return ShowState("show", {r.id: r for r in records}, links or {})


def test_a_new_source_inserts_every_episode_with_provisional_ids_in_order() -> None:
    plan = plan_listing(EMPTY, Listing(ShowInfo(title="Show"), (ep(1, title="Open models"), ep(2))), RSS, RULES, RANKS)
    assert [(i, r.episode.guid) for i, r in plan.inserts] == [(-1, "g1"), (-2, "g2")]
    assert plan.updates == ()
    assert plan.links == (("g1", -1), ("g2", -2))
    assert plan.counts == Counts(new=2)
    first = plan.inserts[0][1]
    assert first.tags == ("open-models",)
    assert first.provenance == {"title": "rss", "published": "rss", "duration": "rss", "enclosure": "rss"}
    assert first.search == "open models"
    assert plan.info == (ShowInfo(title="Show"), {"title": "rss"})
    assert (plan.episode_count, plan.changed) == (2, True)


def test_the_same_listing_again_changes_nothing() -> None:
    first = plan_listing(EMPTY, Listing(ShowInfo(title="Show"), (ep(1),)), RSS, RULES, RANKS)
    provenance = first.inserts[0][1].provenance
    state = ShowState(
        "show", {7: Record(7, ep(1), provenance)}, {(RSS, "g1"): 7}, ShowInfo(title="Show"), {"title": "rss"}
    )
    plan = plan_listing(state, Listing(ShowInfo(title="Show"), (ep(1),)), RSS, RULES, RANKS)
    assert (plan.inserts, plan.updates, plan.links, plan.info) == ((), (), (), None)
    assert plan.counts == Counts(unchanged=1)
    assert plan.changed is False


def test_an_edit_is_an_update_and_a_new_guid_an_insert() -> None:
    state = stored(Record(7, ep(1), {"title": "rss"}), links={(RSS, "g1"): 7})
    plan = plan_listing(state, Listing(ShowInfo(), (ep(1, title="Episode 1, edited"), ep(2))), RSS, Rules(), RANKS)
    assert [(i, r.episode.title) for i, r in plan.updates] == [(7, "Episode 1, edited")]
    assert [i for i, _ in plan.inserts] == [-1]
    assert plan.links == (("g2", -1),)
    assert plan.counts == Counts(new=1, updated=1)


def test_a_less_precise_source_joins_by_enclosure_and_changes_no_field() -> None:
    from_rss = ep(1, description="<p>notes</p>")
    state = stored(Record(7, from_rss, dict.fromkeys(("title", "published", "duration", "enclosure"), "rss")),
                   links={(RSS, "g1"): 7})  # fmt: skip
    item = ep(1, guid="derived", title="Episode one", duration=540)  # same enclosure URL
    plan = plan_listing(state, Listing(ShowInfo(), (item,)), LISTING, Rules(), RANKS)
    assert plan.links == (("derived", 7),)
    assert plan.counts == Counts(unchanged=1)
    assert plan.updates == ()


def test_a_more_precise_source_wins_each_field_it_has_and_provenance_names_it() -> None:
    from_listing = ep(1, guid="derived", duration=540, description="<p>short</p>")
    provenance = dict.fromkeys(("title", "published", "duration", "enclosure", "description"), "listing")
    state = stored(Record(7, from_listing, provenance), links={(LISTING, "derived"): 7})
    plan = plan_listing(state, Listing(ShowInfo(), (ep(1, duration=545),)), RSS, Rules(), RANKS)
    (episode_id, updated), = plan.updates  # fmt: skip
    assert episode_id == 7
    assert updated.episode.guid == "derived"  # never changes once stored
    assert updated.episode.duration == 545
    assert updated.episode.description == "<p>short</p>"  # the RSS item had none: kept
    assert updated.provenance["duration"] == "rss"
    assert updated.provenance["description"] == "listing"


def test_two_items_of_one_listing_with_one_guid_are_one_episode() -> None:
    plan = plan_listing(EMPTY, Listing(ShowInfo(), (ep(1), ep(1, title="Episode 1, again"))), RSS, Rules(), RANKS)
    assert [(i, r.episode.title) for i, r in plan.inserts] == [(-1, "Episode 1, again")]
    assert plan.links == (("g1", -1),)
    assert plan.counts == Counts(new=1, updated=1)


def test_show_info_merges_by_rank() -> None:
    state = ShowState(
        "show",
        info=ShowInfo(title="Listing title", author="A"),
        info_provenance={"title": "listing", "author": "listing"},
    )
    plan = plan_listing(state, Listing(ShowInfo(title="Feed title")), RSS, Rules(), RANKS)
    assert plan.info == (ShowInfo(title="Feed title", author="A"), {"title": "rss", "author": "listing"})
    assert plan.changed is True
    assert plan_listing(state, Listing(ShowInfo(title="Listing title")), LISTING, Rules(), RANKS).info is None


def test_row_has_tags_categories_and_each_word_once() -> None:
    episode = ep(1, title="Open models, open models", description="<p>On <b>open</b> models.</p>", categories=("Tech",))
    result = row(episode, {"title": "rss"}, RULES)
    assert result.tags == ("open-models", "tech")
    assert result.categories == ("Tech", "open-models", "tech")
    assert result.search == "open models, models on models."  # "open" once


def test_retag_rewrites_only_the_episodes_whose_tags_or_notes_change() -> None:
    records = [
        Record(1, ep(1, title="Open models"), {}, ("open-models",)),
        Record(2, ep(2, description="<p>Talk</p><p>Sponsor: ACME</p>"), {}, ()),
        Record(3, ep(3), {}, ()),
    ]
    rules = Rules(strip=(compile_rule(r"^Sponsor:", "strip[0]", 1.0),))
    updates = plan_retag(records, rules)
    assert [(i, r.tags, r.episode.description) for i, r in updates] == [
        (1, (), None),
        (2, (), "<p>Talk</p>"),
    ]
    assert plan_retag(records, RULES) == ()  # the rules they were tagged with
