"""What the source kinds share (feedtool.sources.common): here, how a page names its feeds."""

from __future__ import annotations

import pytest

from feedtool.sources.common import feed_links


@pytest.mark.parametrize(
    ("page", "links"),
    [
        (b'<link rel="alternate" type="application/atom+xml" href="/a"><link rel="alternate" '
         b'type="application/rss+xml" href="/r1"><link rel="alternate" type="application/rss+xml" href="/r2">',
         ["https://s.example/r1", "https://s.example/r2", "https://s.example/a"]),
        (b'<link rel="alternate" type="application/atom+xml" href="feed.atom">', ["https://s.example/dir/feed.atom"]),
        (b'<base href="https://cdn.example/x/"><link rel="alternate" type="application/rss+xml" href="f">',
         ["https://cdn.example/x/f"]),
        (b'<link rel="alternate stylesheet" type="text/css" href="s.css"><link rel="stylesheet" '
         b'type="application/rss+xml" href="nope"><link rel="alternate" type="application/json" href="j">', []),
        (b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">', []),
        (b'<!-- <link rel="alternate" type="application/rss+xml" href="/c"> -->', []),
    ],
    ids=["rss-before-atom", "relative", "base", "not-feeds", "javascript", "in-a-comment"],
)  # fmt: skip
def test_feed_links(page: bytes, links: list[str]) -> None:
    assert feed_links(page, "https://s.example/dir/page") == links
