"""End to end with real podcast clients: gPodder's gpo and newsboat subscribe to feeds
served by a real gunicorn process, whose store a real `feedtool refresh` process
filled from an upstream feed on 127.0.0.1. Assertions read what each client stored
(both keep SQLite files): both clients exit 0 even on a 404 or a broken feed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedtool.lint import lint
from feedtool.normalize.identity import atom_id
from feedtool.testing.feeds import feed, item
from feedtool.testing.servers import GUNICORN, Upstream, feedtool_server

pytestmark = pytest.mark.clients

needs_gunicorn = pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
needs_gpo = pytest.mark.skipif(shutil.which("gpo") is None, reason="gPodder's gpo is not installed (Debian: gpodder)")
needs_newsboat = pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed")

EPISODES = 12  # more than one page of anything, fewer than gPodder's default limit


def upstream_feed(*, changed: bool = False) -> bytes:
    """A complete sample show. ``changed``: one new episode, one enclosure URL with a
    new tracking token, one edited title."""
    items = []
    for n in range(EPISODES + 1 if changed else EPISODES, 0, -1):
        title = f"Open models, part {n}" if n % 4 == 0 else f"Lab notes {n}"
        if changed and n == 5:
            title = "Lab notes 5 (re-edited)"
        token = "abc123" if not (changed and n == 7) else "zzz999"
        items.append(
            item(n, title=title, guid=f"lab-{n:03d}", link=f"https://lab.example/episodes/{n}",
                 published=datetime.fromtimestamp(1767225600 + n * 86400, UTC),
                 description=f"<p>Notes for episode {n}.</p>", enclosure=f"https://cdn.lab.example/{n}.mp3?token={token}",
                 length=1000000 + n, duration=600 + n)
        )  # fmt: skip
    channel = (
        '<language>en</language><itunes:image href="https://lab.example/art.png"/><itunes:author>Lab</itunes:author>'
        '<itunes:category text="Science"/><itunes:explicit>false</itunes:explicit>'
    )
    return feed(items, title="The Lab", link="https://lab.example/", description="Notes from the lab.", extra=channel)


@dataclass
class Site:
    config: Path
    base: str
    upstream: Upstream

    def refresh(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "feedtool", "--config", str(self.config), "refresh"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def expected(self, *flags: str) -> list[dict[str, Any]]:
        result = subprocess.run(
            [sys.executable, "-m", "feedtool", "--config", str(self.config), "episodes", "lab", "--json", *flags],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        episodes: list[dict[str, Any]] = json.loads(result.stdout)
        return episodes

    def serve_upstream(self, body: bytes) -> None:
        self.upstream.serve("/feed.rss", body)


@pytest.fixture
def site(tmp_path: Path, upstream: Upstream) -> Iterator[Site]:
    """Upstream on 127.0.0.1, a refreshed store, and gunicorn serving it (2 workers)."""
    if GUNICORN is None:
        pytest.skip("gunicorn is not installed")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
shows:
  lab:
    sources: [{{rss: "{upstream.url("/feed.rss")}"}}]
    tags:
      open-models: {{match: ['open models'], fields: [title]}}
feeds:
  lab-open-models: {{show: lab, filter: {{tag: open-models}}}}
"""
    )
    site = Site(config, "", upstream)
    site.serve_upstream(upstream_feed())
    site.refresh()
    with feedtool_server(config, tmp_path / "gunicorn.log") as base:
        site.base = base
        yield site


def _client_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home), "GPODDER_HOME": str(home / "gpodder"), "XDG_CONFIG_HOME": str(home)}


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)


def gpodder_episodes(home: Path, url: str, *, update: bool = False) -> list[sqlite3.Row]:
    env = _client_env(home)
    if not update:
        _run(["gpo", "set", "limit.episodes", "5000"], env)
        _run(["gpo", "subscribe", url], env)
    else:
        _run(["gpo", "update", url], env)
    db = sqlite3.connect(home / "gpodder" / "Database")
    db.row_factory = sqlite3.Row
    rows = db.execute(
        "SELECT e.* FROM episode e JOIN podcast p ON p.id = e.podcast_id WHERE p.url = ? ORDER BY e.published DESC",
        (url,),
    ).fetchall()
    db.close()
    return rows


