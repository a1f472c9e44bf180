"""The Flask app through its test client: routes, filters, HTTP caching, errors."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import feedparser
import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedtool.config import load
from feedtool.errors import ConfigError, FilterError
from feedtool.filters import check_tags, parse_filter
from feedtool.lint import lint
from feedtool.refresh import refresh
from feedtool.store import Store
from feedtool.testing.servers import FEEDTOOL_APP, GUNICORN, gunicorn
from feedtool.web import create_app

DATA = Path(__file__).parent / "data"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config with two shows refreshed from local files; returns the config path."""
    (tmp_path / "full.xml").write_bytes((DATA / "rss" / "full.xml").read_bytes())
    (tmp_path / "quietlab.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    (tmp_path / "bp.xml").write_bytes((DATA / "rss" / "boilerplate.xml").read_bytes())
    path = tmp_path / "config.yaml"
    path.write_text(
        """
server: {max_age: 120}
shows:
  quiet-lab:
    sources: [{rss: full.xml}, {listing: quietlab.txt}]
    tags:
      open-models: {match: ['open weights'], fields: [title]}
  bp:
    title: "Boilerplate <script>alert(1)</script>"
    sources: [{rss: bp.xml}]
feeds:
  quiet-lab-open:
    show: quiet-lab
    title: "The Quiet Lab: open models"
    filter: {tag: open-models}
"""
    )
    assert refresh(load(path)).ok
    return path


@pytest.fixture
def app(site: Path, app_factory: Callable[[Path], Flask]) -> Flask:
    return app_factory(site)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_factory_uses_the_given_config(site: Path) -> None:
    app = create_app({"FEEDTOOL_CONFIG": str(site)})
    assert app.extensions["feedtool"].path == site


def test_factory_refuses_a_bad_config(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match="unknown source kind"):
        create_app({"FEEDTOOL_CONFIG": str(write_config("shows: {a: {sources: [{rsss: x}]}}"))})


@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
def test_gunicorn_with_a_bad_config_prints_the_message_once_and_exits(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = write_config("shows: {a: {sources: [{rsss: x}]}}")
    log = tmp_path / "gunicorn.log"
    # As the README runs it; the helper raises when gunicorn exits instead of serving.
    env = {"FEEDTOOL_CONFIG": str(config)}
    with pytest.raises(RuntimeError, match="exited with 1"), gunicorn(FEEDTOOL_APP, log, env=env, preload=True):
        pass  # pragma: no cover - gunicorn must not serve
    text = log.read_text()
    message = f"Error: invalid config {config}:\n  shows.a.sources[0]: unknown source kind 'rsss'"
    assert text.count(message) == 1, text
    assert "Traceback" not in text, text


def _edit(path: Path, old: str, new: str) -> None:
    """Change the config file; its mtime moves on by a second so that any filesystem sees it."""
    before = path.stat().st_mtime_ns
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_changed_config_is_served_without_a_restart(site: Path, client: FlaskClient) -> None:
    assert client.get("/feeds/bp-all.rss").status_code == 404
    assert b"The Quiet Lab: open models" in client.get("/feeds/quiet-lab-open.rss").data
    _edit(site, "feeds:\n", "feeds:\n  bp-all: {show: bp, title: All of bp}\n")
    _edit(site, "The Quiet Lab: open models", "Open models only")
    response = client.get("/feeds/bp-all.rss")
    assert response.status_code == 200
    assert b"<title>All of bp</title>" in response.data
    # The rendering cached before the edit is not served again.
    assert b"Open models only" in client.get("/feeds/quiet-lab-open.rss").data


def test_an_invalid_edit_keeps_the_config_served_and_logs_why(
    site: Path, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    _edit(site, "feeds:\n", "feeds:\n  bp-all: {show: nope}\n")
    assert client.get("/feeds/quiet-lab-open.rss").status_code == 200
    assert client.get("/feeds/bp-all.rss").status_code == 404
    assert f"invalid config {site}:\n  feeds.bp-all" in caplog.text
    assert "still serving the config read before" in caplog.text
    _edit(site, "  bp-all: {show: nope}\n", "  bp-all: {show: bp}\n")
    assert client.get("/feeds/bp-all.rss").status_code == 200


def test_factory_reads_feedtool_config_from_the_environment(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDTOOL_CONFIG", str(site))
    assert create_app().extensions["feedtool"].path == site


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("rss", "application/rss+xml; charset=utf-8"),
        ("atom", "application/atom+xml; charset=utf-8"),
        ("json", "application/feed+json; charset=utf-8"),
    ],
)
def test_feed_formats(client: FlaskClient, fmt: str, content_type: str) -> None:
    response = client.get(f"/feeds/quiet-lab.{fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=120"
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"]


def test_unknown_feed_and_format_are_404(client: FlaskClient) -> None:
    for path in ("/feeds/nope.rss", "/feeds/quiet-lab.xml", "/feeds/quiet-lab", "/nothing"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/plain")


def test_a_feed_without_an_extension_suggests_its_three_urls(client: FlaskClient) -> None:
    """Regression (issue 13): /feeds/<name> was a bare 404."""
    response = client.get("/feeds/quiet-lab-open?limit=2")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    for fmt in ("rss", "atom", "json"):
        assert f"http://localhost/feeds/quiet-lab-open.{fmt}?limit=2\n" in text
    assert "quiet-lab-open.rss" not in client.get("/feeds/nope").get_data(as_text=True)


def test_whole_back_catalogue_and_merged_sources(client: FlaskClient) -> None:
    feed = feedparser.parse(client.get("/feeds/quiet-lab.rss").data)
    # 2 episodes from the feed, and 1 only the listing knows
    assert [e.title for e in feed.entries] == [
        "Episode 2: Open weights, & why they matter",
        "Episode 1: Hello",
        "Bonus: a very short one",
    ]


def test_named_feed_keeps_only_tagged_episodes(client: FlaskClient) -> None:
    body = client.get("/feeds/quiet-lab-open.rss").data
    assert lint(body) == []
    feed = feedparser.parse(body)
    assert feed.feed.title == "The Quiet Lab: open models"
    assert [e.title for e in feed.entries] == ["Episode 2: Open weights, & why they matter"]


def test_filtered_feed_title_and_self_link(client: FlaskClient) -> None:
    response = client.get("/feeds/quiet-lab.rss?tag=open-models&utm_source=app")
    feed = feedparser.parse(response.data)
    assert feed.feed.title == "The Quiet Lab (tag open-models)"
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert self_link == "http://localhost/feeds/quiet-lab.rss?tag=open-models&utm_source=app"
    narrowed = feedparser.parse(client.get("/feeds/quiet-lab-open.rss?q=nothing-matches").data)
    assert narrowed.feed.title == "The Quiet Lab: open models (search nothing-matches)"
    assert narrowed.entries == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit='0': expected a whole number from 1 to 1000"),
        ("since=tomorrow", "since='tomorrow': expected a date YYYY-MM-DD"),
        ("min_duration=long", "min_duration='long': expected seconds"),
        ("sort=up", "sort='up': expected one of: newest, oldest"),
        ("filter=(", "filter='(': expected a valid regular expression"),
        ("filter=(?:a{300}){300}", "filter='(?:a{300}){300}': expected a regular expression of at most 5,000 nodes"),
        ("tag=%21%21", "tag='!!': expected tag names"),
    ],
)
def test_invalid_filters_are_400_with_a_message(client: FlaskClient, query: str, message: str) -> None:
    response = client.get(f"/feeds/quiet-lab.rss?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("param", ["tag", "exclude_tag"])
def test_an_unknown_tag_is_a_400_naming_the_known_tags(client: FlaskClient, param: str) -> None:
    """Regression: `?tag=<typo>` answered 200 with an empty feed."""
    response = client.get(f"/feeds/quiet-lab-open.rss?{param}=open-modles")
    assert response.status_code == 400
    assert response.get_data(as_text=True) == (
        f"{param}='open-modles': expected a tag of this show: "
        "licensing, models, open-models, open-source, open-weights, technology\n"
    )


def test_tags_of_rules_and_of_stored_episodes_are_known(client: FlaskClient) -> None:
    assert client.get("/feeds/quiet-lab.rss?tag=open-models").status_code == 200
    assert client.get("/feeds/quiet-lab.rss?tag=licensing").status_code == 200
    assert client.get("/feeds/bp.rss?unknown_param=1").status_code == 200  # apps add their own


def test_a_bad_query_is_a_400_even_without_a_store(write_config: Callable[[str], Path]) -> None:
    """The query is checked before the store is opened: a malformed one is the client's error."""
    client = create_app({"FEEDTOOL_CONFIG": str(write_config("shows: {s: {sources: [{rss: f.xml}]}}\n"))}).test_client()
    assert client.get("/feeds/s.rss").status_code == 503  # no store yet
    response = client.get("/feeds/s.rss?limit=abc")
    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith("limit='abc'")


def test_a_rule_tag_is_checked_without_reading_the_stored_tags(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual tagged request (a rule's tag) stays a version check before its 304:
    only a tag that no rule names reads the show's stored tags."""
    asked: list[str] = []
    counts = Store.tag_counts

    def counting(self: Store, show_id: str) -> dict[str, int]:
        asked.append(show_id)
        return counts(self, show_id)

    monkeypatch.setattr(Store, "tag_counts", counting)
    assert client.get("/feeds/quiet-lab.rss?tag=open-models").status_code == 200
    assert asked == []
    assert client.get("/feeds/quiet-lab.rss?tag=licensing").status_code == 200
    assert asked == ["quiet-lab"]


OVERFLOWING = [
    ("until", "9999-12-31T23:59:59-23:59"),
    ("since", "0001-01-01T00:00:00+01:00"),
    ("limit", "\u00b2"),
    ("limit", "\u2460"),
    ("filter_time", "\u00b2"),
    # Within the query string's bound (longer is a 414, see test_a_query_string_over_the_bound_is_a_414).
    ("limit", "9" * 2000),
    ("min_duration", "9" * 2000),
    ("q", " ".join(f"w{n}" for n in range(300))),
]


@pytest.mark.parametrize(("param", "value"), OVERFLOWING, ids=[f"{p}={v[:12]}" for p, v in OVERFLOWING])
def test_overflowing_values_are_400_naming_the_parameter(client: FlaskClient, param: str, value: str) -> None:
    """Regression (issue 9): these were 500s with tracebacks, and `q` a 503."""
    response = client.get(f"/feeds/quiet-lab.rss?{urlencode({param: value})}")
    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith(f"{param}=")


def test_the_last_day_is_a_valid_until(client: FlaskClient) -> None:
    """Regression: the end of 9999-12-31 overflowed while being computed."""
    response = client.get("/feeds/quiet-lab.rss?until=9999-12-31&since=0001-01-01")
    assert response.status_code == 200
    assert len(feedparser.parse(response.data).entries) == 3


@pytest.mark.parametrize("query", [f"filter={quote('(.*a){25}x')}&limit=5", f"filter_description={quote('(x+x+)+y')}"])
def test_runaway_patterns_on_short_text_are_answered(client: FlaskClient, query: str) -> None:
    """Patterns that backtrack without end on long text finish on episodes' short text:
    an empty feed, not an error."""
    response = client.get(f"/feeds/quiet-lab.rss?{query}")
    assert response.status_code == 200, response.data[:300]
    assert feedparser.parse(response.data).entries == []


def test_runaway_regex_on_long_text_is_a_400(tmp_path: Path, app_factory: Callable[[Path], Flask]) -> None:
    long = "x" * 20000
    (tmp_path / "f.xml").write_text(
        f"<rss><channel><title>T</title><item><title>{long}</title><guid>1</guid></item></channel></rss>"
    )
    (tmp_path / "c.yaml").write_text("shows: {s: {sources: [{rss: f.xml}]}}\n")
    assert refresh(load(tmp_path / "c.yaml")).ok
    client = app_factory(tmp_path / "c.yaml").test_client()
    response = client.get(f"/feeds/s.rss?filter_title={quote('(x+x+)+y')}")
    assert response.status_code == 400
    assert "finishes within 0.5 s" in response.get_data(as_text=True)


def _podcast_guid(client: FlaskClient, path: str, host: str = "localhost") -> str:
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 200
    guid = etree.fromstring(response.data).findtext(".//{https://podcastindex.org/namespace/1.0}guid")
    assert guid is not None
    return guid


def test_podcast_guid_follows_the_feed_not_the_request(client: FlaskClient) -> None:
    """Regression (issue 9, item 13): tracking parameters and, without base_url, the
    Host header changed podcast:guid, so that an app saw another podcast."""
    # a show without a podcast:guid of its own gets one from its id alone
    bp = _podcast_guid(client, "/feeds/bp.rss")
    assert _podcast_guid(client, "/feeds/bp.atom?utm_source=x", "feeds.other.example") == bp
    assert bp == str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "feedtool:bp"))
    filtered = _podcast_guid(client, "/feeds/quiet-lab.rss?tag=open-models")
    for path, host in [
        ("/feeds/quiet-lab.rss?tag=open-models&utm_source=x", "localhost"),
        ("/feeds/quiet-lab.rss?utm_source=app&tag=Open%20Models", "localhost"),
        ("/feeds/quiet-lab.rss?tag=open-models", "feeds.other.example"),
        ("/feeds/quiet-lab.atom?tag=open-models&utm_medium=y", "127.0.0.1:8000"),
    ]:
        assert _podcast_guid(client, path, host) == filtered, (path, host)
    # upstream's guid on the show's own feed; every filtered or named feed is a podcast of its own
    upstream = "5a1c6c2e-0d2e-5a36-8f3e-3f8d1d6a9b01"
    assert _podcast_guid(client, "/feeds/quiet-lab.rss?utm_source=x", "feeds.other.example") == upstream
    others = [
        filtered,
        _podcast_guid(client, "/feeds/quiet-lab.rss?tag=open-models&limit=1"),
        _podcast_guid(client, "/feeds/quiet-lab-open.rss"),
        _podcast_guid(client, "/feeds/quiet-lab-open.rss?utm_source=x", "feeds.other.example"),
        _podcast_guid(client, "/feeds/quiet-lab-open.rss?q=hello"),
    ]
    assert len({upstream, *others}) == 5
    assert others[2] == others[3]


def test_conditional_requests(client: FlaskClient) -> None:
    first = client.get("/feeds/quiet-lab.rss")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/quiet-lab.rss", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/quiet-lab.rss", headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get("/feeds/quiet-lab.rss", headers={"If-Modified-Since": modified}).status_code == 304
    earlier = (datetime.now(UTC) - timedelta(days=3650)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert client.get("/feeds/quiet-lab.rss", headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match decides when both are sent
    both = {"If-None-Match": '"stale"', "If-Modified-Since": modified}
    assert client.get("/feeds/quiet-lab.rss", headers=both).status_code == 200
    not_modified = client.get("/feeds/quiet-lab.rss", headers={"If-None-Match": etag})
    assert not_modified.data == b""
    assert not_modified.headers["ETag"] == etag


def test_304_does_not_render(client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    etag = client.get("/feeds/quiet-lab.atom").headers["ETag"]
    from feedtool import publish

    def fail(*args: object) -> bytes:
        raise AssertionError("rendered")

    monkeypatch.setitem(publish.FORMATS, "atom", (fail, "application/atom+xml"))
    app.extensions["feedtool.cache"].__init__()  # forget rendered bytes
    assert client.get("/feeds/quiet-lab.atom", headers={"If-None-Match": etag}).status_code == 304


def test_a_cached_feed_and_its_304_read_only_the_data_version(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: every request opened the store and read the show's version twice;
    now a worker keeps its connection and checks only whether another committed."""
    import sqlite3

    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    path = "/feeds/quiet-lab.rss?tag=open-models"
    etag = client.get(path).headers["ETag"]  # opens the store, renders, caches
    statements.clear()
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert statements == ["PRAGMA data_version", "PRAGMA data_version"]


def test_repeated_requests_come_from_the_render_cache(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from feedtool import publish

    calls: list[str] = []
    render, content_type = publish.FORMATS["json"]
    monkeypatch.setitem(publish.FORMATS, "json", (lambda doc: calls.append(doc.name) or render(doc), content_type))
    bodies = {client.get("/feeds/quiet-lab.json?limit=2").data for _ in range(3)}
    assert len(bodies) == 1
    assert calls == ["quiet-lab"]
    client.get("/feeds/quiet-lab.json?limit=1")
    assert calls == ["quiet-lab", "quiet-lab"]


def test_etag_changes_only_when_a_refresh_changes_episodes(site: Path, client: FlaskClient) -> None:
    etag = client.get("/feeds/quiet-lab.rss").headers["ETag"]
    other = client.get("/feeds/bp.rss").headers["ETag"]
    assert refresh(load(site)).ok  # nothing changed upstream
    assert client.get("/feeds/quiet-lab.rss").headers["ETag"] == etag
    feed = site.parent / "full.xml"
    feed.write_text(feed.read_text().replace("Episode 1: Hello", "Episode 1: Hello again"))
    assert refresh(load(site)).ok
    response = client.get("/feeds/quiet-lab.rss", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert b"Episode 1: Hello again" in response.data
    assert client.get("/feeds/bp.rss").headers["ETag"] == other  # another show: unchanged


def test_head(client: FlaskClient) -> None:
    get = client.get("/feeds/quiet-lab.rss")
    head = client.head("/feeds/quiet-lab.rss")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_gzip(client: FlaskClient) -> None:
    plain = client.get("/feeds/quiet-lab.rss")
    packed = client.get("/feeds/quiet-lab.rss", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] != plain.headers["ETag"]
    conditional = client.get(
        "/feeds/quiet-lab.rss", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert conditional.status_code == 304
    refused = client.get("/feeds/quiet-lab.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_index_lists_shows_feeds_tags_and_status(client: FlaskClient) -> None:
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    for expected in (
        "http://localhost/feeds/quiet-lab.rss",
        "http://localhost/feeds/quiet-lab.atom",
        "http://localhost/feeds/quiet-lab.json",
        "http://localhost/feeds/quiet-lab-open.rss",
        "The Quiet Lab: open models",
        "open-models (1)",
        "Episode 2: Open weights, &amp; why they matter",
        "http://localhost/feeds.opml",
        "listing",
    ):
        assert expected in page
    assert "<script>alert(1)</script>" not in page
    assert "Boilerplate &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_opml(client: FlaskClient) -> None:
    response = client.get("/feeds.opml")
    parsed = feedparser.parse(client.get("/feeds/quiet-lab.rss").data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    for name in ("quiet-lab", "quiet-lab-open", "bp"):
        assert f'xmlUrl="http://localhost/feeds/{name}.rss"' in body
    assert parsed.feed.title in body


def test_healthz(client: FlaskClient, site: Path) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    health = json.loads(response.data)
    assert health["status"] == "ok"
    assert {(s["show"], s["kind"], s["status"]) for s in health["sources"]} == {
        ("quiet-lab", "rss", "ok"),
        ("quiet-lab", "listing", "ok"),
        ("bp", "rss", "ok"),
    }
    (site.parent / "bp.xml").unlink()
    refresh(load(site))
    import sqlite3

    db = sqlite3.connect(load(site).store)
    db.execute("UPDATE sources SET last_success = last_success - 3 * 86400 WHERE location LIKE '%bp.xml'")
    db.commit()
    db.close()
    stale = client.get("/healthz")
    assert stale.status_code == 503
    assert json.loads(stale.data)["status"] == "stale"
    assert any(s["status"] == "failed" and "cannot read" in s["error"] for s in json.loads(stale.data)["sources"])


STORE_ROUTES = ["/", "/feeds/a.rss", "/feeds/a.json", "/feeds.opml", "/healthz"]


def test_never_refreshed_source_is_unhealthy(
    write_config: Callable[[str], Path], app_factory: Callable[[Path], Flask]
) -> None:
    config = write_config("shows: {a: {sources: [{listing: x.txt}]}}")
    client = app_factory(config).test_client()
    assert not refresh(load(config)).ok  # x.txt is missing: the store exists, the source failed
    assert client.get("/healthz").status_code == 503
    assert json.loads(client.get("/healthz").data)["sources"][0]["status"] == "failed"
    assert client.get("/feeds/a.rss").status_code == 200  # an empty but valid feed
    assert client.get("/").status_code == 200


def test_no_store_is_a_503_everywhere_and_is_never_created(
    write_config: Callable[[str], Path], app_factory: Callable[[Path], Flask]
) -> None:
    """Regression (issue 9): the server created a missing store and served empty
    feeds with a new ETag and `public, max-age=300`, for apps and CDNs to keep."""
    config = write_config("shows: {a: {sources: [{listing: x.txt}]}}")
    client = app_factory(config).test_client()
    for route in STORE_ROUTES:
        response = client.get(route)
        assert response.status_code == 503, route
        assert response.headers["Cache-Control"] == "no-store"
        assert "ETag" not in response.headers
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert response.get_data(as_text=True) == (
            "503 store unavailable: no store at feedtool.sqlite: run `feedtool refresh` first\n"
        )
    assert list(config.parent.iterdir()) == [config]


def test_an_older_store_is_a_503_until_refresh_upgrades_it(site: Path, client: FlaskClient) -> None:
    import sqlite3

    db = sqlite3.connect(load(site).store)
    db.executescript(  # schema 1
        "DROP INDEX episode_tags_by_episode; DROP TABLE commits; DROP TABLE configs; DROP TABLE identity;"
        " PRAGMA user_version = 1;"
    )
    db.close()
    response = client.get("/feeds/quiet-lab.rss")
    assert response.status_code == 503
    assert "has schema version 1" in response.get_data(as_text=True)
    assert "run `feedtool refresh` to upgrade it" in response.get_data(as_text=True)
    assert refresh(load(site)).ok
    assert client.get("/feeds/quiet-lab.rss").status_code == 200


def test_store_trouble_is_a_503(site: Path, app_factory: Callable[[Path], Flask], tmp_path: Path) -> None:
    store = load(site).store
    app = app_factory(site)
    store.unlink()
    store.mkdir()  # the store path is now a folder: SQLite cannot open it
    response = app.test_client().get("/feeds/quiet-lab.rss")
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert b"Traceback" not in response.data
    assert str(tmp_path).encode() not in response.data


ROUTES = ["/", "/feeds.opml", "/healthz", "/feeds/quiet-lab.rss", "/feeds/quiet-lab-open.atom", "/feeds/bp.json"]
PARAM_NAMES = st.sampled_from(
    ["tag", "exclude_tag", "q", "since", "until", "min_duration", "max_duration", "limit", "sort", "filter",
     "filter_title", "filter_description", "filter_category", "filterout", "filterout_title",
     "filterout_description", "filterout_category", "filter_time", "filter_case_sensitive", "x", ""]
)  # fmt: skip
QUERIES = st.lists(st.tuples(PARAM_NAMES | st.text(max_size=8), st.text(max_size=30)), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), query=QUERIES, raw=st.binary(max_size=40))
def test_no_query_string_makes_a_500(client: FlaskClient, route: str, query: list[tuple[str, str]], raw: bytes) -> None:
    from urllib.parse import urlencode

    for path in (f"{route}?{urlencode(query)}", f"{route}?{raw.decode('latin-1')}"):
        response = client.get(path)
        assert response.status_code == _expected_status(client.application, path), (path, response.data[:200])


def _expected_status(app: Flask, path: str) -> int:
    """Pages ignore the query; a feed is a 400 exactly when its query is not a valid
    filter or names a tag its show does not know."""
    if not path.startswith("/feeds/"):
        return 200
    config = load(app.config["FEEDTOOL_CONFIG"])
    feed = config.feed(path.removeprefix("/feeds/").split("?")[0].rsplit(".", 1)[0])
    assert feed is not None
    with app.test_request_context(path), Store(config.store, read_only=True) as store:  # the query as the app reads it
        try:
            flt = parse_filter(request.args.to_dict(flat=False))
            check_tags(flt, [*(r.name for r in config.shows[feed.show].tags), *store.tag_counts(feed.show)])
        except FilterError:
            return 400
    return 200


def _nested_repeats() -> st.SearchStrategy[str]:
    """Counted repeats inside counted repeats, and alternations: the shape that costs memory."""
    quantifiers = st.sampled_from(["{%d}", "{%d,}", "{0,%d}", "{1,%d}", "{%d,65535}", "{%d}?"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        body = st.lists(inner, min_size=1, max_size=3).flatmap(lambda p: st.sampled_from(["".join(p), "|".join(p)]))
        count = st.sampled_from([0, 2, 50, 300, 3000, 65535]) | st.integers(0, 65535)
        return st.tuples(body, quantifiers, count).map(lambda t: f"(?:{t[0]})" + t[1] % t[2])

    return st.recursive(st.sampled_from(["a", "ab", "[a-z]", "\\w", ".", "(a)"]), extend, max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=_nested_repeats(), param=st.sampled_from(["filter", "filter_title", "filterout_description"]))
@example(pattern="(?:a{65535}){65535}", param="filter")  # the issue's: a 500, or the server killed
@example(pattern="(?:a{3000}){3000}", param="filter_title")  # the issue's: 2.4 GB kept by the worker
def test_no_regex_makes_a_500(client: FlaskClient, pattern: str, param: str) -> None:
    """Issue 9: a pattern that compiles to gigabytes is a 400 naming its parameter."""
    for case in ("true", "false"):
        response = client.get(f"/feeds/quiet-lab.rss?{param}={quote(pattern)}&filter_case_sensitive={case}")
        assert response.status_code in (200, 400), (pattern, response.data[:200])
        if response.status_code == 400:
            assert response.get_data(as_text=True).startswith(f"{param}=")


@pytest.mark.parametrize("how", ["truncated", "corrupt", "locked"])
def test_a_damaged_or_locked_store_is_a_one_line_503_everywhere(
    site: Path, app_factory: Callable[[Path], Flask], damage_store: Callable[[Path, str], None], how: str
) -> None:
    """Acceptance (issue 10): a corrupt or truncated file, or one locked past the busy
    timeout, was a 500 with a traceback on some routes."""
    site.write_text(site.read_text().replace("server: {max_age: 120}", "server: {max_age: 120, busy_timeout: 0.05}"))
    client = app_factory(site).test_client()
    damage_store(load(site).store, how)
    for route in ("/", "/feeds/quiet-lab.rss", "/feeds/quiet-lab-open.atom", "/feeds/bp.json", "/healthz"):
        response = client.get(route)
        assert response.status_code == 503, route
        body = response.get_data(as_text=True)
        assert body.startswith("503 store unavailable: cannot read the store feedtool.sqlite: "), (route, body)
        assert body.count("\n") == 1, (route, body)
        assert body.endswith("\n")
        assert response.headers["Cache-Control"] == "no-store"


# --- private shows and feeds (issue 14) ------------------------------------------------

ALICE = "alice-0123456789-abcdef"
BOB = "bob-0123456789-abcdef-longer"
PRIVATE_SITE = """
server:
  access_keys: {alice: %s, bob: %s}
shows:
%s
  bp:
    sources: [{rss: bp.xml}]
feeds:
%s
"""
PRIVATE_SHOW = """
  quiet-lab:
    private: true
    sources: [{rss: full.xml}, {listing: quietlab.txt}]
    tags:
      open-models: {match: ['open weights'], fields: [title]}
"""
PRIVATE_FEED = """
  quiet-lab-open:
    show: quiet-lab
    filter: {tag: open-models}
"""
#: What must not appear on a public page: the private show's id, title, episodes, sources, keys.
PRIVATE_MARKERS = (
    "quiet-lab",
    "Quiet Lab",
    "Open weights",
    "Hello",
    "Bonus: a very",
    "full.xml",
    "quietlab.txt",
    ALICE,
    BOB,
)


def _private_site(tmp_path: Path, with_private: bool = True) -> Path:
    """The site fixture's shows, quiet-lab private; without it, a site where it does not exist."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "full.xml").write_bytes((DATA / "rss" / "full.xml").read_bytes())
    (tmp_path / "quietlab.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    (tmp_path / "bp.xml").write_bytes((DATA / "rss" / "boilerplate.xml").read_bytes())
    path = tmp_path / "config.yaml"
    parts = (PRIVATE_SHOW, PRIVATE_FEED) if with_private else ("", "  bp-all: {show: bp}")
    path.write_text(PRIVATE_SITE % (ALICE, BOB, *parts))
    assert refresh(load(path)).ok
    return path


@pytest.fixture
def private_client(tmp_path: Path, client_for: Callable[[Path], FlaskClient]) -> FlaskClient:
    return client_for(_private_site(tmp_path / "private"))


@pytest.fixture
def absent_client(tmp_path: Path, client_for: Callable[[Path], FlaskClient]) -> FlaskClient:
    """The same site where quiet-lab and its named feed do not exist."""
    return client_for(_private_site(tmp_path / "absent", with_private=False))


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/quiet-lab.rss",
        "/feeds/quiet-lab-open.json",
        "/feeds/quiet-lab.atom?tag=open-models",
        "/feeds/quiet-lab.rss?tag=no-such-tag",  # a 400 would tell the feed exists
        "/feeds/quiet-lab.rss?limit=banana",
        "/feeds/quiet-lab",
        "/feeds/quiet-lab-open",
    ],
)
@pytest.mark.parametrize(
    "key", ["", "&key=", f"&key={ALICE[:-1]}", f"&key={ALICE}x", "&key=bp", f"&key={ALICE.upper()}"]
)
def test_a_private_feed_without_a_valid_key_is_the_unknown_feeds_404(
    private_client: FlaskClient, absent_client: FlaskClient, path: str, key: str
) -> None:
    url = path + ("&" if "?" in path else "?") + key[1:] if key else path
    private, absent = private_client.get(url), absent_client.get(url)
    assert private.status_code == absent.status_code == 404
    assert private.get_data() == absent.get_data()
    assert sorted(private.headers.items()) == sorted(absent.headers.items())


@pytest.mark.parametrize("key", [ALICE, BOB])
def test_a_private_feed_with_a_valid_key(private_client: FlaskClient, key: str) -> None:
    response = private_client.get(f"/feeds/quiet-lab.rss?key={quote(key)}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    parsed = feedparser.parse(response.get_data())
    assert len(parsed.entries) == 3
    assert "Episode 1: Hello" in [e.title for e in parsed.entries]
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [f"http://localhost/feeds/quiet-lab.rss?key={key}"]
    assert parsed.feed.link == "https://quietlab.example/"  # its website (without one: see test_publish)
    assert key.encode() not in response.get_data().replace(f"?key={key}".encode(), b"")


@pytest.mark.parametrize(
    ("path", "titles"),
    [
        ("/feeds/quiet-lab.json?tag=open-models", ["Episode 2: Open weights, & why they matter"]),
        ("/feeds/quiet-lab-open.atom", ["Episode 2: Open weights, & why they matter"]),
        ("/feeds/quiet-lab-open.rss?q=hello", []),
        ("/feeds/quiet-lab.rss?limit=1&sort=oldest", ["Bonus: a very short one"]),
    ],
)
def test_filters_apply_to_a_private_feed_and_its_self_link_keeps_them_and_the_key(
    private_client: FlaskClient, path: str, titles: list[str]
) -> None:
    url = f"{path}&key={ALICE}" if "?" in path else f"{path}?key={ALICE}"
    response = private_client.get(url)
    assert response.status_code == 200
    if path.split("?")[0].endswith(".json"):
        document = json.loads(response.get_data())
        assert [e["title"] for e in document["items"]] == titles
        self_url = document["feed_url"]
    else:
        parsed = feedparser.parse(response.get_data())
        assert [e.title for e in parsed.entries] == titles
        self_url = next(link.href for link in parsed.feed.links if link.rel == "self")
    assert self_url == f"http://localhost{url}"


def test_a_private_feeds_filter_errors_need_the_key(private_client: FlaskClient) -> None:
    response = private_client.get(f"/feeds/quiet-lab.rss?tag=no-such-tag&key={ALICE}")
    assert response.status_code == 400
    assert ALICE not in response.get_data(as_text=True)


def test_a_private_feed_is_conditional_per_listener(private_client: FlaskClient) -> None:
    alice = private_client.get(f"/feeds/quiet-lab.rss?key={ALICE}")
    bob = private_client.get(f"/feeds/quiet-lab.rss?key={BOB}")
    # Each listener's self link is theirs: never the other's bytes from the render cache.
    assert ALICE.encode() in alice.get_data()
    assert BOB.encode() not in alice.get_data()
    assert BOB.encode() in bob.get_data()
    assert ALICE.encode() not in bob.get_data()
    assert alice.headers["ETag"] != bob.headers["ETag"]
    again = private_client.get(f"/feeds/quiet-lab.rss?key={ALICE}", headers={"If-None-Match": alice.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "private, max-age=300"
    assert again.headers["Referrer-Policy"] == "no-referrer"
    stranger = private_client.get("/feeds/quiet-lab.rss?key=nobody", headers={"If-None-Match": alice.headers["ETag"]})
    assert stranger.status_code == 404


def test_a_public_feed_given_a_key_is_served_as_usual(private_client: FlaskClient) -> None:
    plain = private_client.get("/feeds/bp.rss?limit=5")
    keyed = private_client.get(f"/feeds/bp.rss?limit=5&key={ALICE}")
    assert keyed.status_code == 200
    assert keyed.get_data() == plain.get_data()
    assert keyed.headers["Cache-Control"] == "public, max-age=300"
    assert ALICE.encode() not in keyed.get_data()


@pytest.mark.parametrize("path", ["/", "/feeds.opml", "/healthz", "/feeds/nope.rss", "/feeds/nope", "/?key=wrong"])
def test_public_pages_name_no_private_show(private_client: FlaskClient, path: str) -> None:
    response = private_client.get(path)
    text = response.get_data(as_text=True)
    for marker in PRIVATE_MARKERS:
        assert marker not in text, (path, marker)
    assert "bp" in text or path.startswith("/feeds/nope")


def test_healthz_counts_private_sources_without_naming_them(private_client: FlaskClient, tmp_path: Path) -> None:
    health = private_client.get("/healthz").get_json()
    assert health["status"] == "ok"
    assert [s["show"] for s in health["sources"]] == ["bp"]
    # A private source that never refreshed makes the status stale, still without its name.
    config = tmp_path / "private" / "config.yaml"
    config.write_text(config.read_text().replace("{listing: quietlab.txt}", "{listing: never.txt}"))
    os.utime(config, (config.stat().st_mtime + 2,) * 2)
    stale = private_client.get("/healthz")
    assert stale.status_code == 503
    assert "never.txt" not in stale.get_data(as_text=True)
    assert [s["show"] for s in stale.get_json()["sources"]] == ["bp"]


@pytest.mark.parametrize("key", [ALICE, BOB])
def test_opml_and_index_with_a_key_list_its_private_feeds_with_the_key(private_client: FlaskClient, key: str) -> None:
    opml_doc = etree.fromstring(private_client.get(f"/feeds.opml?key={quote(key)}").get_data())
    urls = [o.get("xmlUrl") for o in opml_doc.iter("outline")]
    assert urls == [
        f"http://localhost/feeds/quiet-lab.rss?key={key}",
        "http://localhost/feeds/bp.rss",
        f"http://localhost/feeds/quiet-lab-open.rss?key={key}",
    ]
    index = private_client.get(f"/?key={quote(key)}")
    assert index.headers["Cache-Control"] == "private, no-cache"
    assert index.headers["Referrer-Policy"] == "no-referrer"
    page = index.get_data(as_text=True)
    assert f"/feeds/quiet-lab-open.rss?key={key}" in page
    assert f'href="http://localhost/feeds.opml?key={key}"' in page
    # The key is in links only, and the public page after it is still public (the index cache).
    assert page.count(key) == page.count(f"?key={key}") + page.count(f"&amp;key={key}")
    assert "quiet-lab" not in private_client.get("/").get_data(as_text=True)


def test_a_listener_reads_only_the_feeds_private_to_them(
    tmp_path: Path, client_for: Callable[[Path], FlaskClient]
) -> None:
    config = _private_site(tmp_path)
    config.write_text(config.read_text() + "  alice-only: {show: bp, private: [alice]}\n")
    client = client_for(config)
    assert client.get(f"/feeds/alice-only.rss?key={ALICE}").status_code == 200
    assert client.get(f"/feeds/alice-only.rss?key={BOB}").status_code == 404
    assert client.get("/feeds/alice-only.rss").status_code == 404
    assert "alice-only" not in client.get(f"/feeds.opml?key={BOB}").get_data(as_text=True)


# --- request bounds (issue 14) --------------------------------------------------------


@pytest.mark.parametrize("path", ["/feeds/bp.rss", "/", "/feeds.opml", "/healthz", "/feeds/nope.rss"])
def test_a_query_string_over_the_bound_is_a_414(client: FlaskClient, path: str) -> None:
    at_bound = client.get(f"{path}?q=" + "a" * (2048 - 2))
    assert at_bound.status_code != 414
    response = client.get(f"{path}?q=" + "secretish" * 300)
    assert response.status_code == 414
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True) == "414 URI Too Long: the query string is over 2,048 bytes\n"


def test_too_many_query_parameters_are_a_400_naming_the_limit(client: FlaskClient) -> None:
    assert client.get("/feeds/bp.rss?" + "&".join(["limit=5"] * 32)).status_code == 200
    response = client.get("/feeds/bp.rss?" + "&".join(["limit=5"] * 33))
    assert response.status_code == 400
    assert response.get_data(as_text=True) == "400 too many query parameters: 33, at most 32\n"


def test_filters_with_regular_expressions_are_not_kept_between_requests(client: FlaskClient) -> None:
    """Parsed plain filters are remembered per query string (issue 16), but a regex filter
    is parsed again each time: keeping 512 of them would keep their compiled patterns,
    past patterns.py's small cache that bounds what many patterns make a worker hold."""
    import gc

    from feedtool.filters import Pattern

    def live_patterns() -> int:
        gc.collect()
        return sum(type(o) is Pattern for o in gc.get_objects())  # isinstance would touch dead weak proxies

    before = live_patterns()
    for n in range(40):
        assert client.get(f"/feeds/quiet-lab.rss?filter=episode{n}|x{n}").status_code == 200
    assert live_patterns() <= before + 1  # at most the last request's, which the test client keeps
    for n in range(3):  # plain filters are still parsed once
        assert client.get(f"/feeds/quiet-lab.rss?q=word{n}").status_code == 200
