"""The store, on SQLite and (parametrized, or marked) PostgreSQL: schema, transactions, merging, filters."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedtool.config import Config, ShowConfig, SourceConfig, load
from feedtool.errors import FilterError, LockedError, RuleTimeoutError, StoreError
from feedtool.filters import parse_filter
from feedtool.model import (
    Chapter,
    ChaptersLink,
    Enclosure,
    Episode,
    Listing,
    Owner,
    Person,
    ShowInfo,
    TagRule,
    Transcript,
)
from feedtool.patterns import compile_rule
from feedtool.refresh import ranks, refresh, refresh_lock, retag, store_listing
from feedtool.store import MIGRATIONS, Counts, FetchMeta, PostgresStore, Store, open_store
from feedtool.store.codecs import (
    decode_episode,
    decode_show_info,
    encode_episode,
    encode_show_info,
    episode_v1_to_v2,
)
from feedtool.store.postgres import close_pools
from feedtool.testing.feeds import DAY
from feedtool.testing.feeds import episode as ep
from feedtool.testing.postgres import free_port
from feedtool.update import plan_listing

RSS = SourceConfig("rss", "https://feeds.example/show.rss")
LISTING = SourceConfig("listing", "/saved/show.txt")
SHOW = ShowConfig(
    id="show",
    sources=(RSS, LISTING),
    tags=(TagRule("open-models", (compile_rule(r"open models?", "t.match[0]", 1),), ("title", "description")),),
)


def listing(*episodes: Episode, title: str = "Show") -> Listing:
    return Listing(show=ShowInfo(title=title), episodes=episodes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.sqlite")
    yield s
    s.close()


def guids(store: Store, **params: object) -> list[str]:
    return [e.data.guid for e in store.episodes("show", parse_filter(params))]  # type: ignore[arg-type]


def test_schema_is_created_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        assert s.schema_version() == len(MIGRATIONS)
    with Store(path) as s:  # reopening migrates nothing
        assert s.schema_version() == len(MIGRATIONS)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this feedtool knows"):
        Store(path)


def test_a_version_1_store_is_upgraded_with_its_episodes(tmp_path: Path) -> None:
    """A row as schema 1 wrote it: nested values by position, merge ranks as integers."""
    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](db)
    data = (
        '{"enclosure":["https://cdn.example/1.mp3","audio/mpeg",1000],"guid":"g1",'
        '"persons":[["Ada","host",null,null,null]],"published":1779786000,"title":"Open models"}'
    )
    db.execute(
        "INSERT INTO shows (id, info, info_ranks) VALUES "
        """('show', '{"owner":["Ada","ada@example.org"],"title":"Show"}', '{"owner":2,"title":1}')"""
    )
    db.execute(
        "INSERT INTO episodes (show_id, guid, title, data, ranks, tags, sort_time, first_seen, updated) "
        "VALUES ('show', 'g1', 'Open models', ?, '{\"enclosure\":3,\"title\":1}', 'open-models', 1, 1, 1)",
        (data,),
    )
    db.execute("INSERT INTO episode_tags (tag, episode_id) VALUES ('open-models', 1)")
    db.execute("PRAGMA user_version = 1")
    db.close()
    with Store(path) as s:
        assert s.schema_version() == len(MIGRATIONS)
        indexes = {row[0] for row in s.db.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
        assert "episode_tags_by_episode" in indexes
        assert s.tag_counts("show") == {"open-models": 1}
        assert s.commits() == 0
        state = s.show_state("show")
        assert state.records[1].episode == Episode(
            guid="g1",
            title="Open models",
            published=datetime.fromtimestamp(1779786000, UTC),
            enclosure=Enclosure("https://cdn.example/1.mp3", "audio/mpeg", 1000),
            persons=(Person("Ada", "host"),),
        )
        assert state.records[1].provenance == {"enclosure": "rss", "title": "listing"}
        assert state.info == ShowInfo(title="Show", owner=Owner("Ada", "ada@example.org"))
        assert state.info_provenance == {"owner": "radionet", "title": "listing"}


def test_every_write_is_counted(store: Store) -> None:
    assert store.commits() == 0
    store_listing(store, SHOW, RSS, listing(ep(1)), FetchMeta())
    store.record_unchanged("show", RSS, FetchMeta())
    store.record_failure("show", RSS, "HTTP 500")
    retag(store, replace(SHOW, tags=()))
    assert store.commits() == 4
    store.db.execute("PRAGMA query_only = ON")  # a write that fails is not counted
    with pytest.raises(StoreError):
        store.record_failure("show", RSS, "HTTP 503")
    store.db.execute("PRAGMA query_only = OFF")
    store.episodes("show")
    store.tag_counts("show")
    assert store.commits() == 4


def test_concurrent_openers_migrate_once(tmp_path: Path) -> None:
    """Regression: shows refreshed in parallel opened a new store at once and both
    tried to create its tables ("table shows already exists")."""
    from concurrent.futures import ThreadPoolExecutor

    def open_and_close(_: int) -> int:
        with Store(tmp_path / "new.sqlite") as s:
            return s.schema_version()

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(open_and_close, range(16))) == [len(MIGRATIONS)] * 16
    with Store(tmp_path / "new.sqlite") as s:
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot"):
        Store(blocker / "store.sqlite")


def test_reading_needs_an_existing_store_of_this_version(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with pytest.raises(StoreError, match=r"^no store at .*s\.sqlite: run `feedtool refresh` first$"):
        Store(path, read_only=True)
    assert list(tmp_path.iterdir()) == []
    Store(path).close()
    with Store(path, read_only=True) as reader:
        assert reader.episodes("show") == []
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.db.execute("INSERT INTO shows (id) VALUES ('x')")
    for version, message in [
        (1, "has schema version 1, older than this feedtool's .*; run `feedtool refresh` to upgrade it"),
        (len(MIGRATIONS) + 1, "newer than this feedtool knows"),
    ]:
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {version}")
        db.close()
        with pytest.raises(StoreError, match=message):
            Store(path, read_only=True)
    with pytest.raises(StoreError, match="newer than this feedtool knows"):
        Store(path)


def test_a_locked_store_says_so(store: Store) -> None:
    other = Store(store.path)
    try:
        other.db.execute("PRAGMA busy_timeout = 0")
        with store.transaction(), pytest.raises(StoreError, match=r"cannot write to the store .*: locked by another"):
            other.record_failure("show", RSS, "HTTP 500")
    finally:
        other.close()


def test_a_failed_statement_rolls_back_and_names_its_cause(store: Store) -> None:
    store_listing(store, SHOW, RSS, listing(ep(1)), FetchMeta())
    store.db.execute("PRAGMA query_only = ON")  # SQLite refuses every write: SQLITE_READONLY
    with pytest.raises(StoreError, match=r"cannot write to the store .*: read-only \(attempt to write"):
        store_listing(store, SHOW, RSS, listing(ep(1, title="changed"), ep(2)), FetchMeta())
    store.db.execute("PRAGMA query_only = OFF")
    assert not store.db.in_transaction
    assert guids(store) == ["g1"]


def test_wal_mode(store: Store) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_upsert_counts_and_history(any_store: Store) -> None:
    counts = store_listing(any_store, SHOW, RSS, listing(ep(1), ep(2), ep(3)), FetchMeta())
    assert (counts.new, counts.updated, counts.unchanged) == (3, 0, 0)
    version = any_store.version("show")[0]
    again = store_listing(any_store, SHOW, RSS, listing(ep(1), ep(2), ep(3)), FetchMeta())
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    assert any_store.version("show")[0] == version  # nothing changed, nothing bumped
    # the source's window moves on: old episodes stay, an edit is an update
    moved = store_listing(any_store, SHOW, RSS, listing(ep(3, title="Episode 3, edited"), ep(4)), FetchMeta())
    assert (moved.new, moved.updated, moved.unchanged) == (1, 1, 0)
    assert any_store.version("show")[0] == version + 1
    assert guids(any_store) == ["g4", "g3", "g2", "g1"]
    assert any_store.episodes("show", parse_filter({"limit": "1", "sort": "oldest"}))[0].data.guid == "g1"


def test_an_undated_episode_is_stored_at_the_time_it_was_first_seen(any_store: Store) -> None:
    """Regression (PostgreSQL): an episode without a date failed to insert, as the untyped
    NULL parameter got two types ("inconsistent types deduced for parameter")."""
    store_listing(any_store, SHOW, RSS, listing(ep(1, published=None), ep(2)), FetchMeta())
    (undated,) = [e for e in any_store.episodes("show") if e.data.guid == "g1"]
    assert undated.data.published is None
    assert guids(any_store) == ["g1", "g2"]  # first seen now, so newer than g2's date


def test_a_failing_plan_leaves_the_store_as_it_was(any_store: Store) -> None:
    store = any_store
    store_listing(store, SHOW, RSS, listing(ep(1)), FetchMeta(etag='"v1"'))
    before = store.db.execute("SELECT * FROM episodes").fetchall()
    plan = plan_listing(store.show_state("show"), listing(ep(1, title="changed"), ep(2)), ("rss", RSS.location),
                        SHOW.rules, ranks())  # fmt: skip
    assert plan.inserts
    assert plan.updates
    broken = replace(plan, links=(*plan.links, ("dangling", 999)))  # no episode 999: fails after the writes
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store.apply(broken, FetchMeta(etag='"v2"'))
    assert store.db.execute("SELECT * FROM episodes").fetchall() == before
    assert store.source_state("show", RSS).etag == '"v1"'


def test_failure_and_unchanged_are_recorded(any_store: Store) -> None:
    store_listing(any_store, SHOW, RSS, listing(ep(1)), FetchMeta(etag='"v1"', content_hash="abc"))
    any_store.record_failure("show", RSS, "HTTP 500")
    state = any_store.source_state("show", RSS)
    assert (state.status, state.error, state.etag, state.content_hash) == ("failed", "HTTP 500", '"v1"', "abc")
    assert guids(any_store) == ["g1"]
    any_store.record_unchanged("show", RSS, FetchMeta(etag='"v2"'))
    state = any_store.source_state("show", RSS)
    assert (state.status, state.error, state.etag) == ("unchanged", None, '"v2"')


def test_sources_merge_into_one_episode_list(any_store: Store) -> None:
    from_listing = Episode(guid="feedtool:show:abc", title="Episode 1", guid_derived=True,
                           published=DAY.replace(hour=0) + timedelta(days=1), duration=540,
                           description="<p>From the listing.</p>")  # fmt: skip
    only_listing = Episode(
        guid="feedtool:show:old", title="An old one", guid_derived=True, published=DAY - timedelta(days=300)
    )
    store_listing(any_store, SHOW, RSS, listing(ep(1), ep(2)), FetchMeta())
    counts = store_listing(any_store, SHOW, LISTING, listing(from_listing, only_listing), FetchMeta())
    assert (counts.new, counts.updated) == (1, 1)  # the feed's episode gained a description
    stored = {e.data.guid: e.data for e in any_store.episodes("show")}
    assert set(stored) == {"g1", "g2", "feedtool:show:old"}
    assert stored["g1"].duration == 600  # the RSS feed's exact duration wins over "9 mins."
    assert stored["g1"].description == "<p>From the listing.</p>"  # the feed had none
    # refreshing either source again changes nothing
    assert store_listing(any_store, SHOW, LISTING, listing(from_listing, only_listing), FetchMeta()).changed is False
    assert store_listing(any_store, SHOW, RSS, listing(ep(1), ep(2)), FetchMeta()).changed is False


def test_show_metadata_merges_by_precision(any_store: Store) -> None:
    store_listing(any_store, SHOW, LISTING, Listing(ShowInfo(title="Listing title", author="A")), FetchMeta())
    store_listing(
        any_store, SHOW, RSS, Listing(ShowInfo(title="Feed title", image="https://i.example/a.png")), FetchMeta()
    )
    store_listing(any_store, SHOW, LISTING, Listing(ShowInfo(title="Listing title", author="A")), FetchMeta())
    show = any_store.show("show")
    assert show is not None
    assert (show.info.title, show.info.author, show.info.image) == ("Feed title", "A", "https://i.example/a.png")


@pytest.fixture
def library(any_store: Store) -> Store:
    """Four episodes in a store of each backend."""
    return _fill(any_store)


@pytest.fixture
def sqlite_library(store: Store) -> Store:
    """Four episodes in a SQLite store (tests that count SQLite's own work)."""
    return _fill(store)


def _fill(any_store: Store) -> Store:
    store_listing(
        any_store,
        SHOW,
        RSS,
        listing(
            ep(1, title="Open models today", categories=("Technology",)),
            ep(2, title="Closed labs", description="<p>Nothing OPEN here. Café talk.</p>"),
            ep(3, title="Sponsor: mugs", keywords=("Merch",)),
            ep(4, title="Über open model", duration=None),
        ),
        FetchMeta(),
    )
    return any_store


FILTERS: list[tuple[dict[str, object], list[str]]] = [
    ({}, ["g4", "g3", "g2", "g1"]),
    ({"tag": "open-models"}, ["g4", "g1"]),
    ({"tag": "open-models,merch"}, ["g4", "g3", "g1"]),
    ({"tag": ["technology", "merch"]}, ["g3", "g1"]),
    ({"exclude_tag": "open-models"}, ["g3", "g2"]),
    ({"q": "open"}, ["g4", "g2", "g1"]),
    ({"q": "open today"}, ["g1"]),
    ({"q": "café"}, ["g2"]),
    ({"q": "ÜBER"}, ["g4"]),
    ({"since": "2026-05-03"}, ["g4", "g3", "g2"]),
    ({"until": "2026-05-03"}, ["g2", "g1"]),
    ({"since": "2026-05-03T12:00:00Z", "until": "2026-05-04T11:59:59Z"}, ["g2"]),
    ({"min_duration": "1200"}, ["g3", "g2"]),
    ({"max_duration": "20m"}, ["g2", "g1"]),
    ({"limit": "2"}, ["g4", "g3"]),
    ({"sort": "oldest", "limit": "2"}, ["g1", "g2"]),
    ({"filter": "open"}, ["g4", "g1"]),
    ({"filter": "open", "filter_case_sensitive": "false"}, ["g4", "g2", "g1"]),
    ({"filter": "Technology"}, ["g1"]),
    ({"filter_title": "^Open|^Closed"}, ["g2", "g1"]),
    ({"filter_title": "o", "filter_description": "OPEN"}, ["g2"]),
    ({"filter_category": "^merch$"}, ["g3"]),
    ({"filterout": "Sponsor"}, ["g4", "g2", "g1"]),
    ({"filterout_title": "(?i)open"}, ["g3", "g2"]),
    ({"filterout_description": "Café"}, ["g4", "g3", "g1"]),
    ({"filterout_category": "open-models"}, ["g3", "g2"]),
    # The regex module's meaning on both backends: in PostgreSQL's own regex \b is a
    # backspace, so evaluating filters there would find nothing here.
    ({"filter_title": r"\bOpen\b"}, ["g1"]),
    ({"filter_description": r"OPEN.here", "filter_case_sensitive": "false"}, ["g2"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_filters_run_in_sql(library: Store, params: dict[str, object], expected: list[str]) -> None:
    assert guids(library, **params) == expected


def test_filter_time_counts_back_from_now(library: Store) -> None:
    now = DAY + timedelta(days=3, hours=1)
    found = library.episodes("show", parse_filter({"filter_time": str(36 * 3600)}), now=now)
    assert [e.data.guid for e in found] == ["g4", "g3", "g2"]


def test_cap_bounds_unlimited_feeds(library: Store) -> None:
    assert [e.data.guid for e in library.episodes("show", cap=2)] == ["g4", "g3"]
    assert [e.data.guid for e in library.episodes("show", parse_filter({"limit": "1"}), cap=2)] == ["g4"]


def test_runaway_regex_is_a_filter_error(library: Store) -> None:
    long_title = ep(5, title="x" * 3000)
    store_listing(library, SHOW, RSS, listing(long_title), FetchMeta())
    with pytest.raises(FilterError, match="filter_title"):
        library.episodes("show", parse_filter({"filter_title": "(x+x+)+y"}), regex_seconds=0.2)


def test_tag_counts(library: Store) -> None:
    assert library.tag_counts("show") == {"open-models": 2, "merch": 1, "technology": 1}


def test_retag_applies_changed_rules_to_history(library: Store) -> None:
    retag(library, SHOW)  # records the digest of the current rules
    new_rules = ShowConfig(
        id="show",
        sources=SHOW.sources,
        tags=(TagRule("labs", (compile_rule("labs", "t.match[0]", 1),), ("title",)),),
    )
    assert retag(library, new_rules) == 3  # g1 and g4 lose open-models, g2 gains labs
    assert library.tag_counts("show") == {"labs": 1, "merch": 1, "technology": 1}
    assert retag(library, new_rules) == 0


def test_retag_that_runs_out_of_time_changes_nothing(library: Store) -> None:
    retag(library, SHOW)
    store_listing(library, SHOW, RSS, listing(ep(9, title="a" * 60 + "!")), FetchMeta())
    counts, digest = library.tag_counts("show"), library.rules_digest("show")
    slow = ShowConfig(
        id="show",
        sources=SHOW.sources,
        tags=(*SHOW.tags, TagRule("slow", (compile_rule("^(a|aa)+$", "t.match[0]", 0.1),), ("title",))),
    )
    with pytest.raises(RuleTimeoutError, match="on the title of episode 'aaaa"):
        retag(library, slow)
    assert (library.tag_counts("show"), library.rules_digest("show")) == (counts, digest)


episodes = st.builds(
    Episode,
    guid=st.text(min_size=1),
    title=st.text(),
    guid_is_permalink=st.none() | st.booleans(),
    guid_derived=st.booleans(),
    link=st.none() | st.text(),
    published=st.none() | st.integers(0, 2**33).map(lambda s: datetime.fromtimestamp(s, UTC)),
    description=st.none() | st.text(),
    enclosure=st.none() | st.builds(Enclosure, st.text(), st.none() | st.text(), st.none() | st.integers(1, 2**40)),
    duration=st.none() | st.integers(1, 10**6),
    episode=st.none() | st.integers(1, 10**6),
    keywords=st.lists(st.text()).map(tuple),
    transcripts=st.lists(st.builds(Transcript, st.text(), st.none() | st.text())).map(tuple),
    chapters_link=st.none() | st.builds(ChaptersLink, st.text()),
    chapters=st.lists(st.builds(Chapter, st.text(), st.text())).map(tuple),
    persons=st.lists(st.builds(Person, st.text(), st.none() | st.text())).map(tuple),
    extensions=st.lists(st.text()).map(tuple),
)


@given(episodes)
def test_episode_json_round_trips(episode: Episode) -> None:
    assert decode_episode(encode_episode(episode)) == episode


def test_concurrent_reader_during_a_write(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    writer, reader = Store(path), Store(path)
    try:
        store_listing(writer, SHOW, RSS, listing(ep(1)), FetchMeta())
        with writer.transaction():
            writer.db.execute("UPDATE episodes SET title = 'in flight'")
            assert [e.data.title for e in reader.episodes("show")] == ["Episode 1"]
    finally:
        writer.close()
        reader.close()


# --- cost: reads and updates of one show do not grow with the rest of the store ------


def vm_steps(store: Store, action: Callable[[], object]) -> int:
    """How many SQLite VM instructions an action runs: a cost that no clock decides."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.db.set_progress_handler(count, 1)
    try:
        action()
    finally:
        store.db.set_progress_handler(None, 1)
    return steps


def other_show(store: Store, episodes: int) -> None:
    """Another show whose every episode is tagged: rows a query of SHOW must not visit."""
    other = replace(SHOW, id="other")
    store_listing(store, other, RSS, listing(*(ep(n, title=f"Open models {n}") for n in range(episodes))), FetchMeta())


def test_tag_counts_cost_does_not_grow_with_other_shows(sqlite_library: Store) -> None:
    """Regression (issue 9): a show's tag counts scanned all of episode_tags, so the
    index page was quadratic in the number of shows."""
    alone = vm_steps(sqlite_library, lambda: sqlite_library.tag_counts("show"))
    other_show(sqlite_library, 300)
    assert sqlite_library.tag_counts("show") == {"open-models": 2, "merch": 1, "technology": 1}
    # the same, but for a step or two of descending a deeper index
    assert vm_steps(sqlite_library, lambda: sqlite_library.tag_counts("show")) <= alone * 1.05


def test_updating_an_episode_costs_the_same_in_a_larger_store(store: Store) -> None:
    """Regression (issue 9): replacing an episode's tags scanned all of episode_tags,
    so updating n stored episodes took time quadratic in n."""
    store_listing(store, SHOW, RSS, listing(ep(1), ep(2)), FetchMeta())
    n = iter(range(10**6))

    def update() -> None:
        edited = listing(ep(1, description=f"<p>Open models, edit {next(n)}</p>"), ep(2))
        assert store_listing(store, SHOW, RSS, edited, FetchMeta()).updated == 1

    update()  # the first edit also changes the field ranks: measure the later ones
    small = vm_steps(store, update)
    other_show(store, 300)
    assert vm_steps(store, update) <= small * 1.05


def test_no_statement_scans_episode_tags(sqlite_library: Store) -> None:
    """Every statement that reads episode_tags finds its rows through an index."""
    statements: list[str] = []
    sqlite_library.db.set_trace_callback(statements.append)
    try:
        sqlite_library.tag_counts("show")
        store_listing(sqlite_library, SHOW, RSS, listing(ep(1, title="Open models, edited")), FetchMeta())
        retag(sqlite_library, replace(SHOW, tags=()))
        guids(sqlite_library, tag="merch", exclude_tag="open-models")
    finally:
        sqlite_library.db.set_trace_callback(None)
    reading = [s for s in statements if "episode_tags" in s and not s.lstrip().upper().startswith("INSERT")]
    assert any(s.lstrip().upper().startswith("DELETE") for s in reading)
    assert any("COUNT(*)" in s for s in reading)
    for statement in reading:
        plan = [row[3] for row in sqlite_library.db.execute(f"EXPLAIN QUERY PLAN {statement}")]
        assert not [step for step in plan if step.startswith("SCAN")], (statement, plan)


RELEASE_0_1 = Path(__file__).parent / "data" / "store" / "release-0.1.sqlite"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _examples(folder: Path) -> Path:
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("*.sqlite*"))
    return folder / "config.yaml"


def _contents(store: Store, config: Config) -> dict[str, object]:
    """Everything a store says of the examples' shows, with the folder they were read from left out."""
    folder = str(config.path.parent)
    return {
        show_id: {
            "info": store.show(show_id).info,  # type: ignore[union-attr]
            "version": store.version(show_id)[0],
            "episodes": [(e.data, e.tags) for e in store.episodes(show_id)],
            "tags": store.tag_counts(show_id),
            "sources": [
                (
                    s.kind,
                    s.location.replace(folder, "<examples>"),
                    s.status,
                    s.error,
                    s.etag,
                    s.content_hash,
                    s.new_feed_url,
                    s.episode_count,
                )
                for s in store.source_states(show_id)
            ],
        }
        for show_id in config.shows
    }


def test_a_release_0_1_store_is_migrated_in_place_and_reads_back_the_same(tmp_path: Path) -> None:
    expected_config = load(_examples(tmp_path / "fresh"))
    assert refresh(expected_config).ok
    assert refresh(expected_config).ok  # each source's status is now 'unchanged'
    with Store(expected_config.store, read_only=True) as fresh:
        expected = _contents(fresh, expected_config)
    # Since issue 12 a radio.net episode's image is the show's logo (parentLogo*), which
    # release 0.1 did not read; its unchanged page is not read again, so that stays out.
    radio = expected["sternwarte"]
    assert isinstance(radio, dict)
    radio["episodes"] = [(replace(episode, image=None), tags) for episode, tags in radio["episodes"]]

    config = load(_examples(tmp_path / "old"))
    shutil.copy(RELEASE_0_1, config.store)
    db = sqlite3.connect(config.store)
    assert db.execute("PRAGMA user_version").fetchone() == (1,)
    # Where release 0.1 read the examples from, and where this test has them.
    db.execute("UPDATE sources SET location = replace(location, '/tmp/rel', ?)", (str(config.path.parent),))
    db.commit()
    history = db.execute("SELECT id, guid, first_seen, updated FROM episodes ORDER BY id").fetchall()
    db.close()

    report = refresh(config)  # migrates in place; the same bytes as release 0.1 read
    assert [r.status for r in report.results] == ["unchanged"] * 3
    # Schema 4 made the RSS sources read their unchanged feed once more (for the
    # extensions the older rows lack); this time nothing is parsed.
    assert [r.status for r in refresh(config).results] == ["unchanged"] * 3
    with Store(config.store, read_only=True) as store:
        assert store.schema_version() == len(MIGRATIONS)
        migrated = _contents(store, config)
        assert migrated == expected
        assert store.db.execute("SELECT id, guid, first_seen, updated FROM episodes ORDER BY id").fetchall() == history
        kinds = {
            kind for (ranks,) in store.db.execute("SELECT ranks FROM episodes") for kind in orjson.loads(ranks).values()
        }
        assert kinds == {"rss", "radionet"}
        commits = store.commits()

    again = refresh(config)
    assert [(r.status, r.counts) for r in again.results] == [("unchanged", Counts())] * 3
    with Store(config.store, read_only=True) as store:
        assert _contents(store, config) == migrated
        assert store.commits() == commits + 3  # each source's visit recorded, nothing else


def test_the_codec_migration_keeps_rows_already_keyed_by_name() -> None:
    """A store that went through schema 3 and was set back to an older version (as the
    web tests do) is migrated again without damage."""
    text = encode_episode(ep(1, persons=(Person("Ada", "host"),)))
    assert episode_v1_to_v2(text) == text
    assert decode_episode(episode_v1_to_v2(text)) == ep(1, persons=(Person("Ada", "host"),))


def test_schema_4_rewrites_no_row_and_the_next_refresh_adds_extensions(tmp_path: Path) -> None:
    """A store of schema 3 has no extensions: its rows are kept as they are, and its RSS
    sources read their unchanged feed once more to add them (issue 11)."""
    folder = tmp_path / "ex"
    config_path = _examples(folder)
    feed = folder / "data" / "quiet-lab.rss"
    funding = '<podcast:funding url="https://quietlab.example/support">Support us</podcast:funding>'
    feed.write_text(feed.read_text(encoding="utf-8").replace("</channel>", funding + "</channel>"), encoding="utf-8")
    config = load(config_path)
    assert refresh(config).ok
    db = sqlite3.connect(config.store)
    # As schema 3 wrote the show: no extensions.
    db.execute("UPDATE shows SET info = json_remove(info, '$.extensions')")
    db.execute("DROP TABLE configs")  # and what schema 5 added
    db.execute("DROP TABLE identity")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    rows = db.execute("SELECT id, data, ranks FROM episodes ORDER BY id").fetchall()
    db.close()
    with Store(config.store) as store:
        assert store.schema_version() == len(MIGRATIONS)
        assert store.db.execute("SELECT id, data, ranks FROM episodes ORDER BY id").fetchall() == rows
        assert store.show("quiet-lab").info.extensions == ()  # type: ignore[union-attr]
        assert {(s.kind, s.content_hash) for s in store.source_states("quiet-lab")} >= {("rss", None)}
    assert next(r.status for r in refresh(config).results) == "unchanged"  # no episode changed
    with Store(config.store, read_only=True) as store:
        (kept,) = store.show("quiet-lab").info.extensions  # type: ignore[union-attr]
    assert kept.startswith("<podcast:funding ")
    assert "Support us" in kept


def test_show_info_json_round_trips_with_extensions() -> None:
    info = ShowInfo(title="T", extensions=("<copyright>c</copyright>", '<a:b xmlns:a="urn:a"/>'))
    assert decode_show_info(encode_show_info(info)) == info


# --- PostgreSQL only -------------------------------------------------------------------


def test_a_postgresql_schema_is_created_once_and_versioned(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="schema version 0, not this feedtool's"):
        open_store(postgres_url, read_only=True)
    with open_store(postgres_url) as s:
        assert isinstance(s, PostgresStore)
        assert s.schema_version() == len(MIGRATIONS)
    with open_store(postgres_url) as s, open_store(postgres_url, read_only=True) as reader:
        assert reader.schema_version() == len(MIGRATIONS)
        s.db.execute("UPDATE feedtool_schema SET version = ?", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer than this feedtool knows"):
        open_store(postgres_url)


def test_concurrent_postgresql_openers_migrate_once(postgres_url: str) -> None:
    def open_one() -> int:
        with open_store(postgres_url) as s:
            return s.schema_version()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: open_one(), range(4))) == [len(MIGRATIONS)] * 4
    with open_store(postgres_url) as s:
        assert s.db.execute("SELECT count(*) FROM feedtool_schema").fetchone()[0] == 1


def test_an_unreachable_postgresql_store_is_a_store_error_without_its_password(postgres_cluster: object) -> None:
    url = f"postgresql://feedtool:s3cret-pw@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StoreError, match="cannot connect to the store") as caught:
        open_store(url, busy_timeout=0.5)
    assert "s3cret-pw" not in str(caught.value)
    close_pools(url)


def test_postgresql_commits_are_seen_by_another_connection(postgres_url: str) -> None:
    with open_store(postgres_url) as writer, open_store(postgres_url, read_only=True) as reader:
        before = reader.data_version()
        store_listing(writer, SHOW, RSS, listing(ep(1)), FetchMeta())
        assert reader.data_version() == before + 1
        assert reader.version("show")[0] == 1


def test_one_refresh_at_a_time_holds_the_postgresql_lock(postgres_url: str) -> None:
    held = r"another refresh of postgresql://127\.0\.0\.1:\d+/\w+ is running \(or queue workers. jobs are\)"
    with refresh_lock(postgres_url), pytest.raises(LockedError, match=held), refresh_lock(postgres_url):
        pass
    with refresh_lock(postgres_url):  # released with its block
        pass


def test_a_store_keeps_its_identity_and_records_a_configs_time_once(backend_url: str) -> None:
    with open_store(backend_url) as store:
        identity, commits = store.identity(), store.commits()
        first = store.config_time("digest-a", datetime(2030, 1, 1, tzinfo=UTC))
        later = store.config_time("digest-a", datetime(2030, 1, 2, tzinfo=UTC))
        other = store.config_time("digest-b", datetime(2030, 1, 3, tzinfo=UTC))
        assert store.commits() == commits  # recording a config's time changes no feed
    with open_store(backend_url, read_only=True) as reader:
        assert reader.identity() == identity
    assert len(identity) == 32
    assert first == datetime(2030, 1, 1, tzinfo=UTC)
    assert other == datetime(2030, 1, 3, tzinfo=UTC)
    # PostgreSQL (many web nodes): the first node's time for this config; SQLite (one machine): the file's.
    assert later == (first if backend_url.startswith("postgresql://") else datetime(2030, 1, 2, tzinfo=UTC))


@pytest.mark.parametrize("read_only", [False, True])
def test_a_postgresql_store_that_cannot_be_reached_is_an_error_with_the_reason(read_only: bool) -> None:
    """Regression: a reader waited its whole busy_timeout (30 s by default) while the
    pool retried in the background, then said "cannot connect ... within 30 s" without
    the reason; the operator's terminal meanwhile filled with the pool's warnings."""
    url = f"postgresql://feedtool:s3cret-pw@127.0.0.1:{free_port()}/feedtool"
    with pytest.raises(StoreError) as raised:
        open_store(url, read_only=read_only, busy_timeout=5)
    message = str(raised.value)
    assert message.startswith(f"cannot connect to the store postgresql://127.0.0.1:{url.split(':')[3]}: ")
    assert "Connection refused" in message
    assert "s3cret" not in message
    assert "within" not in message  # at once, not after the pool's wait
    close_pools(url)
