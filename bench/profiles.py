"""Where the time goes: profiles of a refresh and of a cold render (cProfile).

    python bench/profiles.py

The refresh profile runs in this thread (HTML is sanitized on a small pool of
threads, which cProfile does not follow: that time shows as waiting in map()).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

from feedtool.config import load
from feedtool.fetch import Fetcher
from feedtool.filters import parse_filter
from feedtool.publish import Publisher, RenderCache, feed_url
from feedtool.refresh import refresh_source
from feedtool.store import Store
from feedtool.testing.feeds import podcast


def show(title: str, profile: cProfile.Profile, lines: int = 14) -> None:
    print(f"\n### {title}\n\n```")
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(lines)
    print("```")


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        (work / "feed.xml").write_bytes(podcast(2000))
        (work / "config.yaml").write_text(
            f"shows:\n  show:\n    sources: [{{rss: {work / 'feed.xml'}}}]\n"
            "    tags: {open-models: {match: ['open weights?']}}\n"
        )
        config = load(work / "config.yaml")
        show_config = config.shows["show"]
        fetcher = Fetcher(config.fetch)
        with Store(config.store) as store:
            profile = cProfile.Profile()
            profile.runcall(refresh_source, store, show_config, show_config.sources[0], fetcher)
            show("refresh of a 2,000-episode feed into an empty store (by own time)", profile)
            flt = parse_filter({"min_duration": "60", "limit": "1000"})
            url = feed_url("http://127.0.0.1", "show", "rss", flt)
            store.episodes("show")
            profile = cProfile.Profile()
            profile.runcall(lambda: Publisher(config, store, RenderCache()).feed("show", "rss", flt, url))
            show("cold render of 1,000 of its episodes as RSS (by own time)", profile)


if __name__ == "__main__":
    main()