def newsboat_items(home: Path, url: str) -> list[sqlite3.Row]:
    env = _client_env(home)
    (home / "urls").write_text(url + "\n")
    _run(["newsboat", "-u", str(home / "urls"), "-c", str(home / "cache.db"), "-x", "reload"], env)
    db = sqlite3.connect(home / "cache.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM rss_item WHERE feedurl = ? ORDER BY pubDate DESC", (url,)).fetchall()
    db.close()
    return rows


def _epoch(iso: str) -> int:
    return int(time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)


CASES = [("rss", ()), ("rss", ("--tag", "open-models")), ("atom", ()), ("atom", ("--tag", "open-models"))]
IDS = ["rss", "rss-filtered", "atom", "atom-filtered"]


def _id(fmt: str, guid: str) -> str:
    """The id a client reads: the GUID, or in Atom the IRI made of it ("lab-001" is none)."""
    return atom_id("lab", guid) if fmt == "atom" else guid


def _url(site: Site, fmt: str, flags: tuple[str, ...]) -> str:
    return f"{site.base}/feeds/lab.{fmt}" + ("?tag=open-models" if flags else "")


@needs_gunicorn
@needs_gpo
@pytest.mark.parametrize(("fmt", "flags"), CASES, ids=IDS)
def test_gpodder(site: Site, tmp_path: Path, fmt: str, flags: tuple[str, ...]) -> None:
    url = _url(site, fmt, flags)
    if fmt == "rss":
        assert lint(urllib.request.urlopen(url, timeout=10).read()) == []
    expected = site.expected(*flags)
    assert len(expected) == (EPISODES // 4 if flags else EPISODES)
    rows = gpodder_episodes(tmp_path / "gpo", url)
    assert [r["guid"] for r in rows] == [_id(fmt, e["guid"]) for e in expected]
    for row, episode in zip(rows, expected, strict=True):
        assert row["title"] == episode["title"]
        assert row["published"] == _epoch(episode["published"])
        assert row["url"] == episode["enclosure"]["url"]
        assert row["mime_type"] == episode["enclosure"]["type"]
        assert row["file_size"] == episode["enclosure"]["length"]
        if fmt == "rss":  # gPodder's parser reads no duration from Atom entries
            assert row["total_time"] == episode["duration"]


@needs_gunicorn
@needs_newsboat
@pytest.mark.parametrize(("fmt", "flags"), CASES, ids=IDS)
def test_newsboat(site: Site, tmp_path: Path, fmt: str, flags: tuple[str, ...]) -> None:
    url = _url(site, fmt, flags)
    expected = site.expected(*flags)
    rows = newsboat_items(tmp_path / "nb", url)
    assert [r["guid"] for r in rows] == [_id(fmt, e["guid"]) for e in expected]
    for row, episode in zip(rows, expected, strict=True):
        assert row["title"] == episode["title"]
        assert row["pubDate"] == _epoch(episode["published"])
        assert row["url"] == episode["link"]
        assert row["enclosure_url"] == episode["enclosure"]["url"]
        assert row["enclosure_type"] == episode["enclosure"]["type"]


@needs_gunicorn
@needs_gpo
@needs_newsboat
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_second_refresh_shows_exactly_one_new_episode(site: Site, tmp_path: Path, fmt: str) -> None:
    url = f"{site.base}/feeds/lab.{fmt}"
    before_gpo = gpodder_episodes(tmp_path / "gpo", url)
    before_nb = newsboat_items(tmp_path / "nb", url)
    assert len(before_gpo) == len(before_nb) == EPISODES
    site.serve_upstream(upstream_feed(changed=True))
    site.refresh()
    after_gpo = gpodder_episodes(tmp_path / "gpo", url, update=True)
    after_nb = newsboat_items(tmp_path / "nb", url)
    for before, after in ((before_gpo, after_gpo), (before_nb, after_nb)):
        guids = [r["guid"] for r in after]
        assert len(guids) == len(set(guids)) == EPISODES + 1
        assert set(guids) - {r["guid"] for r in before} == {_id(fmt, f"lab-{EPISODES + 1:03d}")}
    edited = next(r for r in after_gpo if r["guid"] == _id(fmt, "lab-005"))
    assert edited["title"] == "Lab notes 5 (re-edited)"
    moved = next(r for r in after_gpo if r["guid"] == _id(fmt, "lab-007"))
    assert moved["url"] == "https://cdn.lab.example/7.mp3?token=zzz999"
