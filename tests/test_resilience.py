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
import time
from dataclasses import replace
from pathlib import Path

import pytest

from feedtool import sources
from feedtool.config import load
from feedtool.refresh import refresh

import hostile
from hostile import GOOD, feed, item


def feedtool(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedtool", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen[bytes], timeout: float = 120) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output.decode()


def test_second_refresh_exits_at_once_with_code_3_or_waits(tmp_path: Path) -> None:
    with hostile.running() as upstream:
        upstream.behaviours["/slow.rss"] = hostile.trickle(upstream, headers_too=False)
        config = tmp_path / "config.yaml"
        config.write_text(
            f"fetch: {{deadline: 3, retries: 1}}\nshows: {{s: {{sources: [{{rss: {upstream.url('/slow.rss')}}}]}}}}\n"
        )
        first = feedtool(config, "refresh")
        lock = tmp_path / "feedtool.sqlite.lock"
        for _ in range(100):
            if lock.exists() and lock.read_text().strip() == str(first.pid):
                break
            time.sleep(0.05)
        started = time.monotonic()
        code, output = finish(feedtool(config, "refresh"))
        assert code == 3
        assert "another refresh of" in output
        assert "is running" in output
        assert time.monotonic() - started < 2.5  # at once: it did not wait for the first
        waiting = feedtool(config, "refresh", "--wait")
        first_code, _ = finish(first)
        first_done = time.monotonic()
        code, output = finish(waiting)
        assert time.monotonic() >= first_done
        assert "1 sources:" in output  # it ran, after the first one finished
        assert first_code == code == 1  # the slow source failed both times


def _count(store: Path) -> tuple[int, set[str]]:
    db = sqlite3.connect(store)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        titles = {row[0].split(" ", 1)[0] for row in db.execute("SELECT title FROM episodes")}
        return db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0], titles
    finally:
        db.close()


def test_kill_9_mid_refresh_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    small, large = 500, 20_000
    old = feed(b"".join(item(n, title=f"old {n}") for n in range(small)))
    new = feed(b"".join(item(n, title=f"new {n}") for n in range(large)))
    with hostile.running() as upstream:
        upstream.bodies["/big.rss"] = old
        config = tmp_path / "config.yaml"
        config.write_text(f"shows: {{big: {{sources: [{{rss: {upstream.url('/big.rss')}}}]}}}}\n")
        assert refresh(load(config)).ok
        store = tmp_path / "feedtool.sqlite"
        assert _count(store) == (small, {"old"})
        upstream.bodies["/big.rss"] = new
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


def test_304_and_identical_bytes_are_not_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    rss = sources.KINDS["rss"]
    monkeypatch.setitem(
        sources.KINDS, "rss", replace(rss, parse=lambda data, ctx: calls.append(ctx.location) or rss.parse(data, ctx))
    )
    with hostile.running() as upstream:
        state = {"etag": '"v1"'}

        def conditional(connection: object) -> None:
            hostile.send(connection, 200, GOOD, {"ETag": state["etag"]})  # type: ignore[arg-type]

        upstream.behaviours["/etag.rss"] = conditional
        upstream.bodies["/plain.rss"] = GOOD
        config = tmp_path / "config.yaml"
        config.write_text(
            f"shows:\n  a: {{sources: [{{rss: {upstream.url('/etag.rss')}}}]}}\n"
            f"  b: {{sources: [{{rss: {upstream.url('/plain.rss')}}}]}}\n"
        )
        assert refresh(load(config)).ok
        assert len(calls) == 2

        def not_modified(connection: object) -> None:
            hostile.send(connection, 304, b"", {"ETag": '"v1"'})  # type: ignore[arg-type]

        upstream.behaviours["/etag.rss"] = not_modified
        report = refresh(load(config))
        assert [r.status for r in report.results] == ["unchanged", "unchanged"]
        assert len(calls) == 2  # neither the 304 nor the same bytes were parsed


def test_one_request_at_a_time_per_host(tmp_path: Path) -> None:
    gauge, other = hostile.Gauge(), hostile.Gauge()
    with hostile.running() as upstream:
        for n in range(4):
            upstream.behaviours[f"/s{n}.rss"] = gauge.slow(upstream, GOOD, 0.4)
        upstream.behaviours["/other.rss"] = other.slow(upstream, GOOD, 0.4)
        shows = "".join(f"  s{n}: {{sources: [{{rss: {upstream.url(f'/s{n}.rss')}}}]}}\n" for n in range(4))
        # "localhost" is another host name for the same server: not held back by 127.0.0.1
        shows += f"  o: {{sources: [{{rss: http://localhost:{upstream.port}/other.rss}}]}}\n"
        config = tmp_path / "config.yaml"
        config.write_text(f"fetch: {{concurrency: 4}}\nshows:\n{shows}")
        started = time.monotonic()
        assert refresh(load(config)).ok
        elapsed = time.monotonic() - started
    assert gauge.most == 1
    assert other.most == 1
    assert elapsed >= 4 * 0.4  # the four requests to one host went one after another


def test_kill_9_mid_export_leaves_no_half_written_file(tmp_path: Path) -> None:
    body = feed(b"".join(item(n, d=f"<description>{'x' * 2000}</description>") for n in range(1500)))
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
