"""Where the time goes: profiles of refreshes and of a cold render (cProfile).

    python bench/profiles.py

The refresh profiles run in this thread (HTML is sanitized on a small pool of
threads, which cProfile does not follow: that time shows as waiting in map(); the
same-bytes refresh's download runs on a fetch thread: it shows as waiting in join()).
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
from feedtool.refresh import _refresh_show, open_store, refresh_source
from feedtool.store import Store
from feedtool.testing import servers
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
        (work / "short.xml").write_bytes(podcast(2000, notes=500))
        tags = "    tags: {open-models: {match: ['open weights?']}}\n"
        (work / "config.yaml").write_text(
            f"shows:\n  show:\n    sources: [{{rss: {work / 'feed.xml'}}}]\n{tags}"
            f"  short:\n    sources: [{{rss: {work / 'short.xml'}}}]\n{tags}"
        )
        config = load(work / "config.yaml")
        fetcher = Fetcher(config.fetch)
        with Store(config.store) as store:
            for name, notes in (("show", "4 KB"), ("short", "500-byte")):
                show_config = config.shows[name]
                profile = cProfile.Profile()
                profile.runcall(refresh_source, store, show_config, show_config.sources[0], fetcher)
                show(f"refresh of a 2,000-episode feed, {notes} notes, into an empty store (by own time)", profile)
            flt = parse_filter({"min_duration": "60", "limit": "1000"})
            url = feed_url("http://127.0.0.1", "show", "rss", flt)
            store.episodes("show")
            profile = cProfile.Profile()
            profile.runcall(lambda: Publisher(config, store, RenderCache()).feed("show", "rss", flt, url))
            show("cold render of 1,000 of its episodes as RSS (by own time)", profile)
        body = (work / "short.xml").read_bytes()
        with servers.upstream() as server:
            server.serve("/feed.xml", body, etag=False)
            (work / "same.yaml").write_text(
                f"store: {work / 'same.sqlite'}\nshows:\n  same:\n    sources: [{{rss: {server.url('/feed.xml')}}}]\n"
            )
            same = load(work / "same.yaml")
            _refresh_show(same, same.shows["same"], fetcher, open_store, None)  # stores the content hash
            profile = cProfile.Profile()
            profile.runcall(_refresh_show, same, same.shows["same"], fetcher, open_store, None)
            show(f"refresh of the same {len(body) / 1e6:.1f} MB again (by own time)", profile)
        fetcher.close()


if __name__ == "__main__":
    main()
