"""Never losing data, never hammering a host: the refresh lock, kill -9 in the middle
of a refresh or an export, conditional GET, per-host politeness."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from feedtool import sources
from feedtool.config import load
from feedtool.refresh import refresh
from feedtool.testing.feeds import feed, item
from feedtool.testing.servers import Reply, Request, Upstream, wait_until

GOOD = feed(item(1) + item(2))


def feedtool(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedtool", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen[bytes], timeout: float = 120) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output.decode()


def _waits_for_a_lock(process: subprocess.Popen[bytes]) -> bool:
    """Whether ``process`` is blocked waiting for a file lock (Linux's /proc/locks lists
    each waiter as "N: -> FLOCK ... <pid> ..."); an error if it has exited instead."""
    if process.poll() is not None:
        raise AssertionError(f"exited with {process.returncode} instead of waiting for the lock")
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[5] == str(process.pid):
            return True
    return False


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks to see a waiting process")
def test_second_refresh_exits_at_once_with_code_3_or_waits(tmp_path: Path, upstream: Upstream) -> None:
    release = threading.Event()
    released_when_asked: list[bool] = []

    def held(request: Request) -> Reply:
        """Answer only once the test says so: until then, the refresh asking holds the lock."""
        released_when_asked.append(release.is_set())
        release.wait(60)
        return Reply(GOOD)

    upstream.route("/held.rss", held)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"fetch: {{read_timeout: 90, deadline: 90, retries: 1}}\n"
        f"shows: {{s: {{sources: [{{rss: {upstream.url('/held.rss')}}}]}}}}\n"
    )
    first = feedtool(config, "refresh")
    processes = [first]
    try:
        wait_until(lambda: upstream.count("/held.rss") == 1, "the first refresh to ask upstream", timeout=60)
        code, output = finish(feedtool(config, "refresh"))
        assert code == 3
        assert "another refresh of" in output
        assert "is running" in output
        assert first.poll() is None  # at once: the first is still held, so it did not wait for it
        waiting = feedtool(config, "refresh", "--wait")
        processes.append(waiting)

        def blocked() -> bool:
            if upstream.count("/held.rss") > 1:
                raise AssertionError("the --wait refresh asked upstream while the first held the lock")
            return _waits_for_a_lock(waiting)

        wait_until(blocked, "the --wait refresh to wait for the lock", timeout=60)
    finally:
        release.set()
        outcomes = [finish(process) for process in processes]
    (first_code, _), (code, output) = outcomes
    assert first_code == code == 0, output
    assert "1 sources: 1 ok, 0 failed" in output  # it ran, after the first one finished
    assert released_when_asked == [False, True]


def _count(store: Path) -> tuple[int, set[str]]:
    db = sqlite3.connect(store)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        titles = {row[0].split(" ", 1)[0] for row in db.execute("SELECT title FROM episodes")}
        return db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0], titles
    finally:
        db.close()


def test_kill_9_mid_refresh_leaves_the_store_as_it_was(tmp_path: Path, upstream: Upstream) -> None:
    small, large = 500, 20_000
    old = feed(b"".join(item(n, title=f"old {n}") for n in range(small)))
    new = feed(b"".join(item(n, title=f"new {n}") for n in range(large)))
    upstream.serve("/big.rss", old)
    config = tmp_path / "config.yaml"
    config.write_text(f"shows: {{big: {{sources: [{{rss: {upstream.url('/big.rss')}}}]}}}}\n")
    assert refresh(load(config)).ok
    store = tmp_path / "feedtool.sqlite"
    assert _count(store) == (small, {"old"})
    upstream.serve("/big.rss", new)
    random.seed(7)
    outcomes = set()
    for delay in (0.3, 0.8, 1.5, 2.5, *(random.uniform(0.2, 4) for _ in range(3))):
        process = feedtool(config, "refresh")
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        count, titles = _count(store)
        # all of the source's new listing, or none of it: never a mix
        assert (count, titles) in [(small, {"old"}), (large, {"new"})]
        outcomes.add(count)
        if count == large:
            break
    assert small in outcomes  # at least one kill landed before the commit
    code, output = finish(feedtool(config, "refresh"))
    assert code == 0, output
    assert _count(store) == (large, {"new"})


def test_304_and_identical_bytes_are_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Upstream
) -> None:
    calls: list[str] = []
    rss = sources.KINDS["rss"]
    monkeypatch.setitem(
        sources.KINDS, "rss", replace(rss, parse=lambda data, ctx: calls.append(ctx.location) or rss.parse(data, ctx))
    )
    upstream.serve("/etag.rss", GOOD, etag=True)
    upstream.serve("/plain.rss", GOOD)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"shows:\n  a: {{sources: [{{rss: {upstream.url('/etag.rss')}}}]}}\n"
        f"  b: {{sources: [{{rss: {upstream.url('/plain.rss')}}}]}}\n"
    )
    assert refresh(load(config)).ok
    assert len(calls) == 2
    report = refresh(load(config))
    assert [r.status for r in report.results] == ["unchanged", "unchanged"]
    assert [reply.status for request, reply in upstream.log if request.path == "/etag.rss"] == [200, 304]
    assert [reply.status for request, reply in upstream.log if request.path == "/plain.rss"] == [200, 200]
    assert len(calls) == 2  # neither the 304 nor the same bytes were parsed


class Gauge:
    """Counts the requests it answers, those in flight, and the most ever in flight at once."""

    def __init__(self) -> None:
        self.answered = 0
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def slow(self, body: bytes, seconds: float) -> Callable[[Request], Reply]:
        """A responder that takes ``seconds`` to answer ``body``."""

        def respond(request: Request) -> Reply:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(seconds)  # long enough for a second request to the host to overlap, were it sent
            with self._lock:
                self.now -= 1
                self.answered += 1
            return Reply(body)

        return respond


def test_one_request_at_a_time_per_host(tmp_path: Path, upstream: Upstream) -> None:
    gauge, other = Gauge(), Gauge()
    for n in range(4):
        upstream.route(f"/s{n}.rss", gauge.slow(GOOD, 0.4))
    upstream.route("/other.rss", other.slow(GOOD, 0.4))
    shows = "".join(f"  s{n}: {{sources: [{{rss: {upstream.url(f'/s{n}.rss')}}}]}}\n" for n in range(4))
    # "localhost" is another host name for the same server: not held back by 127.0.0.1
    shows += f"  o: {{sources: [{{rss: http://localhost:{upstream.port}/other.rss}}]}}\n"
    config = tmp_path / "config.yaml"
    config.write_text(f"fetch: {{concurrency: 4}}\nshows:\n{shows}")
    assert refresh(load(config)).ok
    assert (gauge.answered, other.answered) == (4, 1)
    assert gauge.most == 1  # the four requests to one host went one after another
    assert other.most == 1


def test_kill_9_mid_export_leaves_no_half_written_file(tmp_path: Path) -> None:
    body = feed(b"".join(item(n, description="x" * 2000) for n in range(1500)))
    feeds = tmp_path / "upstream.xml"
    feeds.write_bytes(body)
    shows = "".join(f"  show-{n}: {{sources: [{{rss: {feeds}}}]}}\n" for n in range(3))
    config = tmp_path / "config.yaml"
    config.write_text(f"shows:\n{shows}")
    assert refresh(load(config)).ok
    out = tmp_path / "public"
    started = time.monotonic()
    code, output = finish(feedtool(config, "export", "--out", str(out), "--base-url", "https://f.example"))
    assert code == 0, output
    duration = time.monotonic() - started
    random.seed(11)
    for delay in sorted(random.uniform(0.3, duration) for _ in range(4)):
        shutil.rmtree(out, ignore_errors=True)  # every file must be written again
        process = feedtool(config, "export", "--out", str(out), "--base-url", "https://f.example")
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        for path in (out / "feeds").glob("*") if (out / "feeds").exists() else []:
            if path.name.startswith("."):
                continue  # a temporary file of the killed export, never a feed's name
            data = path.read_bytes()
            if path.suffix == ".json":
                json.loads(data)
            else:
                assert data.rstrip().endswith((b"</rss>", b"</feed>")), path
    code, output = finish(feedtool(config, "export", "--out", str(out), "--base-url", "https://f.example"))
    assert code == 0, output
    assert not [p for p in out.rglob(".*.tmp")]
    assert len(list((out / "feeds").glob("*"))) == 9
    assert os.path.exists(out / "index.html")
