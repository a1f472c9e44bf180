"""Hostile episode content is served sanitized in every format and on the index page;
no route fetches a URL a client supplies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import feedparser
from flask import Flask
from lxml import etree

from feedtool.config import load
from feedtool.refresh import refresh

import hostile

EVIL = """<rss version="2.0"><channel><title>Evil &lt;script&gt;alert('show')&lt;/script&gt;</title>
<link>javascript:alert(1)</link>
<description>&lt;img src=x onerror=alert('desc')&gt;About</description>
<item><title>&lt;script&gt;alert('title')&lt;/script&gt;Hello &lt;b onmouseover="x()"&gt;there&lt;/b&gt;</title>
<guid isPermaLink="false">evil-1</guid>
<link>https://evil.example/1</link>
<description><![CDATA[<p onclick="steal()">Hi<script>alert('d')</script><img src=x onerror="alert('i')">
<a href="javascript:alert('a')">click</a><a href=" JaVaScRiPt:alert('b')">again</a>
<style>body{background:url(javascript:alert('c'))}</style><span style="color:expression(alert('e'))">css</span>
<iframe src="https://evil.example/frame"></iframe><object data="x"></object></p>]]></description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">
<![CDATA[<svg onload=alert('s')><p>Notes</p>]]></content:encoded>
<enclosure url="https://evil.example/1.mp3" length="1" type="audio/mpeg"/>
</item></channel></rss>"""

DANGER = re.compile(
    r"<script|onerror|onclick|onload|onmouseover|javascript:|expression\(|<style|<iframe|<object|<svg", re.I
)


def test_hostile_content_is_served_sanitized(tmp_path: Path, app_factory: Callable[[Path], Flask]) -> None:
    (tmp_path / "evil.xml").write_text(EVIL)
    config = tmp_path / "config.yaml"
    config.write_text("shows: {evil: {sources: [{rss: evil.xml}]}}\n")
    assert refresh(load(config)).ok
    client = app_factory(config).test_client()
    rss = client.get("/feeds/evil.rss").data
    atom = client.get("/feeds/evil.atom").data
    feed = json.loads(client.get("/feeds/evil.json").data)
    index = client.get("/").get_data(as_text=True)

    # the markup a reader renders: descriptions, show notes, content
    rendered = [
        *(e.summary for e in feedparser.parse(rss, sanitize_html=False).entries),
        *(c.value for e in feedparser.parse(atom, sanitize_html=False).entries for c in e.content),
        *(item["content_html"] for item in feed["items"]),
        *(item.get("summary", "") for item in feed["items"]),
    ]
    for markup in rendered:
        assert not DANGER.search(markup), markup
    text_fields = [e.title for e in feedparser.parse(rss, sanitize_html=False).entries] + [feed["title"]]
    for text in text_fields:
        assert "<" not in text, text
    for name, body in (("rss", rss), ("atom", atom)):
        root = etree.fromstring(body)
        for element in root.iter():
            for value in element.attrib.values():
                assert not value.lower().strip().startswith("javascript:"), (name, value)
    body = index.split("</head>", 1)[1]  # the head holds the page's own style sheet
    assert not DANGER.search(body), "the index page shows markup from upstream"
    assert "Evil alert(&#39;show&#39;)" in index  # the title, its markup stripped, escaped


def test_javascript_urls_are_dropped_at_parse() -> None:
    """Regression: a channel <link>javascript:...</link> became the Atom feed's
    alternate link and the index page's "website" link."""
    from feedtool.sources import ParseContext
    from feedtool.sources.rss import parse

    listing = parse(EVIL.encode(), ParseContext("evil", "https://upstream.example/feed.xml"))
    assert listing.show.link is None


def test_no_route_fetches_a_client_supplied_url(tmp_path: Path, app_factory: Callable[[Path], Flask]) -> None:
    (tmp_path / "f.xml").write_bytes(hostile.GOOD)
    config = tmp_path / "config.yaml"
    config.write_text("shows: {s: {sources: [{rss: f.xml}]}}\n")
    assert refresh(load(config)).ok
    client = app_factory(config).test_client()
    with hostile.running() as upstream:
        target = upstream.url("/ssrf")
        for path in ("/", "/feeds.opml", "/healthz", "/feeds/s.rss", "/feeds/s.atom", "/feeds/s.json"):
            for query in (f"?url={target}", f"?feed={target}", f"?filter={target}", f"?tag={target}"):
                client.get(path + query, headers={"Referer": target, "X-Forwarded-Host": target})
            client.get(path, base_url=target)
        client.get(f"/feeds/{target}.rss")
        assert upstream.requests == {}
