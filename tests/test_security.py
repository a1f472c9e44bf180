"""Hostile episode content is served sanitized in every format and on the index page;
no route fetches a URL a client supplies; no filter value, however extreme, is a 500."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from click.testing import CliRunner
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedtool.cli import main
from feedtool.config import load
from feedtool.filters import MAX_WORDS, PARAMS
from feedtool.refresh import refresh
from feedtool.testing import feeds
from feedtool.testing.servers import Upstream
from feedtool.web import MAX_QUERY

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


def test_no_route_fetches_a_client_supplied_url(
    tmp_path: Path, app_factory: Callable[[Path], Flask], upstream: Upstream
) -> None:
    (tmp_path / "f.xml").write_bytes(feeds.feed(feeds.item(1) + feeds.item(2)))
    config = tmp_path / "config.yaml"
    config.write_text("shows: {s: {sources: [{rss: f.xml}]}}\n")
    assert refresh(load(config)).ok
    client = app_factory(config).test_client()
    target = upstream.url("/ssrf")
    for path in ("/", "/feeds.opml", "/healthz", "/feeds/s.rss", "/feeds/s.atom", "/feeds/s.json"):
        for query in (f"?url={target}", f"?feed={target}", f"?filter={target}", f"?tag={target}"):
            client.get(path + query, headers={"Referer": target, "X-Forwarded-Host": target})
        client.get(path, base_url=target)
    client.get(f"/feeds/{target}.rss")
    assert upstream.requests() == []


# --- extreme values in every filter parameter (issue 9, items 8 and 9) ----------------


def _with_offset(moment: datetime, minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return moment.isoformat(timespec="seconds") + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


#: How many digits: around int()'s limit of 4,300 digits, and anywhere up to 6,000.
DIGITS = st.sampled_from([19, 20, 4300, 4301, 5000]) | st.integers(1, 6000)
EXTREME = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    DIGITS.map(lambda n: "9" * n),
    DIGITS.map(lambda n: "0" * n + "1"),
    st.sampled_from(["\u00b2", "\u2460", "\u0663", "\u216b", "\U0001d7d7"]),  # '²', '①', '٣', 'Ⅻ', '𝟗'
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=6),
    st.floats().map(str),  # 'nan', 'inf', '1e+308'
    st.datetimes().map(lambda d: d.isoformat()),
    st.builds(_with_offset, st.datetimes(), st.integers(-(24 * 60 - 1), 24 * 60 - 1)),
    st.sampled_from(["0001-01-01", "9999-12-31", "0000-01-01", "10000-01-01", "9999-12-31T23:59:59.999999Z"]),
    st.builds(lambda n, unit: "9" * n + unit, DIGITS, st.sampled_from(["", "h", "m", " min", ":00", "s"])),
    DIGITS.map(lambda n: "1:" + "9" * n + ":00"),
    DIGITS.map(lambda n: "P" + "9" * n + "D"),
    st.integers(0, 3000).map(lambda n: " ".join(f"w{i}" for i in range(n))),
    st.integers(0, 3000).map(lambda n: ",".join(f"t{i}" for i in range(n))),
)
FILTERS = st.dictionaries(st.sampled_from(PARAMS), EXTREME, min_size=1, max_size=2)
SEARCH = " ".join(f"n{i}" for i in range(MAX_WORDS))  # the named feed's own words: the most allowed


@pytest.fixture
def filtered_site(tmp_path: Path) -> Path:
    """A show and a named feed whose filter already holds as many words as allowed."""
    (tmp_path / "f.xml").write_bytes((Path(__file__).parent / "data" / "rss" / "full.xml").read_bytes())
    config = tmp_path / "config.yaml"
    config.write_text(
        f"shows: {{s: {{sources: [{{rss: f.xml}}]}}}}\nfeeds: {{n: {{show: s, filter: {{q: {SEARCH}}}}}}}\n"
    )
    assert refresh(load(config)).ok
    return config


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/feeds/s.rss", "/feeds/n.atom", "/feeds/s.json"]), params=FILTERS)
def test_extreme_filter_values_are_200_or_400(
    filtered_site: Path, app_factory: Callable[[Path], Flask], path: str, params: dict[str, str]
) -> None:
    """Huge and unicode numbers, dates at and past the ends of time, long word lists:
    a feed or a 400 that names one of the parameters given, never a 500 or a 503
    (a query string over the bound is a 414 before any parameter is read)."""
    query = urlencode(params)
    response = app_factory(filtered_site).test_client().get(f"{path}?{query}")
    if len(query) > MAX_QUERY:
        assert response.status_code == 414
        return
    assert response.status_code in (200, 400), (params, response.data[:300])
    if response.status_code == 400:
        assert response.get_data(as_text=True).split("=", 1)[0] in params


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=FILTERS)
def test_extreme_filter_flags_exit_0_or_2(filtered_site: Path, params: dict[str, str]) -> None:
    """The same values as flags: a listing or a usage error (exit 2), never a traceback."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in params.items()]
    result = CliRunner().invoke(main, ["--config", str(filtered_site), "episodes", "s", "--json", *flags])
    assert result.exit_code in (0, 2), (params, result.output[-300:], result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert any(f"Error: --{name.replace('_', '-')} " in result.output for name in params), result.output[-300:]
