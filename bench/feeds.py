"""Synthetic podcast feeds for the benchmarks: full iTunes tags, ~4 KB of HTML notes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

_PARAGRAPH = (
    "<p>In this episode we talk about <strong>open models</strong>, evaluation and the "
    'economics of training, with <a href="https://example.org/notes">show notes</a> and '
    "<em>links</em> to everything we mention. Sponsored segments are marked.</p>"
)


def synthetic_feed(episodes: int, *, show: str = "Bench Show", seed: int = 0) -> bytes:
    """An RSS podcast feed of ``episodes`` items, newest first."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    notes = (_PARAGRAPH * 17)[:4000]
    items = []
    for n in range(episodes, 0, -1):
        published = format_datetime(start + timedelta(hours=n), usegmt=True)
        tagged = " and open weights" if n % 7 == 0 else ""
        items.append(
            f"""<item>
<title>{show} episode {n}{tagged}</title>
<link>https://bench.example/{seed}/episodes/{n}</link>
<guid isPermaLink="false">bench-{seed}-{n}</guid>
<pubDate>{published}</pubDate>
<description><![CDATA[{notes}]]></description>
<enclosure url="https://cdn.bench.example/{seed}/{n}.mp3?utm_source=rss" length="{30_000_000 + n}" type="audio/mpeg"/>
<itunes:duration>{1800 + n % 3600}</itunes:duration>
<itunes:episode>{n}</itunes:episode>
<itunes:season>{1 + n // 100}</itunes:season>
<itunes:episodeType>full</itunes:episodeType>
<itunes:explicit>false</itunes:explicit>
<itunes:image href="https://bench.example/{seed}/art/{n}.jpg"/>
<itunes:keywords>ai, models, research</itunes:keywords>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{show}</title><link>https://bench.example/{seed}/</link>
<atom:link href="https://bench.example/{seed}/feed.xml" rel="self" type="application/rss+xml"/>
<description>A synthetic show for feedtool's benchmarks.</description><language>en</language>
<itunes:author>Bench</itunes:author><itunes:image href="https://bench.example/art.jpg"/>
<itunes:category text="Technology"/><itunes:explicit>false</itunes:explicit>
{"".join(items)}
</channel></rss>""".encode()


if __name__ == "__main__":  # pragma: no cover - a quick look at the size
    started = time.perf_counter()
    body = synthetic_feed(2000)
    print(f"{len(body) / 1e6:.1f} MB in {time.perf_counter() - started:.2f} s")
