"""Refresh end to end (sources on a real HTTP server on 127.0.0.1, the CLI, a real store),
and its orchestration alone, with in-memory fakes at the Retriever and RefreshStore boundaries."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from feedtool.cli import main
from feedtool.config import Config, SourceConfig, load
from feedtool.errors import StoreError
from feedtool.fetch import Response
from feedtool.model import SourceState
from feedtool.refresh import refresh as refresh_shows
from feedtool.sources import KINDS, ParseContext
from feedtool.store import Store, open_store
from feedtool.testing.feeds import podcast
from feedtool.testing.servers import Reply, Request, Upstream
from feedtool.update import FetchMeta, Plan, Row, ShowState

DATA = Path(__file__).parent / "data"


def episodes_json(runner: CliRunner, config: Path, show: str, *args: str) -> list[dict[str, Any]]:
    result = runner.invoke(main, ["--config", str(config), "episodes", show, "--json", *args])
    assert result.exit_code == 0, result.output
    parsed: list[dict[str, Any]] = json.loads(result.output)
    return parsed


def refresh(runner: CliRunner, config: Path, *args: str) -> Any:
    return runner.invoke(main, ["--config", str(config), "refresh", *args])


def test_seed_listing_acceptance(shared: Path, write_config: Callable[[str], Path], runner: CliRunner) -> None:
    """The issue's acceptance run, on the real saved radio.net page of Interconnects."""
    config = write_config(
        f"""
        shows:
          interconnects:
            sources:
              - listing: {shared / "seed" / "000_6e3f75afb0f0bcf3.txt"}
            tags:
              open-models:
                match: ['open models?']
                fields: [title]
        """
    )
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    found = episodes_json(runner, config, "interconnects")
    assert [(e["title"], e["published"][:10], e["duration"]) for e in found] == [
        ("Some ideas for what comes next, May 2026", "2026-05-26", 540),
        ("Notes from inside China's AI labs", "2026-05-07", 960),
        ("The distillation panic", "2026-05-04", 480),
        ("My bets on open models, mid-2026", "2026-04-15", 360),
        ("The inevitable need for an open model consortium", "2026-04-11", 300),
    ]
    for episode in found:
        assert episode["published"].endswith("Z")
        assert "This is a public episode" not in episode["description"]
        assert "reader-supported publication" not in episode["description"]
        assert set(episode) >= {
            "guid",
            "title",
            "published",
            "duration",
            "tags",
            "enclosure",
            "link",
            "image",
            "description",
        }
    tagged = [e["title"] for e in found if "open-models" in e["tags"]]
    assert tagged == ["My bets on open models, mid-2026", "The inevitable need for an open model consortium"]
    assert [e["title"] for e in episodes_json(runner, config, "interconnects", "--tag", "open-models")] == tagged


@pytest.fixture
def three_kinds(upstream: Upstream, write_config: Callable[[str], Path], tmp_path: Path) -> Path:
    """One show with an RSS feed, a radio.net page (plus API) and a saved listing, all the
    same fictional show, served from 127.0.0.1."""
    feed = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Sternwarte</title><link>https://sternwarte.example/</link><description>Astronomie.</description>
