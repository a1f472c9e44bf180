"""Refresh end to end: sources on a real HTTP server on 127.0.0.1, the CLI, a real store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from feedtool.cli import main
from feedtool.testing.servers import Reply, Request, Upstream

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
    everything = json.loads((DATA / "radionet" / "api_offset_2.json").read_text())["episodes"]
    first = json.loads((DATA / "radionet" / "api_offset_0.json").read_text())["episodes"]
    pages = first[:2] + everything

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
    # 103 and 102 are the feed's; radio.net adds 102's missing description, and 3 more
    assert "radionet" in lines[1]
    assert "(3 new, 1 updated, 1 unchanged)" in lines[1]
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
    from feedtool.config import load
    from feedtool.store import Store

    with Store(load(config).store) as store:
        states = {s.show_id: s for s in store.source_states()}
    assert states["a"].permanent_redirect == upstream.url("/new.rss")
    assert states["b"].new_feed_url == "https://elsewhere.example/feed.xml"
    assert runner.invoke(main, ["--config", str(config), "refresh"]).exit_code == 0
    assert upstream.count("/old.rss") == 2  # still asked at the configured URL
