"""Web nodes (issue 17): two gunicorn masters, each with its own workers, serving one
PostgreSQL store. Whichever node answers, a client gets the same bytes and the same
validators, a validator from one node is honoured by the other, and a refresh done by
another process (``feedtool refresh``, or the queue's worker) is served by both at
their next request, however warm their render caches."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from feedtool.testing.feeds import DAY, feed, item
from feedtool.testing.servers import GUNICORN, Upstream, feedtool_server

pytestmark = pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")

BASE_URL = "https://feeds.example"


def episode(n: int, title: str | None = None) -> bytes:
    """Episode ``n``, published ``n`` days after DAY."""
    return item(n, title=title, published=DAY + timedelta(days=n))


#: Three episodes, the second tagged "special" by the show's rule.
FIRST = feed([episode(3), episode(2, "Episode 2 special"), episode(1)])
#: The same show after a fourth episode was published.
SECOND = feed([episode(4, "Episode 4 special"), episode(3), episode(2, "Episode 2 special"), episode(1)])
FEEDS = [f"/feeds/{name}.{fmt}" for name in ("s", "s-special") for fmt in ("rss", "atom", "json")]
FILTERED = "/feeds/s.rss?limit=2&sort=oldest"
#: What each node is asked in both ways (identity and gzip) and must answer alike.
VARIANTS: tuple[Mapping[str, str], ...] = ({}, {"Accept-Encoding": "gzip"})


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content(self) -> bytes:
        """The body, decompressed if it was sent gzipped."""
        return gzip.decompress(self.body) if self.headers.get("content-encoding") == "gzip" else self.body

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def get(base: str, path: str, headers: Mapping[str, str] | None = None) -> Answer:
    """One GET on a new connection, so that either of the node's workers may answer."""
    try:
        with urlopen(Request(base + path, headers=dict(headers or {})), timeout=30) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except HTTPError as exc:
        with exc:
            return Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def feedtool(config: Path, *args: str) -> None:
    """Run a feedtool command in a process of its own; fail the test with its output if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "feedtool", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"feedtool {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"


@pytest.fixture
def config(tmp_path: Path, upstream: Upstream, postgres_url: str) -> Path:
    """One config for both nodes: the show ``s`` on the loopback upstream, a named feed
    of its "special" episodes, the store in PostgreSQL; refreshed once."""
    upstream.serve("/s.rss", FIRST)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"store: {postgres_url}\n"
        f"base_url: {BASE_URL}\n"
        "shows:\n"
        "  s:\n"
        f"    sources: [{{rss: {upstream.url('/s.rss')}}}]\n"
        "    tags: {special: {match: ['special']}}\n"
        "feeds:\n"
        "  s-special: {show: s, filter: {tag: special}}\n"
    )
    feedtool(path, "refresh")
    return path


@pytest.fixture
def nodes(config: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two web nodes: two gunicorn masters with two workers each, on two ports, one config."""
    with ExitStack() as stack:
        yield (
            stack.enter_context(feedtool_server(config, tmp_path / "node-a.log", workers=2)),
            stack.enter_context(feedtool_server(config, tmp_path / "node-b.log", workers=2)),
        )


def episode_path(base: str) -> str:
    """The path of the first episode page the show's browser links."""
    match = re.search(rb"/shows/s/episodes/(\d+)", get(base, "/shows/s").body)
    assert match is not None, "the show's page links no episode"
    return f"/shows/s/episodes/{match.group(1).decode()}"


def same_on_both(a: str, b: str, path: str, headers: Mapping[str, str] | None = None) -> Answer:
    """Ask both nodes; assert they answer alike (status, type, body, validators); one answer."""
    first, second = get(a, path, headers), get(b, path, headers)
    assert first.status == second.status == 200, (path, first.status, second.status, first.body[:200])
    for name in ("content-type", "content-encoding", "etag", "last-modified", "cache-control"):
        assert first.headers.get(name) == second.headers.get(name), (path, headers, name)
    assert first.body == second.body, (path, headers)
    return first


