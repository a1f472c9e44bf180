"""Publishing: the index page's cost and cache (feeds are tested through the app in test_web.py)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedtool.config import Config, ShowConfig, load
from feedtool.filters import Filter
from feedtool.model import Episode, Listing, ShowInfo
from feedtool.publish import Publisher, RenderCache
from feedtool.refresh import store_listing
from feedtool.render import html
from feedtool.store import FetchMeta, Store, open_store


def site(folder: Path, shows: int, episodes: int = 30, store: str = "feedtool.sqlite") -> Config:
    """A config and store (a SQLite file or a PostgreSQL URL) of ``shows`` shows, each with tagged episodes."""
    path = folder / "config.yaml"
    path.write_text(
        f"store: '{store}'\nshows:\n"
        + "".join(
            f"  show-{n}:\n    sources: [{{rss: 'https://feeds.example/{n}.rss'}}]\n"
            "    tags: {open-models: {match: ['open models']}}\n"
            for n in range(shows)
        )
    )
    config = load(path)
    with open_store(config.store) as opened:
        for n in range(shows):
            show: ShowConfig = config.shows[f"show-{n}"]
            items = [Episode(guid=f"{n}-{e}", title=f"Open models {e}") for e in range(episodes)]
            store_listing(opened, show, show.sources[0], Listing(ShowInfo(title=f"Show {n}"), items), FetchMeta())
    return config


def index_steps(config: Config) -> int:
    """SQLite VM instructions run by one render of the index page."""
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    with Store(config.store) as store:
        store.db.set_progress_handler(tick, 1)
        Publisher(config, store, RenderCache()).index("https://f.example")
    return count


def test_index_page_cost_grows_linearly_with_shows(tmp_path: Path) -> None:
    """Regression (issue 9): each show's tag counts scanned every show's tags, so the
    index page of 10,000 shows took 100 s."""
    (tmp_path / "few").mkdir()
    (tmp_path / "many").mkdir()
    few = index_steps(site(tmp_path / "few", 5))
    many = index_steps(site(tmp_path / "many", 20))
    assert many <= few * 4 * 1.1


def test_index_page_is_rendered_again_only_after_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend_url: str
) -> None:
    config = site(tmp_path, 3, episodes=2, store=backend_url)
    renders: list[int] = []
    render = html.render
    monkeypatch.setattr(html, "render", lambda *args, **kw: renders.append(len(args[0])) or render(*args, **kw))
    cache = RenderCache()

    def index(base_url: str = "https://f.example") -> str:
        with open_store(config.store, read_only=True) as store:
            return Publisher(config, store, cache).index(base_url).decode()

    first = index()
    assert index() == first
    assert len(renders) == 1
    assert "https://g.example/feeds.opml" in index("https://g.example")
    assert len(renders) == 2
    show = config.shows["show-1"]
    with open_store(config.store) as store:  # a refresh that changes only a source's state
        store.record_failure("show-1", show.sources[0], "HTTP 500")
    assert "HTTP 500" in index()
    with open_store(config.store) as store:
        new = Listing(ShowInfo(title="Show 1"), (Episode(guid="new", title="A new one"),))
        store_listing(store, show, show.sources[0], new, FetchMeta())
    assert "A new one" in index()
    assert len(renders) == 4


def test_index_page_makes_one_section_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sections of 10,000 shows alive at once made the garbage collector's passes
    over them the largest cost of the page."""
    config = site(tmp_path, 6, episodes=2)
    alive: list[int] = []
    render = html.render

    def watched(feeds: object, sections: Iterable[html.ShowSection], opml: str, **options: Any) -> bytes:
        def each() -> Iterator[html.ShowSection]:
            for section in sections:
                # type(), not isinstance(): a dead weakref.proxy among the objects raises on __class__
                alive.append(sum(type(o) is html.ShowSection for o in gc.get_objects()))
                yield section

        return render(feeds, each(), opml, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(html, "render", watched)
    with Store(config.store, read_only=True) as store:
        Publisher(config, store, RenderCache()).index("https://f.example")
    assert len(alive) == 6
    assert max(alive) <= 2


def test_a_named_feed_without_a_title_says_its_filter_once_on_the_index(tmp_path: Path, backend_url: str) -> None:
    """Regression (issue 13): the index read "Show 0 (tag open-models) (tag open-models)"."""
    config = site(tmp_path, 1, store=backend_url)
    path = tmp_path / "config.yaml"
    path.write_text(path.read_text() + "feeds:\n  open: {show: show-0, filter: {tag: open-models}}\n")
    config = load(path)
    with open_store(config.store) as store:
        page = Publisher(config, store, RenderCache()).index("https://f.example").decode()
    assert page.count("tag open-models") == 1
    assert "Show 0" in page.split("tag open-models")[0].rsplit("<li>", 1)[1]


def test_a_private_feeds_home_link_carries_the_key_of_its_self_link(tmp_path: Path) -> None:
    """A show without a website links feedtool's index, which lists a private feed only with its key."""
    config = site(tmp_path, 1, 1)
    with Store(config.store) as store:
        publisher = Publisher(config, store)
        assert publisher.home_url("http://h/feeds/x.rss?tag=a&key=K%26", private=True) == "http://h/?key=K%26"
        assert publisher.home_url("http://h/feeds/x.rss?tag=a&key=K", private=False) == "http://h/"
        assert publisher.home_url("http://h/feeds/x.rss", private=True) == "http://h/"


def _copy_config(config: Config, folder: Path, mtime: int, store: str | None = None) -> Config:
    """The same config file in another folder (another machine's copy), with its own mtime."""
    folder.mkdir()
    text = config.path.read_text()
    if store is not None:
        text = text.replace(f"store: '{config.store}'", f"store: '{store}'")
    path = folder / "config.yaml"
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return load(path)


def _served(config: Config, name: str = "show-0") -> tuple[str, object, bytes, bytes]:
    with open_store(config.store, read_only=True) as store:
        publisher = Publisher(config, store, RenderCache())
        validators = publisher.validators(name, "rss", Filter(), "https://f.example/feeds/show-0.rss")
        feed = publisher.feed(name, "rss", Filter(), "https://f.example/feeds/show-0.rss").body
        return validators.etag, validators.last_modified, feed, publisher.opml("https://f.example")


def test_nodes_with_copies_of_one_config_give_the_same_validators_and_bytes(tmp_path: Path, postgres_url: str) -> None:
    """Regression (issue 17): Last-Modified (and so lastBuildDate and the OPML's date)
    was each machine's own config file time: two web nodes with copies of one config,
    written a minute apart, gave one ETag for two different bodies."""
    (tmp_path / "site").mkdir()
    config = site(tmp_path / "site", 1, episodes=3, store=postgres_url)
    # The episodes' times are older than both copies: the config's time decides Last-Modified.
    first = _served(_copy_config(config, tmp_path / "node-1", 2_000_000_000))
    second = _served(_copy_config(config, tmp_path / "node-2", 2_000_000_060))
    assert first == second
    assert first[1] == datetime.fromtimestamp(2_000_000_000, UTC)  # the first node to serve it recorded it
    # An edited config is a new config: its own time, recorded by the first node that serves it.
    edited = _copy_config(config, tmp_path / "node-3", 2_000_000_120)
    edited.path.write_text(edited.path.read_text() + "base_url: https://f.example\n")
    os.utime(edited.path, (2_000_000_120, 2_000_000_120))
    assert _served(load(edited.path))[1] == datetime.fromtimestamp(2_000_000_120, UTC)


def test_a_sqlite_store_is_served_with_its_config_files_own_time(tmp_path: Path) -> None:
    config = site(tmp_path, 1, episodes=3)
    os.utime(config.path, (2_000_000_000, 2_000_000_000))
    assert _served(load(config.path))[1] == datetime.fromtimestamp(2_000_000_000, UTC)
    os.utime(config.path, (2_000_000_060, 2_000_000_060))
    assert _served(load(config.path))[1] == datetime.fromtimestamp(2_000_000_060, UTC)


def test_the_etag_names_the_store_by_its_identity_not_its_location(tmp_path: Path, postgres_url: str) -> None:
    """Nodes reaching one database by two URLs agree; another store whose show has the
    same version does not keep the first one's ETag (regression: it did, and the
    render cache, keyed by ETag, served the first store's bytes)."""
    (tmp_path / "a").mkdir()
    config = site(tmp_path / "a", 1, episodes=3, store=postgres_url)
    other_url = postgres_url.replace("127.0.0.1", "localhost")
    assert other_url != postgres_url
    same = _copy_config(config, tmp_path / "b", int(config.path.stat().st_mtime), store=other_url)
    assert _served(same)[0] == _served(config)[0]
    (tmp_path / "c").mkdir()
    sqlite_a = site(tmp_path / "c", 1, episodes=3, store="one.sqlite")
    (tmp_path / "d").mkdir()
    sqlite_b = site(tmp_path / "d", 1, episodes=3, store="one.sqlite")
    os.utime(sqlite_b.path, (int(sqlite_a.path.stat().st_mtime),) * 2)
    assert load(sqlite_a.path).digest == load(sqlite_b.path).digest
    assert _served(load(sqlite_a.path))[0] != _served(load(sqlite_b.path))[0]


def test_a_config_served_again_after_another_is_newer_than_both(tmp_path: Path, postgres_url: str) -> None:
    """Regression: on PostgreSQL, config A, then B, then A again gave A's first time
    back: Last-Modified went backwards, and a client sending only If-Modified-Since
    with B's body got 304s."""
    (tmp_path / "site").mkdir()
    config = site(tmp_path / "site", 1, episodes=3, store=postgres_url)
    a = _copy_config(config, tmp_path / "a1", 2_000_000_000)
    b = _copy_config(config, tmp_path / "b", 2_000_000_060)
    b.path.write_text(b.path.read_text() + "base_url: https://b.example\n")
    os.utime(b.path, (2_000_000_060, 2_000_000_060))
    again = _copy_config(config, tmp_path / "a2", 2_000_000_120)
    times = [_served(load(c.path))[1] for c in (a, b, again)]
    assert times == [datetime.fromtimestamp(t, UTC) for t in (2_000_000_000, 2_000_000_060, 2_000_000_120)]
    # Every node with A now agrees on A's new time, whatever its own copy's.
    assert _served(_copy_config(config, tmp_path / "a3", 2_000_000_100))[1] == times[2]


def test_an_edit_that_changes_only_the_configs_time_changes_the_etag(tmp_path: Path) -> None:
    """Regression: a comment-only edit kept the digest (and so the ETag) while the new
    file time changed Last-Modified and the body's lastBuildDate: one ETag, two bodies."""
    config = site(tmp_path, 1, episodes=3)
    os.utime(config.path, (2_000_000_000, 2_000_000_000))
    before = _served(load(config.path))
    config.path.write_text(config.path.read_text() + "# a comment\n")
    os.utime(config.path, (2_000_000_060, 2_000_000_060))
    after = _served(load(config.path))
    assert load(config.path).digest == config.digest
    assert after[2] != before[2]  # the body's date moved
    assert after[0] != before[0]
