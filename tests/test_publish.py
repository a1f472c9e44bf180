"""Publishing: the index page's cost and cache (feeds are tested through the app in test_web.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feedtool.config import Config, ShowConfig, load
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
