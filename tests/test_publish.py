"""Publishing: the index page's cost and cache (feeds are tested through the app in test_web.py)."""

from __future__ import annotations

from pathlib import Path

from feedtool.config import Config, ShowConfig, load
from feedtool.model import Episode, Listing, ShowInfo
from feedtool.publish import Publisher, RenderCache
from feedtool.store import FetchMeta, Store


def site(folder: Path, shows: int, episodes: int = 30) -> Config:
    """A config and store of ``shows`` shows, each with tagged episodes."""
    path = folder / "config.yaml"
    path.write_text(
        "shows:\n"
        + "".join(
            f"  show-{n}:\n    sources: [{{rss: 'https://feeds.example/{n}.rss'}}]\n"
            "    tags: {open-models: {match: ['open models']}}\n"
            for n in range(shows)
        )
    )
    config = load(path)
    with Store(config.store) as store:
        for n in range(shows):
            show: ShowConfig = config.shows[f"show-{n}"]
            items = [Episode(guid=f"{n}-{e}", title=f"Open models {e}") for e in range(episodes)]
            store.apply_listing(show, show.sources[0], Listing(ShowInfo(title=f"Show {n}"), items), FetchMeta())
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
