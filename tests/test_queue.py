"""The refresh queue (feedtool.queue): `refresh --enqueue` and `worker` processes on a
throwaway PostgreSQL cluster, against a loopback upstream that records how many
requests each host has in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedtool.cli import main
from feedtool.queue import QUEUE, host_key, source_key
from feedtool.store import open_store
from feedtool.testing.feeds import podcast
from feedtool.testing.servers import RSS, Reply, Request, Upstream, wait_until

#: Two names of the loopback upstream: two hosts to the fetcher and its locks.
HOSTS = ("127.0.0.1", "localhost")


class InFlight:
    """Counts the requests in flight per Host header, and the most ever seen at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def serve(self, body: bytes, hold: float = 0.02) -> Callable[[Request], Reply]:
        def responder(request: Request) -> Reply:
            host = request.headers.get("Host", "")
            with self._lock:
                self.now[host] += 1
                self.peak[host] = max(self.peak[host], self.now[host])
            try:
                time.sleep(hold)  # a window in which a second request to this host would be seen
                return Reply(body, 200, {"Content-Type": RSS})
            finally:
                with self._lock:
                    self.now[host] -= 1

        return responder


def _config(write_config: Callable[[str], Path], url: str, sources: dict[str, str]) -> Path:
    shows = "".join(f"  {show}:\n    sources:\n      - rss: {location}\n" for show, location in sources.items())
    return write_config(f"store: {url}\nshows:\n{shows}")


def _worker(config: Path, log: Path, *options: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "feedtool", "--config", str(config), "-v", "worker", *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"},
        )


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes a test starts; any still running at its end are killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _pending(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s AND status IN ('todo', 'doing')", (QUEUE,)
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_host_keys_are_stable_across_processes() -> None:
    # The same number on every machine: a fixed hash, not Python's salted hash().
    assert host_key("example.org") == -3907665625249507303
    assert host_key("example.org") == host_key("EXAMPLE.org") != host_key("example.com")
    assert source_key("a", "rss", "https://u:secret@x/") != source_key("b", "rss", "https://u:secret@x/")
    assert "secret" not in source_key("a", "rss", "https://u:secret@x/")


@pytest.mark.parametrize("command", [["refresh", "--enqueue"], ["worker", "--burst"]])
def test_a_sqlite_store_is_refused(
    command: list[str], write_config: Callable[[str], Path], runner: CliRunner, tmp_path: Path
) -> None:
    config = _config(write_config, str(tmp_path / "store.sqlite"), {"one": "https://example.invalid/feed"})
    result = runner.invoke(main, ["--config", str(config), *command])
    assert result.exit_code == 2, result.output
    assert "the refresh queue needs a PostgreSQL store" in result.output
    assert not (tmp_path / "store.sqlite").exists()


@pytest.mark.queue
def test_a_source_is_queued_at_most_once(
    postgres_url: str, write_config: Callable[[str], Path], runner: CliRunner
) -> None:
    config = _config(write_config, postgres_url, {f"show-{n}": f"https://example.invalid/{n}" for n in range(3)})
    first = runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"])
    assert first.exit_code == 0, first.output
    assert "3 sources queued; 0 already queued" in first.output
    again = runner.invoke(main, ["--config", str(config), "refresh", "--enqueue", "show-1"])
    assert again.exit_code == 0, again.output
    assert "0 sources queued; 1 already queued" in again.output
    assert _pending(postgres_url) == 3


@pytest.mark.queue
def test_three_burst_workers_drain_the_queue_one_request_per_host_at_a_time(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    flight = InFlight()
    sources = {}
    for n in range(40):
        upstream.route(f"/feed/{n}", flight.serve(podcast(3, show=f"Show {n}", seed=n, notes=100)))
        sources[f"show-{n}"] = f"http://{HOSTS[n % 2]}:{upstream.port}/feed/{n}"
    config = _config(write_config, postgres_url, sources)
    queued = runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"])
    assert queued.exit_code == 0, queued.output
    for n in range(3):
        workers.append(_worker(config, tmp_path / f"worker{n}.log", "--burst", "--concurrency", "2"))
    for n, process in enumerate(workers):
        assert process.wait(timeout=120) == 0, (tmp_path / f"worker{n}.log").read_text()
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in range(3)]
    # Every source once, and not all on one worker.
    assert sorted(r.path for r in upstream.requests()) == sorted(f"/feed/{n}" for n in range(40))
    assert sum(bool(text.count(": new (")) for text in logs) >= 2, logs
    assert dict(flight.peak) == {f"{host}:{upstream.port}": 1 for host in HOSTS}
    assert _pending(postgres_url) == 0
    with open_store(postgres_url, read_only=True) as store:
        assert {show: store.count(show) for show in sources} == dict.fromkeys(sources, 3)


@pytest.mark.queue
def test_the_job_of_a_killed_worker_completes_on_another(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    release = threading.Event()
    body = podcast(4, show="Blocked", notes=100)

    def block_first(request: Request) -> Reply:
        if upstream.count("/block") == 1:
            release.wait(timeout=120)  # until the worker that asked is dead
        return Reply(body, 200, {"Content-Type": RSS})

    upstream.route("/block", block_first)
    config = _config(write_config, postgres_url, {"blocked": upstream.url("/block")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    doomed = _worker(config, tmp_path / "doomed.log", "--stalled-after", "2")
    workers.append(doomed)
    wait_until(lambda: upstream.count("/block") == 1, "the first worker's request", timeout=120)
    os.kill(doomed.pid, signal.SIGKILL)
    assert doomed.wait(timeout=30) == -signal.SIGKILL
    release.set()
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("blocked") == 0  # the dead worker stored nothing
    heir = _worker(config, tmp_path / "heir.log", "--burst", "--stalled-after", "2")
    workers.append(heir)
    assert heir.wait(timeout=120) == 0, (tmp_path / "heir.log").read_text()
    assert "blocked rss" in (tmp_path / "heir.log").read_text()
    assert upstream.count("/block") == 2
    assert _pending(postgres_url) == 0
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("blocked") == 4