<item><title>Folge 103: Dunkle Materie</title><guid isPermaLink="false">sw-103</guid>
<pubDate>Tue, 26 May 2026 12:00:00 +0200</pubDate><itunes:duration>45:12</itunes:duration>
<enclosure url="https://media.sternwarte.example/103.mp3?utm_source=rss" length="1000" type="audio/mpeg"/>
<description><![CDATA[<p>Die ausf\xc3\xbchrlichen Notizen.</p>]]></description></item>
<item><title>Folge 102: Exoplaneten &amp; Leben</title><guid isPermaLink="false">sw-102</guid>
<pubDate>Tue, 19 May 2026 12:00:00 +0200</pubDate><itunes:duration>1800</itunes:duration>
<enclosure url="https://media.sternwarte.example/102.mp3" length="900" type="audio/mpeg"/></item>
</channel></rss>"""
    upstream.serve("/feed.rss", feed, etag=True)
    upstream.serve("/podcast/sternwarte", (DATA / "radionet" / "next_data.html").read_bytes(), content_type="text/html",
                   etag=True)  # fmt: skip
    # The API of a show that has only these five (the fixture's show has 103).
    pages = json.loads((DATA / "radionet" / "api_offset_0.json").read_text())["episodes"][:5]

    def api(request: Request) -> Reply:
        if request.args.get("podcastIds") != "sternwarte":
            return Reply(b"unknown podcast", 404)
        offset, count = int(request.args["offset"]), int(request.args["count"])
        page = {"totalCount": len(pages), "episodes": pages[offset : offset + count]}
        return Reply(json.dumps(page).encode(), 200, {"Content-Type": "application/json"})

    upstream.route("/api/podcasts/episodes/by-podcast-ids", api)
    upstream.serve("/sternwarte.txt", (DATA / "listing" / "sternwarte_de.txt").read_bytes(), content_type="text/plain",
                   etag=True)  # fmt: skip
    return write_config(
        f"""
        shows:
          sternwarte:
            sources:
              - rss: {upstream.url("/feed.rss")}
              - radionet: {upstream.url("/podcast/sternwarte")}
                api: {upstream.url("/api")}
              - listing: {upstream.url("/sternwarte.txt")}
            tags:
              planets: {{match: ['planet'], fields: [title]}}
        """
    )


def test_merging_across_kinds(three_kinds: Path, runner: CliRunner) -> None:
    result = refresh(runner, three_kinds)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "rss" in lines[0]
    assert "new (2 new, 0 updated, 0 unchanged)" in lines[0]
    # 103 and 102 are the feed's; radio.net adds 102's missing description and 103's
    # missing image (the show's logo, from its parentLogo1200x1200), and 3 more
    assert "radionet" in lines[1]
    assert "(3 new, 2 updated, 0 unchanged)" in lines[1]
    assert "listing" in lines[2]
    assert "(0 new, 0 updated, 2 unchanged)" in lines[2]
    found = {e["title"]: e for e in episodes_json(runner, three_kinds, "sternwarte")}
    assert list(found) == [
        "Folge 103: Dunkle Materie",
        "Folge 102: Exoplaneten & Leben",
        "Folge 101: Neutronensterne",
        "Folge 100: Jubiläum",
        "Folge 99: Kometen",
    ]
    dark = found["Folge 103: Dunkle Materie"]
    assert dark["guid"] == "sw-103"  # the feed came first: its GUID stays
    assert dark["duration"] == 2712  # the feed's exact duration, not "45 Min."
    assert dark["published"] == "2026-05-26T10:00:00Z"
    assert dark["description"] == "<p>Die ausführlichen Notizen.</p>"
    assert dark["enclosure"]["url"] == "https://media.sternwarte.example/103.mp3?utm_source=rss"
    assert dark["image"] == "https://img.radio.example/sternwarte/logo_1200x1200.png"
    # radio.net alone knows episodes 99 to 101: their GUIDs are derived from the audio URL
    assert found["Folge 100: Jubiläum"]["guid"] == "https://media.sternwarte.example/100.mp3"
    assert found["Folge 102: Exoplaneten & Leben"]["tags"] == ["planets"]


def test_second_refresh_changes_nothing(three_kinds: Path, runner: CliRunner, upstream: Upstream) -> None:
    assert refresh(runner, three_kinds).exit_code == 0
    before = episodes_json(runner, three_kinds, "sternwarte")
    served = len(upstream.log)
    result = refresh(runner, three_kinds)
    assert result.exit_code == 0, result.output
    assert [line.split(": ")[-1] for line in result.output.splitlines()[:3]] == ["unchanged"] * 3
    assert episodes_json(runner, three_kinds, "sternwarte") == before
    # 304 for the feed, page and listing: the API is not paged again
    assert [r.path for r, _ in upstream.log[served:]] == ["/feed.rss", "/podcast/sternwarte", "/sternwarte.txt"]
    assert [reply.status for _, reply in upstream.log[served:]] == [304, 304, 304]


def test_failing_source_is_isolated(three_kinds: Path, runner: CliRunner, upstream: Upstream) -> None:
    assert refresh(runner, three_kinds).exit_code == 0
    before = episodes_json(runner, three_kinds, "sternwarte")
    upstream.clear()
    upstream.serve("/sternwarte.txt", (DATA / "listing" / "sternwarte_de.txt").read_bytes(), content_type="text/plain",
                   etag=True)  # fmt: skip
    upstream.serve("/feed.rss", "<html><body>Maintenance</body></html>", content_type="text/html")
    upstream.serve("/podcast/sternwarte", "down", status=503, content_type="text/plain")
    result = refresh(runner, three_kinds)
    assert result.exit_code == 1
    assert "rss http://127.0.0.1" in result.output
    assert "failed: an HTML page, not a feed" in result.output
    assert "failed: HTTP 503 Service Unavailable (gave up after 3 tries)" in result.output
    assert "listing" in result.output.splitlines()[2]
    assert "unchanged" in result.output.splitlines()[2]
    assert "3 sources: 1 ok, 2 failed" in result.output
    assert episodes_json(runner, three_kinds, "sternwarte") == before


#: The radio.net API's 103 episodes of the fixture show, newest first.
RADIO_API = [
    obj
    for offset in (0, 50, 100)
    for obj in json.loads((DATA / "radionet" / f"api_offset_{offset}.json").read_bytes())["episodes"]
]


def expected_description(text: str | None) -> str | None:
    """The API's plain text as stored: a paragraph per line, the built-in boilerplate gone."""
    lines = [line.strip() for line in (text or "").splitlines()]
    kept = [line for line in lines if line and "reader-supported publication" not in line]
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in kept) or None