def test_both_nodes_serve_the_same_bytes_and_validators(nodes: tuple[str, str]) -> None:
    a, b = nodes
    for path in (*FEEDS, FILTERED):
        for headers in VARIANTS:
            answer = same_on_both(a, b, path, headers)
            assert answer.etag is not None, path
            assert answer.last_modified is not None, path
    assert b"Episode 3" not in same_on_both(a, b, "/feeds/s-special.rss").body  # the named feed's filter holds
    assert b"Episode 3" not in same_on_both(a, b, FILTERED).body  # and the request's
    assert b"/feeds/s-special.rss" in same_on_both(a, b, "/feeds.opml").body
    episode = episode_path(a)
    assert episode == episode_path(b)
    for page in ("/", "/shows/s", episode):
        assert same_on_both(a, b, page).etag is not None, page


def test_a_validator_from_one_node_gets_a_304_from_the_other(nodes: tuple[str, str]) -> None:
    a, b = nodes
    for path in (*FEEDS, FILTERED):
        for headers in VARIANTS:
            for ask, answer in ((a, b), (b, a)):
                got = get(ask, path, headers)
                assert got.etag is not None
                assert got.last_modified is not None
                assert get(answer, path, {**headers, "If-None-Match": got.etag}).status == 304, (path, headers)
                assert get(answer, path, {**headers, "If-Modified-Since": got.last_modified}).status == 304
    for page in ("/", "/shows/s", episode_path(a)):
        tag = get(a, page).etag
        assert tag is not None
        assert get(b, page, {"If-None-Match": tag}).status == 304, page


def test_health_answers_on_each_node_and_agrees(nodes: tuple[str, str]) -> None:
    a, b = nodes
    first, second = get(a, "/healthz"), get(b, "/healthz")
    assert first.status == second.status == 200
    report = json.loads(first.body)
    assert report == json.loads(second.body)
    assert report["status"] == "ok"
    assert [s["show"] for s in report["sources"]] == ["s"]
    assert report["sources"][0]["last_success"] is not None


def _refresh(config: Path) -> None:
    feedtool(config, "refresh")


def _refresh_on_the_queue(config: Path) -> None:
    feedtool(config, "refresh", "--enqueue")
    feedtool(config, "worker", "--burst")


#: Every path whose answer a new episode changes, and what it then holds.
CHANGED = {
    **{path: b"Episode 4" for path in FEEDS},
    "/feeds/s.rss?limit=2": b"Episode 4",
    "/": b"Episode 4",
    "/shows/s": b"Episode 4",
}


@pytest.mark.parametrize("refresh", [_refresh, _refresh_on_the_queue], ids=["refresh", "queue"])
def test_a_refresh_elsewhere_reaches_both_nodes_at_their_next_request(
    nodes: tuple[str, str], config: Path, upstream: Upstream, refresh: Callable[[Path], None]
) -> None:
    a, b = nodes
    before: dict[tuple[str, str], str] = {}
    # Warm every render cache: four new connections per node and path, so that each
    # worker of each node has most likely rendered and cached every answer.
    for path in CHANGED:
        for headers in VARIANTS:
            first = same_on_both(a, b, path, headers)
            assert b"Episode 4" not in first.content
            for _ in range(3):
                assert same_on_both(a, b, path, headers).body == first.body
            assert first.etag is not None
            before[path, headers.get("Accept-Encoding", "")] = first.etag
    upstream.serve("/s.rss", SECOND)
    refresh(config)
    for path, new in CHANGED.items():
        for headers in VARIANTS:
            old = before[path, headers.get("Accept-Encoding", "")]
            for _ in range(4):
                answer = same_on_both(a, b, path, headers)
                assert new in answer.content, (path, headers)
                assert answer.etag != old, (path, headers)
                # The old validator now gets the new feed, on both nodes.
                for node in (a, b):
                    assert get(node, path, {**headers, "If-None-Match": old}).status == 200, (path, headers)