@pytest.fixture
def radio(upstream: Upstream, write_config: Callable[[str], Path]) -> Callable[[str, int], Path]:
    """A loopback radio.de: the show's page (a fixture) and its episode API; a config for it."""

    def serve(page: str, api_status: int = 200) -> Path:
        upstream.serve("/podcast/sternwarte", (DATA / "radionet" / page).read_bytes(), content_type="text/html",
                       etag=True)  # fmt: skip

        def api(request: Request) -> Reply:
            if api_status != 200:
                return Reply(b"<html>maintenance</html>", api_status, {"Content-Type": "text/html"})
            if request.args.get("podcastIds") != "sternwarte":
                return Reply(b"unknown podcast", 404)
            offset, count = int(request.args["offset"]), int(request.args["count"])
            page_ = {"totalCount": len(RADIO_API), "episodes": RADIO_API[offset : offset + count]}
            return Reply(json.dumps(page_).encode(), 200, {"Content-Type": "application/json"})

        upstream.route("/api/podcasts/episodes/by-podcast-ids", api)
        return write_config(
            f"""
            fetch: {{retries: 1}}
            shows:
              sternwarte:
                sources:
                  - radionet: {upstream.url("/podcast/sternwarte")}
                    api: {upstream.url("/api")}
            """
        )

    return serve


def source_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "feedtool.sources.common"]


@pytest.mark.parametrize("page", ["next_data.html", "flight.html"], ids=["old-page", "new-page"])
def test_radionet_acceptance(
    page: str, radio: Callable[[str], Path], runner: CliRunner, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12: every episode the API has, exactly as it has them, and the show's title."""
    config = radio(page)
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert "new (103 new, 0 updated, 0 unchanged)" in result.output
    assert "warning" not in result.output
    assert source_warnings(caplog) == []
    stored = {e["guid"]: e for e in episodes_json(runner, config, "sternwarte")}
    assert len(stored) == len(RADIO_API) == 103
    for obj in RADIO_API:
        episode = stored[obj["url"].split("?")[0]]
        assert episode["title"] == html.unescape(obj["title"])
        assert episode["description"] == expected_description(obj["description"])
        assert episode["duration"] == obj["duration"]
        assert episode["published"] == datetime.fromtimestamp(obj["publishDate"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert episode["enclosure"]["url"] == obj["url"]
        suffix_type = "audio/mp4" if obj["url"].split("?")[0].endswith(".m4a") else "audio/mpeg"
        assert episode["enclosure"]["type"] == obj.get("contentFormat", suffix_type)
    with Store(load(config).store, read_only=True) as store:
        show = store.show("sternwarte")
    assert show is not None
    assert show.info.title == "Sternwarte"


def test_radionet_page_without_data(
    radio: Callable[[str], Path], runner: CliRunner, caplog: pytest.LogCaptureFixture
) -> None:
    """A page radio.net no longer fills: every episode from the API, one warning, exit 0."""
    config = radio("no_data.html")
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert "new (103 new, 0 updated, 0 unchanged); 1 warning" in result.output
    (warning,) = source_warnings(caplog)
    assert "could not read its episode list (no episode list in the page's flight data)" in warning
    assert "its show details" in warning
    assert len(episodes_json(runner, config, "sternwarte")) == 103
    with Store(load(config).store, read_only=True) as store:
        show = store.show("sternwarte")
    assert show is not None
    assert show.info.title == "Sternwarte"  # from the API's episodes


def test_radionet_api_down(
    radio: Callable[[str, int], Path], runner: CliRunner, caplog: pytest.LogCaptureFixture
) -> None:
    """The page's episodes, with a warning naming the API's failure; the API's later, once each."""
    config = radio("flight.html", 503)
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert "new (3 new, 0 updated, 0 unchanged); 1 warning" in result.output
    (warning,) = source_warnings(caplog)
    assert warning.endswith(
        "the episode API failed (HTTP 503 Service Unavailable (gave up after 1 tries)): "
        "only the 3 episodes on the page were read"
    )
    found = episodes_json(runner, config, "sternwarte")
    assert [e["title"] for e in found] == [
        "Folge 103: Dunkle Materie",
        "Folge 102: Exoplaneten & Leben",
        "Folge 101: Neutronensterne",
    ]
    assert found[1]["description"] == "<p>$-Frage: Gibt es Leben da draußen? (Kurzfassung der Folge)</p>"
    # The API is back and the page has changed: the same three episodes, now with the API's text.
    config = radio("next_data.html")
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert "(100 new, 1 updated, 2 unchanged)" in result.output
    found = episodes_json(runner, config, "sternwarte")
    assert len(found) == 103
    assert found[1]["description"] == "<p>Gibt es Leben da draußen?</p>"


def test_radionet_api_back_while_the_page_is_unchanged(radio: Callable[[str, int], Path], runner: CliRunner) -> None:
    """A read that missed the API keeps no validators: the same page (304) next time still
    brings in the API's episodes (they waited for the page to change before)."""
    config = radio("flight.html", 503)
    result = refresh(runner, config)
    assert "(3 new, 0 updated, 0 unchanged); 1 warning" in result.output
    radio("flight.html")  # the API is back; the page answers as before
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert "(100 new, " in result.output
    assert len(episodes_json(runner, config, "sternwarte")) == 103
    result = refresh(runner, config)  # now complete: a 304 stands for everything again
    assert "podcast/sternwarte: unchanged\n" in result.output


def test_radionet_guids_are_the_ones_stored_before(radio: Callable[[str], Path], runner: CliRunner) -> None:
    """feedtool before issue 12 stored these GUIDs for the same API: an upgrade downloads nothing twice."""
    before = json.loads((DATA / "radionet" / "guids_before.json").read_text())["guids"]
    config = radio("flight.html")
    assert refresh(runner, config).exit_code == 0
    assert sorted(e["guid"] for e in episodes_json(runner, config, "sternwarte")) == sorted(before)
    # The site moves from one page format to the other: nothing new.
    config = radio("next_data.html")
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert "(0 new, 0 updated, 103 unchanged)" in result.output


def test_refresh_of_named_shows_only(write_config: Callable[[str], Path], runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    config = write_config(
        """
        shows:
          a: {sources: [{listing: a.txt}]}
          b: {sources: [{listing: missing.txt}]}
        """
    )
    result = refresh(runner, config, "a")
    assert result.exit_code == 0, result.output
    assert "1 sources: 1 ok" in result.output
    result = refresh(runner, config, "nope")
    assert result.exit_code == 2
    assert "unknown show 'nope'" in result.output
    result = refresh(runner, config)
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_changed_tag_rules_retag_history(
    write_config: Callable[[str], Path], runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    rules = "shows:\n  a:\n    sources: [{listing: a.txt}]\n    tags: {t: {match: ['%s'], fields: [title]}}\n"
    config = write_config(rules % "hello")
    refresh(runner, config)
    assert [e["title"] for e in episodes_json(runner, config, "a", "--tag", "t")] == ["Episode 1: Hello"]
    (tmp_path / "a.txt").unlink()  # the source is gone: the rules still apply to what is stored
    write_config(rules % "bonus")
    assert refresh(runner, config).exit_code == 1
    assert [e["title"] for e in episodes_json(runner, config, "a", "--tag", "t")] == ["Bonus: a very short one"]


def test_the_summary_says_how_many_stored_episodes_changed_rules_retagged(
    write_config: Callable[[str], Path], runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    rules = "shows:\n  a:\n    sources: [{listing: a.txt}]\n    tags: {t: {match: ['%s'], fields: [title]}}\n"
    config = write_config(rules % "hello")
    first = refresh(runner, config)
    assert first.exit_code == 0, first.output
    assert "retagged" not in first.output  # a new show has no rules that changed
    write_config(rules % "bonus|open")  # episode 1 loses the tag, the two others gain it
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    tagged = [e["title"] for e in episodes_json(runner, config, "a", "--tag", "t")]
    assert tagged == ["Episode 2: Open weights, & why they matter", "Bonus: a very short one"]
    assert result.output.rstrip().endswith("0 updated episodes; a: rules changed, 3 stored episodes retagged")
    assert "retagged" not in refresh(runner, config).output  # unchanged rules: nothing to say


def test_moved_feeds_are_reported(upstream: Upstream, write_config: Callable[[str], Path], runner: CliRunner) -> None:
    """A permanent redirect and an itunes:new-feed-url are recorded and shown, not followed for ever."""
    upstream.serve("/old.rss", "", status=301, headers={"Location": "/new.rss"})
    upstream.serve("/new.rss", (DATA / "rss" / "full.xml").read_bytes())
    announcing = (
        (DATA / "rss" / "full.xml")
        .read_text()
        .replace(
            "<language>", "<itunes:new-feed-url>https://elsewhere.example/feed.xml</itunes:new-feed-url><language>"
        )
    )
    upstream.serve("/announcing.rss", announcing)
    config = write_config(
        f"""
        shows:
          a: {{sources: [{{rss: "{upstream.url("/old.rss")}"}}]}}
          b: {{sources: [{{rss: "{upstream.url("/announcing.rss")}"}}]}}
        """
    )
    result = refresh(runner, config)
    assert result.exit_code == 0, result.output
    assert f"moved to {upstream.url('/new.rss')}: update config.yaml" in result.output
    assert "moved to https://elsewhere.example/feed.xml: update config.yaml" in result.output
    from feedtool.store import Store

    with Store(load(config).store) as store:
        states = {s.show_id: s for s in store.source_states()}
    assert states["a"].permanent_redirect == upstream.url("/new.rss")
    assert states["b"].new_feed_url == "https://elsewhere.example/feed.xml"
    assert runner.invoke(main, ["--config", str(config), "refresh"]).exit_code == 0
    assert upstream.count("/old.rss") == 2  # still asked at the configured URL


def test_a_bad_date_is_reported_once(
    upstream: Upstream, write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10: normalize logged every unreadable date and the parser warned again."""
    upstream.serve(
        "/feed.xml",
        b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>S</title>
<item><title>Dated</title><guid>g1</guid><pubDate>Tue, 26 May 2026 10:00:00 GMT</pubDate></item>
<item><title>Undated</title><guid>g2</guid><pubDate>next Tuesday-ish</pubDate></item>
</channel></rss>""",
        content_type="application/rss+xml",
    )
    config = write_config(f"shows: {{s: {{sources: [{{rss: '{upstream.url('/feed.xml')}'}}]}}}}\n")
    with caplog.at_level(logging.DEBUG):
        report = refresh_shows(load(config))
    assert [r.warnings for r in report.results] == [
        ("item 'Undated': unreadable or absurd date 'next Tuesday-ish' ignored",)
    ]
    assert [r.getMessage() for r in caplog.records if "next Tuesday-ish" in r.getMessage()] == [
        f"{upstream.url('/feed.xml')}: item 'Undated': unreadable or absurd date 'next Tuesday-ish' ignored"
    ]


SLOW_TITLE = "a" * 60 + "!"
SLOW_RULES = """
server: {regex_timeout: 0.1}
shows:
  slow:
    sources: [{rss: "%s"}]
    tags: {long: {match: ['%s'], fields: [title]}}
  fast: {sources: [{rss: "%s"}]}
"""


@pytest.fixture
def slow_site(upstream: Upstream, write_config: Callable[[str], Path]) -> Callable[[str], Path]:
    """Two shows on loopback; 'slow' has an episode titled so that ^(a|aa)+$ backtracks for ever."""
    feed = (DATA / "rss" / "full.xml").read_text()
    upstream.serve("/slow.rss", feed.replace("Episode 1: Hello", SLOW_TITLE))
    upstream.serve("/fast.rss", feed)

    def configure(rule: str) -> Path:
        return write_config(SLOW_RULES % (upstream.url("/slow.rss"), rule, upstream.url("/fast.rss")))

    return configure


def test_a_rule_that_runs_out_of_time_fails_its_source(slow_site: Callable[[str], Path], runner: CliRunner) -> None:
    """Issue 9: a rule is bounded by server.regex_timeout; its source fails, nothing of it is stored."""
    config = slow_site("^(a|aa)+$")
    result = refresh(runner, config)
    assert result.exit_code == 1, result.output
    assert (
        "failed: shows.slow.tags.long.match[0]: the regex '^(a|aa)+$' did not finish within 0.1 s "
        f"(server.regex_timeout) on the title of episode '{SLOW_TITLE}'; simplify it"
    ) in result.output
    assert "2 sources: 1 ok, 1 failed" in result.output
    assert episodes_json(runner, config, "slow") == []
    assert len(episodes_json(runner, config, "fast")) > 0


def test_a_rule_that_runs_out_of_time_on_stored_episodes_fails_the_show(
    slow_site: Callable[[str], Path], runner: CliRunner
) -> None:
    config = slow_site("^b")
    assert refresh(runner, config).exit_code == 0
    stored = episodes_json(runner, config, "slow")
    slow_site("^(a|aa)+$")  # the new rule must be applied to the stored episodes first
    result = refresh(runner, config)
    assert result.exit_code == 1, result.output
    assert "failed: retagging stored episodes: shows.slow.tags.long.match[0]: the regex" in result.output
    assert episodes_json(runner, config, "slow") == stored  # nothing retagged, nothing refreshed
    assert refresh(runner, config).exit_code == 1  # the rules are still unapplied: tried again


# --- orchestration, with fakes at the Retriever and RefreshStore boundaries ----------


class MemoryRetriever:
    """Answers from a dict of location -> Response, and remembers what was asked."""

    def __init__(self, answers: dict[str, Response]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str | None]] = []

    def get(self, location: str, *, etag: str | None = None, last_modified: str | None = None) -> Response:
        self.asked.append((location, etag))
        return self.answers[location]

    def close(self) -> None:
        raise AssertionError("refresh closes only the retriever it made")


class MemoryStore:
    """A RefreshStore that keeps what it is told in lists."""

    def __init__(self, digests: dict[str, str] | None = None, states: Sequence[SourceState] = ()) -> None:
        self.digests = dict(digests or {})
        self.states = {(s.show_id, s.kind, s.location): s for s in states}
        self.plans: list[tuple[Plan, FetchMeta]] = []
        self.unchanged: list[tuple[str, str, FetchMeta]] = []
        self.failures: list[tuple[str, str, str]] = []
        self.retagged: list[str] = []
        self.failure: Exception | None = None
        self.closed = 0

    def close(self) -> None:
        self.closed += 1

    def rules_digest(self, show_id: str) -> str | None:
        return self.digests.get(show_id)

    def show_state(self, show_id: str) -> ShowState:
        return ShowState(show_id)

    def source_state(self, show_id: str, source: SourceConfig) -> SourceState:
        return self.states.get(
            (show_id, source.kind, source.location), SourceState(show_id, source.kind, source.location)
        )

    def record_unchanged(self, show_id: str, source: SourceConfig, meta: FetchMeta) -> None:
        self.unchanged.append((show_id, source.location, meta))

    def record_failure(self, show_id: str, source: SourceConfig, error: str) -> None:
        self.failures.append((show_id, source.location, error))

    def apply(self, plan: Plan, meta: FetchMeta) -> None:
        if self.failure is not None:
            raise self.failure
        self.plans.append((plan, meta))

    def apply_retag(self, show_id: str, updates: Sequence[tuple[int, Row]], rules_digest: str) -> None:
        self.retagged.append(show_id)
        self.digests[show_id] = rules_digest


FEED = "https://feeds.example/a.rss"


@pytest.fixture
def one_feed(write_config: Callable[[str], Path]) -> Config:
    return load(write_config(f"shows: {{a: {{sources: [{{rss: '{FEED}'}}]}}}}"))


def test_a_source_is_fetched_parsed_planned_and_applied(one_feed: Config) -> None:
    body = (DATA / "rss" / "full.xml").read_bytes()
    retriever = MemoryRetriever({FEED: Response(200, body, FEED, etag='"v1"')})
    store = MemoryStore()
    report = refresh_shows(one_feed, retriever=retriever, store=lambda config: store)
    assert [r.status for r in report.results] == ["new"]
    assert retriever.asked == [(FEED, None)]  # rules never applied: fetched unconditionally
    assert store.retagged == ["a"]
    ((plan, meta),) = store.plans
    assert plan.source == ("rss", FEED)
    assert [row.episode.guid for _, row in plan.inserts] == [
        e.guid for e in KINDS["rss"].parse(body, _context(FEED)).episodes
    ]
    assert plan.counts.new == len(plan.inserts) == 2
    assert meta == FetchMeta('"v1"', None, hashlib.sha256(body).hexdigest(), None)
    assert store.closed == 1


def test_a_refresh_stores_the_same_episodes_on_each_backend(one_feed: Config, backend_url: str, tmp_path: Path) -> None:
    """The same feed refreshed into a store of each backend and into a SQLite reference
    store: the same episodes, tags, ids and source state; a 304 then changes nothing."""
    body = (DATA / "rss" / "full.xml").read_bytes()

    def fetched() -> MemoryRetriever:
        return MemoryRetriever({FEED: Response(200, body, FEED, etag='"v1"')})

    def snapshot(store: Store) -> list[tuple[object, ...]]:
        return [(e.id, e.data, e.tags) for e in store.episodes("a")]

    with open_store(tmp_path / "reference.sqlite") as reference:
        refresh_shows(one_feed, retriever=fetched(), store=lambda config: _Unclosed(reference))
        expected = snapshot(reference)
    with open_store(backend_url) as store:
        report = refresh_shows(one_feed, retriever=fetched(), store=lambda config: _Unclosed(store))
        assert [r.status for r in report.results] == ["new"]
        assert snapshot(store) == expected
        assert len(expected) == 2
        version = store.version("a")[0]
        not_modified = MemoryRetriever({FEED: Response(304, b"", FEED)})
        report = refresh_shows(one_feed, retriever=not_modified, store=lambda config: _Unclosed(store))
        assert [r.status for r in report.results] == ["unchanged"]
        assert not_modified.asked == [(FEED, '"v1"')]
        assert store.version("a")[0] == version
        assert snapshot(store) == expected


class _Unclosed:
    """A store that refresh() may close without closing it (the test reads it after)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def close(self) -> None:
        pass


def test_a_304_is_recorded_as_unchanged_and_nothing_is_planned(one_feed: Config) -> None:
    show = one_feed.shows["a"]
    store = MemoryStore({"a": show.rules_digest}, [SourceState("a", "rss", FEED, etag='"v1"')])
    retriever = MemoryRetriever({FEED: Response(304, b"", FEED, etag='"v1"')})
    report = refresh_shows(one_feed, retriever=retriever, store=lambda config: store)
    assert [r.status for r in report.results] == ["unchanged"]
    assert retriever.asked == [(FEED, '"v1"')]
    assert store.plans == []
    assert store.retagged == []
    assert store.unchanged == [("a", FEED, FetchMeta('"v1"'))]


def test_a_store_that_fails_fails_the_source_and_records_why(one_feed: Config) -> None:
    store = MemoryStore()
    store.failure = StoreError("cannot write to the store s.sqlite: disk full")
    retriever = MemoryRetriever({FEED: Response(200, (DATA / "rss" / "full.xml").read_bytes(), FEED)})
    report = refresh_shows(one_feed, retriever=retriever, store=lambda config: store)
    assert [(r.status, r.error) for r in report.results] == [
        ("failed", "cannot write to the store s.sqlite: disk full")
    ]
    assert store.failures == [("a", FEED, "cannot write to the store s.sqlite: disk full")]


def test_a_store_that_fails_while_retagging_fails_that_show_alone(write_config: Callable[[str], Path]) -> None:
    """Regression: a StoreError while applying changed rules escaped the show's worker and
    ended the whole refresh with a traceback, the other shows' results lost."""
    other = "https://feeds.example/b.rss"
    config = load(write_config(f"shows: {{a: {{sources: [{{rss: '{FEED}'}}]}}, b: {{sources: [{{rss: '{other}'}}]}}}}"))
    body = (DATA / "rss" / "full.xml").read_bytes()
    retriever = MemoryRetriever({FEED: Response(200, body, FEED), other: Response(200, body, other)})

    class Locked(MemoryStore):
        def apply_retag(self, show_id: str, updates: Sequence[tuple[int, Row]], rules_digest: str) -> None:
            if show_id == "a":
                raise StoreError("cannot write to the store s.sqlite: locked by another writer")
            super().apply_retag(show_id, updates, rules_digest)

    store = Locked()
    report = refresh_shows(config, retriever=retriever, store=lambda config: store)
    assert [(r.show_id, r.status, r.error) for r in report.results] == [
        ("a", "failed", "retagging stored episodes: cannot write to the store s.sqlite: locked by another writer"),
        ("b", "new", None),
    ]


def _context(location: str) -> ParseContext:
    return ParseContext(show_id="a", location=location)


# --- stored rows: the same input is stored byte for byte as before --------------------

GOLDEN = DATA / "store" / "golden-rows.json"


def stored_rows(folder: Path) -> dict[str, list[list[Any]]]:
    """Refresh every RSS and listing fixture, and synthetic podcasts with long and short
    notes, into a new store (tags and strip rules, two sources merged into one show);
    return its rows without the refresh's own times, and the refresh's warnings."""
    feeds = sorted((DATA / "rss").glob("*.xml"))
    synthetic = {"long-notes": podcast(30, notes=4000), "short-notes": podcast(30, notes=500, seed=1)}
    for name, body in synthetic.items():
        (folder / f"{name}.xml").write_bytes(body)
    rules = (
        "    tags: {open-models: {match: ['open (weights|models?)']}, dates: {match: ['\\\\d{4}'], fields: [title]}}\n"
        "    strip: ['Sponsored segments are marked\\\\.']\n"
    )
    shows = [f"  {path.stem.replace('_', '-')}:\n    sources: [{{rss: {path}}}]\n{rules}" for path in feeds]
    shows += [f"  {name}:\n    sources: [{{rss: {folder / name}.xml}}]\n{rules}" for name in synthetic]
    merged = f"{{rss: {DATA / 'rss' / 'full.xml'}}}, {{listing: {DATA / 'listing' / 'quietlab.txt'}}}"
    shows.append(f"  merged:\n    sources: [{merged}]\n")
    config_path = folder / "config.yaml"
    config_path.write_text(f"store: {folder / 'store.sqlite'}\nshows:\n" + "".join(shows), encoding="utf-8")
    report = refresh_shows(load(config_path))  # fixtures that fail (on purpose) are recorded as failures
    queries = {
        "shows": "SELECT id, info, info_ranks, rules_digest FROM shows ORDER BY id",
        "sources": "SELECT show_id, kind, status, error, etag, last_modified, content_hash, permanent_redirect,"
        " new_feed_url, episode_count FROM sources ORDER BY show_id, kind",
        # sort_time is the first_seen time (now) of an episode without a date; position: the order of inserts
        "episodes": "SELECT show_id, guid, title, data, ranks, tags, categories, search, published,"
        " sort_time = COALESCE(published, first_seen), duration,"
        " (SELECT COUNT(*) FROM episodes o WHERE o.show_id = e.show_id AND o.id < e.id) FROM episodes e"
        " ORDER BY show_id, guid",
        "episode_tags": "SELECT e.show_id, e.guid, t.tag FROM episode_tags t JOIN episodes e ON e.id = t.episode_id"
        " ORDER BY 1, 2, 3",
        "episode_links": "SELECT s.show_id, s.kind, l.item_guid, e.guid FROM episode_links l"
        " JOIN sources s ON s.id = l.source_id JOIN episodes e ON e.id = l.episode_id ORDER BY 1, 2, 3",
    }
    with sqlite3.connect(folder / "store.sqlite") as db:
        rows = {name: [list(row) for row in db.execute(query)] for name, query in queries.items()}
    db.close()
    rows["warnings"] = [[r.show_id, r.source.kind, *r.warnings] for r in report.results]
    # File paths differ between runs: stored as a placeholder.
    text = json.dumps(rows).replace(str(folder), "<work>").replace(str(DATA), "<data>")
    loaded: dict[str, list[list[Any]]] = json.loads(text)
    return loaded


def test_stored_rows_are_the_same_as_before(tmp_path: Path) -> None:
    """Every stored value of the fixtures is byte for byte what release code stored
    (tests/data/store/golden-rows.json, written from main before issue 16's
    optimisations; write it again only for a deliberate change of what is stored:
    ``python -c 'from tests.test_refresh import write_golden; write_golden()'``)."""
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = stored_rows(tmp_path)
    assert sum(len(rows) for rows in found.values()) > 500
    for table in expected:
        assert found[table] == expected[table], table


def write_golden() -> None:
    """Write GOLDEN from the code as it is."""
    with tempfile.TemporaryDirectory() as folder:
        rows = stored_rows(Path(folder))
    GOLDEN.write_text(json.dumps(rows, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")


def test_a_postgresql_store_named_by_the_config_stores_what_sqlite_does(
    three_kinds: Path,
    runner: CliRunner,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client_for: Callable[[Path], Any],
) -> None:
    """`store: postgresql://...` (its password through ${VAR}) is refreshed, listed and
    served as the SQLite store of the same config is; the password is never shown."""
    monkeypatch.setenv("FEEDTOOL_TEST_PG_PASSWORD", "s3cret-pw")
    url = postgres_url.replace("postgres@", "postgres:${FEEDTOOL_TEST_PG_PASSWORD}@")  # trust auth ignores it
    text = three_kinds.read_text()
    on_postgres = tmp_path / "pg" / "config.yaml"
    on_postgres.parent.mkdir()
    on_postgres.write_text(f"store: '{url}'\n{text}")
    assert isinstance(load(on_postgres).store, str)
    assert refresh(runner, three_kinds).exit_code == 0
    result = refresh(runner, on_postgres)
    assert result.exit_code == 0, result.output
    assert episodes_json(runner, on_postgres, "sternwarte") == episodes_json(runner, three_kinds, "sternwarte")
    assert refresh(runner, on_postgres).output.count("unchanged") == 3
    checked = runner.invoke(main, ["--config", str(on_postgres), "check"])
    assert checked.exit_code == 0, checked.output
    assert "127.0.0.1" in checked.output
    assert "s3cret-pw" not in checked.output
    assert not (on_postgres.parent / "feedtool.sqlite").exists()
    served_sqlite = client_for(three_kinds).get("/feeds/sternwarte.json")
    served_postgres = client_for(on_postgres).get("/feeds/sternwarte.json")
    assert served_postgres.status_code == 200
    assert served_postgres.get_json()["items"] == served_sqlite.get_json()["items"]
