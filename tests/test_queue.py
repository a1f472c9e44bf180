"""The refresh queue (feedtool.queue): `refresh --enqueue` and `worker` processes on a
throwaway PostgreSQL cluster, against a loopback upstream that records how many
requests each host has in flight."""

from __future__ import annotations

import os
import re
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
from feedtool.queue import QUEUE, host_key, installed_level, source_key
from feedtool.store import open_store
from feedtool.testing import postgres, servers
from feedtool.testing.feeds import podcast
from feedtool.testing.servers import RSS, Reply, Request, Upstream, loopback_hosts, wait_until


class InFlight:
    """Serves one body per round and path; counts the requests in flight per Host
    header, the most ever seen at once per host and over all hosts."""

    def __init__(self, hold: float = 0.05) -> None:
        self._lock = threading.Lock()
        self._hold = hold
        self.round = 0
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.overall_peak = 0
        self.served: Counter[str] = Counter()

    def next_round(self) -> None:
        self.round += 1

    def route(self, upstream: Upstream, path: str, bodies: list[bytes]) -> None:
        def responder(request: Request) -> Reply:
            host = request.headers.get("Host", "")
            with self._lock:
                self.now[host] += 1
                self.peak[host] = max(self.peak[host], self.now[host])
                self.overall_peak = max(self.overall_peak, sum(self.now.values()))
            try:
                time.sleep(self._hold)  # a window in which a second request to this host would be seen
                return Reply(bodies[self.round - 1], 200, {"Content-Type": RSS})
            finally:
                with self._lock:
                    self.now[host] -= 1
                    self.served[request.path] += 1

        upstream.route(path, responder)


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


#: The many-host upstream's addresses (all loopback): each is a host to the fetcher and its locks.
HOSTS = loopback_hosts(8)
#: The sources of the drain test: one show each, spread over HOSTS.
SOURCES = 200


@pytest.fixture
def many_hosts() -> Iterator[Upstream]:
    """The loopback upstream on every address of HOSTS."""
    with servers.upstream(HOSTS) as server:
        yield server


@pytest.mark.queue
def test_three_burst_workers_drain_two_rounds_of_200_sources_one_request_per_host_at_a_time(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    many_hosts: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    flight = InFlight()
    sources = {}
    for n in range(SOURCES):
        flight.route(many_hosts, f"/feed/{n}", [podcast(r, show=f"Show {n}", seed=n, notes=100) for r in (3, 4)])
        # Runs of 4 sources per host in queue order: the 6 jobs running at once mostly
        # share a host or two, which only the per-host lock keeps apart.
        sources[f"show-{n}"] = many_hosts.url(f"/feed/{n}", HOSTS[n // 4 % len(HOSTS)])
    config = _config(write_config, postgres_url, sources)
    for round_ in (1, 2):
        flight.next_round()
        queued = runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"])
        assert queued.exit_code == 0, queued.output
        assert f"{SOURCES} sources queued; 0 already queued" in queued.output
        logs = [tmp_path / f"round{round_}-worker{n}.log" for n in range(3)]
        started = [_worker(config, log, "--burst", "--concurrency", "2") for log in logs]
        workers.extend(started)
        for process, log in zip(started, logs, strict=True):
            assert process.wait(timeout=300) == 0, log.read_text()
        # Every source exactly once in this round, and not all on one worker.
        assert Counter(r.path for r in many_hosts.requests()) == {f"/feed/{n}": round_ for n in range(SOURCES)}
        assert flight.served == {f"/feed/{n}": round_ for n in range(SOURCES)}
        texts = [log.read_text() for log in logs]
        # The result lines the workers print (timestamped), not the log's copies.
        done = [re.findall(r"^\d{4}-\S+ show-\d+ rss \S+: (\w+)", text, re.MULTILINE) for text in texts]
        assert Counter(word for lines in done for word in lines) == {"new": SOURCES}
        assert sum(bool(lines) for lines in done) >= 2, texts
        # One request at a time per host, while the workers did overlap across hosts.
        assert set(flight.peak) == {f"{host}:{many_hosts.port}" for host in HOSTS}
        assert max(flight.peak.values()) == 1, flight.peak
        assert flight.overall_peak >= 2
        assert _pending(postgres_url) == 0
        with open_store(postgres_url, read_only=True) as store:
            assert {show: store.count(show) for show in sources} == dict.fromkeys(sources, 2 + round_)


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
    body = podcast(4, show="Blocked", seed=7, notes=100)

    def block_first(request: Request) -> Reply:
        if upstream.count("/block") == 1:
            release.wait(timeout=120)  # until the worker that asked is dead
        return Reply(body, 200, {"Content-Type": RSS})

    upstream.route("/block", block_first)
    # Another host: the blocked request holds 127.0.0.1's lock until its worker dies.
    upstream.serve("/other", podcast(2, show="Other", seed=8, notes=100))
    config = _config(
        write_config, postgres_url, {"blocked": upstream.url("/block"), "other": upstream.url("/other", "localhost")}
    )
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    doomed = _worker(config, tmp_path / "doomed.log", "--stalled-after", "3")
    workers.append(doomed)
    wait_until(lambda: upstream.count("/block") == 1, "the first worker's request", timeout=120)
    # The heir runs beside the doomed worker: it takes the other job, then waits
    # for the blocked one, which a live worker holds, until that worker is dead.
    heir = _worker(config, tmp_path / "heir.log", "--burst", "--stalled-after", "3")
    workers.append(heir)
    wait_until(lambda: upstream.count("/other") == 1, "the heir's first job", timeout=120)
    os.kill(doomed.pid, signal.SIGKILL)
    assert doomed.wait(timeout=30) == -signal.SIGKILL
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("blocked") == 0  # the dead worker stored nothing
        assert store.version("blocked") == (0, None)  # nothing of its show either
        assert [s.show_id for s in store.source_states()] == ["other"]
    release.set()
    assert heir.wait(timeout=120) == 0, (tmp_path / "heir.log").read_text()
    heir_log = (tmp_path / "heir.log").read_text()
    assert "was running on a worker that stopped; queued again" in heir_log
    assert re.search(r"^\S+ blocked rss \S+: new \(4 new", heir_log, re.MULTILINE), heir_log
    assert upstream.count("/block") == 2
    assert _pending(postgres_url) == 0
    with open_store(postgres_url, read_only=True) as store:
        # The source's episodes exactly once each, whole, and its state written once.
        stored = store.episodes("blocked")
        assert sorted(e.data.guid for e in stored) == sorted(f"bench-7-{n}" for n in range(1, 5))
        assert all(e.data.title and e.data.enclosure and e.data.published for e in stored)
        show = store.show("blocked")
        assert show is not None
        assert (show.info.title, show.version) == ("Blocked", 1)
        states = store.source_states("blocked")
        assert [(s.status, s.episode_count, s.error) for s in states] == [("ok", 4, None)]


def _held(upstream: Upstream, path: str) -> threading.Event:
    """Serve a feed at path whose first answer waits until the returned event is set."""
    release = threading.Event()
    body = podcast(2, show="Held", notes=100)

    def hold_first(request: Request) -> Reply:
        if upstream.count(path) == 1:
            release.wait(timeout=300)
        return Reply(body, 200, {"Content-Type": RSS})

    upstream.route(path, hold_first)
    return release


@pytest.mark.queue
def test_a_burst_worker_whose_queue_tables_vanish_stops_with_a_clear_message(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    import psycopg

    release = _held(upstream, "/held")
    config = _config(write_config, postgres_url, {"held": upstream.url("/held")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    log = tmp_path / "burst.log"
    burst = _worker(config, log, "--burst")
    workers.append(burst)
    wait_until(lambda: upstream.count("/held") == 1, "the worker's request", timeout=120)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE procrastinate_jobs, procrastinate_workers CASCADE")
    release.set()
    assert burst.wait(timeout=120) == 1, log.read_text()
    text = log.read_text()
    last = re.findall(r"^Error: .*", text, re.MULTILINE)
    assert last == [
        "Error: the worker stopped after 3 failed rounds in a row; "
        'the last: UndefinedTable: relation "procrastinate_workers" does not exist'
    ], text
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("held") == 2  # the job itself was stored: only the queue's bookkeeping failed


@pytest.mark.queue
def test_a_worker_with_a_short_stalled_after_leaves_a_live_workers_job_alone(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    # Each worker judges the others' heartbeats by its own --stalled-after: a worker
    # sending one every 10 s (a third of the default 30) looked dead to one with 3.
    release = _held(upstream, "/held")
    config = _config(write_config, postgres_url, {"held": upstream.url("/held")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    holder = _worker(config, tmp_path / "holder.log")
    workers.append(holder)
    wait_until(lambda: upstream.count("/held") == 1, "the holder's request", timeout=120)
    log = tmp_path / "burst.log"
    burst = _worker(config, log, "--burst", "--stalled-after", "3")
    workers.append(burst)
    # Ten rounds of at least half a second each: well past the burst worker's 3 s.
    wait_until(lambda: log.read_text().count("Stopping worker because wait=False") >= 10, "ten rounds", 120)
    release.set()
    assert burst.wait(timeout=120) == 0, log.read_text()
    assert "queued again" not in log.read_text()
    assert upstream.count("/held") == 1
    wait_until(lambda: "held rss" in (tmp_path / "holder.log").read_text(), "the holder's result", 120)
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("held") == 2


def _shows(upstream: Upstream) -> str:
    """The acceptance test's shows: merged sources of each kind, tag and strip rules, failures."""
    data = Path(__file__).parent / "data"
    for name in ("full", "dates", "durations", "extensions_podcasting20", "podcasting20-items", "boilerplate",
                 "duplicates", "no_guid"):  # fmt: skip
        upstream.serve(f"/rss/{name}.xml", (data / "rss" / f"{name}.xml").read_bytes(), etag=True)
    for name in ("quietlab", "sternwarte_de"):
        upstream.serve(
            f"/listing/{name}.txt", (data / "listing" / f"{name}.txt").read_bytes(), content_type="text/plain"
        )
    upstream.serve("/merged/short.xml", podcast(30, show="Merged", seed=1, notes=300))
    upstream.serve("/merged/long.xml", podcast(35, show="Merged, longer", seed=1, notes=500), etag=True)
    upstream.serve("/down.xml", b"down for maintenance", status=503, content_type="text/plain")
    local = upstream.url("/", "localhost").rstrip("/")  # a second host for the fetcher's locks
    return f"""
shows:
  merged:
    sources:
      - rss: {upstream.url("/merged/short.xml")}
      - rss: {local}/merged/long.xml
    tags:
      open-models: {{match: ['open weights'], fields: [title]}}
      early: {{match: ['episode [1-9]$'], fields: [title]}}
  quietlab:
    sources:
      - listing: {upstream.url("/listing/quietlab.txt")}
      - rss: {local}/rss/full.xml
    tags:
      hello: {{match: ['hello'], fields: [title, description]}}
  sternwarte:
    sources:
      - listing: {local}/listing/sternwarte_de.txt
  dates: {{sources: [{{rss: {upstream.url("/rss/dates.xml")}}}]}}
  durations: {{sources: [{{rss: {local}/rss/durations.xml}}]}}
  extensions:
    sources:
      - rss: {upstream.url("/rss/extensions_podcasting20.xml")}
      - rss: {upstream.url("/rss/podcasting20-items.xml")}
  half-down:
    sources:
      - rss: {upstream.url("/missing.xml")}
      - rss: {local}/rss/boilerplate.xml
      - rss: {upstream.url("/rss/duplicates.xml")}
    strip: ['^Some extra sponsor line.*$']
  down: {{sources: [{{rss: {upstream.url("/down.xml")}}}, {{rss: {local}/rss/no_guid.xml}}]}}
"""


def _contents(url: str, shows: list[str]) -> dict[str, object]:
    """Everything a store holds of the shows but the times of its own clock, through the Store API."""
    import dataclasses

    found: dict[str, object] = {}
    with open_store(url, read_only=True) as store:
        for show_id in shows:
            show = store.show(show_id)
            assert show is not None, show_id
            episodes = store.episodes(show_id)
            found[show_id] = {
                "info": show.info,
                "version": show.version,
                "count": store.count(show_id),
                "tag_counts": store.tag_counts(show_id),
                "order": [e.data.guid for e in episodes],
                "episodes": {e.data.guid: (e.data, e.tags) for e in episodes},
                "sources": [
                    dataclasses.replace(state, last_attempt=None, last_success=None)
                    for state in sorted(store.source_states(show_id), key=lambda s: (s.kind, s.location))
                ],
            }
    return found


@pytest.mark.queue
def test_acceptance_three_burst_workers_store_what_a_sqlite_refresh_stores(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    shows_yaml = _shows(upstream)
    sqlite = tmp_path / "local.sqlite"
    local = write_config(f"store: {sqlite}\n{shows_yaml}")
    refreshed = runner.invoke(main, ["--config", str(local), "refresh"])
    assert refreshed.exit_code == 1, refreshed.output  # the failing sources
    assert "2 failed" in refreshed.output
    config = tmp_path / "queued.yaml"
    config.write_text(f"store: {postgres_url}\n{shows_yaml}")
    queued = runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"])
    assert queued.exit_code == 0, queued.output
    assert "14 sources queued" in queued.output
    logs = [tmp_path / f"worker{n}.log" for n in range(3)]
    workers.extend(_worker(config, log, "--burst", "--concurrency", "2") for log in logs)
    for process, log in zip(workers, logs, strict=True):
        assert process.wait(timeout=300) == 0, log.read_text()
    shows = ["merged", "quietlab", "sternwarte", "dates", "durations", "extensions", "half-down", "down"]
    expected, got = _contents(str(sqlite), shows), _contents(postgres_url, shows)
    for show_id in shows:
        assert got[show_id] == expected[show_id], show_id
    # The comparison covers what it should: merged sources, tags, failures.
    merged = expected["merged"]
    assert isinstance(merged, dict)
    assert merged["count"] == 35
    # Episodes 1-9 but 7 (titled "... and open weights"); the feed's iTunes keywords are tags too.
    assert merged["tag_counts"] == {"ai": 35, "models": 35, "research": 35, "early": 8, "open-models": 5}
    half_down = expected["half-down"]
    assert isinstance(half_down, dict)
    assert [s.status for s in half_down["sources"]] == ["failed", "ok", "ok"]


def _level(url: str) -> tuple[str, str] | None:
    import psycopg

    with psycopg.connect(url) as conn:
        if not conn.execute("SELECT to_regclass('feedtool_queue_schema') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
            return None
        row = conn.execute("SELECT procrastinate, migration FROM feedtool_queue_schema").fetchone()
        return None if row is None else (row[0], row[1])


def _set_level(url: str, sql: str, *args: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, args)  # type: ignore[arg-type]


@pytest.mark.queue
def test_the_queue_schema_records_the_procrastinate_that_installed_it(
    postgres_url: str, write_config: Callable[[str], Path], runner: CliRunner
) -> None:
    current = installed_level()
    assert current.migration.startswith("03.04.00_50_")  # procrastinate 3.10's last (pinned below 3.11)
    config = _config(write_config, postgres_url, {"one": "https://example.invalid/feed"})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    assert _level(postgres_url) == (current.procrastinate, current.migration)
    # A release without migrations of its own: recorded, nothing else.
    _set_level(postgres_url, "UPDATE feedtool_queue_schema SET procrastinate = '3.10.0rc1'")
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    assert _level(postgres_url) == (current.procrastinate, current.migration)
    # A schema installed by a feedtool that kept no record: adopted as this release's.
    _set_level(postgres_url, "DROP TABLE feedtool_queue_schema")
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    assert _level(postgres_url) == (current.procrastinate, current.migration)


@pytest.mark.queue
@pytest.mark.parametrize("command", [["refresh", "--enqueue"], ["worker", "--burst"]])
def test_a_queue_schema_of_an_older_procrastinate_is_refused_naming_its_migrations(
    command: list[str], postgres_url: str, write_config: Callable[[str], Path], runner: CliRunner
) -> None:
    config = _config(write_config, postgres_url, {"one": "https://example.invalid/feed"})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    _set_level(
        postgres_url,
        "UPDATE feedtool_queue_schema SET procrastinate = '3.9.0', migration = %s",
        "03.03.00_01_pre_priority_lock_fetch_job",
    )
    result = runner.invoke(main, ["--config", str(config), *command])
    assert result.exit_code in (1, 2), result.output
    message = " ".join(result.output.split())
    assert "was installed by procrastinate 3.9.0, and the installed procrastinate" in message
    assert (
        "needs its migrations 03.04.00_01_pre_add_retry_failed_job_procedure, "
        "03.04.00_50_post_add_retry_failed_job_procedure (in " in message
    )
    assert "install procrastinate 3.9.0 again" in message
    assert "UPDATE feedtool_queue_schema SET procrastinate = " in message
    assert _pending(postgres_url) == 1  # nothing queued, nothing run


@pytest.mark.queue
def test_a_queue_schema_of_a_newer_procrastinate_is_refused(
    postgres_url: str, write_config: Callable[[str], Path], runner: CliRunner
) -> None:
    config = _config(write_config, postgres_url, {"one": "https://example.invalid/feed"})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    _set_level(
        postgres_url,
        "UPDATE feedtool_queue_schema SET procrastinate = '9.0.0', migration = %s",
        "09.00.00_01_pre_something",
    )
    result = runner.invoke(main, ["--config", str(config), "worker", "--burst"])
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "is newer than this procrastinate" in message
    assert "procrastinate 9.0.0 migrated it to 09.00.00_01_pre_something" in message
    assert "pip install 'procrastinate==9.0.0'" in message


@pytest.mark.queue
def test_a_worker_whose_heartbeat_fails_stops_and_exits_1(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    import psycopg

    # Without heartbeats, other workers take this one's jobs for a dead worker's and
    # run them again: procrastinate 3.10 meant to stop it, but never did.
    release = _held(upstream, "/held")
    config = _config(write_config, postgres_url, {"held": upstream.url("/held")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP FUNCTION procrastinate_update_heartbeat_v1")
    log = tmp_path / "worker.log"
    worker = _worker(config, log)
    workers.append(worker)
    try:
        wait_until(lambda: upstream.count("/held") == 1, "the worker's request", timeout=120)
        wait_until(lambda: "Stop requested" in log.read_text(), "the worker's stop", timeout=120)
    finally:
        release.set()  # its running job ends first
    assert worker.wait(timeout=120) == 1, log.read_text()
    text = log.read_text()
    assert "worker round failed (2 of 3)" in text
    assert re.findall(r"^Error: .*", text, re.MULTILINE) == [
        "Error: the worker stopped after 3 failed rounds in a row; the last: "
        "UndefinedFunction: function procrastinate_update_heartbeat_v1(smallint) does not exist"
    ], text
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("held") == 2


@pytest.mark.queue
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_worker_finishes_its_running_job_and_takes_no_other(
    sig: signal.Signals,
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """What the README's systemd unit relies on: `systemctl stop` (SIGTERM) lets the
    running job store its source whole, and leaves the waiting jobs to other workers."""
    release = _held(upstream, "/held")
    upstream.serve("/later", podcast(2, show="Later", seed=3, notes=100))
    config = _config(write_config, postgres_url, {"held": upstream.url("/held"), "later": upstream.url("/later")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    worker = _worker(config, tmp_path / "worker.log")
    workers.append(worker)
    wait_until(lambda: upstream.count("/held") == 1, "the worker's first request", timeout=120)
    worker.send_signal(sig)
    # The signal has been handled (no new job is fetched) before the held answer comes.
    wait_until(lambda: "Stop requested" in (tmp_path / "worker.log").read_text(), "the worker's stop", timeout=60)
    release.set()
    assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()
    assert upstream.count("/later") == 0
    assert _pending(postgres_url) == 1  # the other source still waits for a worker
    with open_store(postgres_url, read_only=True) as store:
        assert store.count("held") == 2
        assert [(s.status, s.episode_count) for s in store.source_states("held")] == [("ok", 2)]


def test_a_failed_sweep_for_dead_workers_jobs_is_followed_by_the_next(caplog: pytest.LogCaptureFixture) -> None:
    """Regression: in a long-running worker the first sweep that met a database error
    ended the sweeping for good, silently, and dead workers' jobs stayed stuck. (A
    fake procrastinate App: the failure is the database's, at the worst moment.)"""
    import asyncio

    import procrastinate.exceptions

    from feedtool import queue

    class JobManager:
        def __init__(self) -> None:
            self.asked = 0
            self.retried: list[str] = []

        async def get_stalled_jobs(self, **_: object) -> list[object]:
            self.asked += 1
            if self.asked == 1:
                raise procrastinate.exceptions.ConnectorException("Database error.")
            return [type("Job", (), {"id": 7, "task_kwargs": {"show_id": "s"}})()] if self.asked == 2 else []

        async def retry_job(self, job: object) -> None:
            self.retried.append(str(getattr(job, "id", "")))

    manager = JobManager()
    app = type("App", (), {"job_manager": manager})()

    async def run() -> None:
        sweeper = asyncio.create_task(queue._sweep(app, 0))  # type: ignore[arg-type]
        while manager.asked < 3 and not sweeper.done():
            await asyncio.sleep(0)
        assert not sweeper.done(), "the sweeping ended"
        sweeper.cancel()

    asyncio.run(run())
    assert manager.retried == ["7"]
    assert "looking for dead workers' jobs failed: ConnectorException: Database error." in caplog.text


@pytest.mark.queue
def test_a_hosts_retry_after_holds_for_every_worker(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """Regression: a 429's Retry-After held for the source it answered; another worker
    asked the same host for its next source at once, in the pause the host asked for."""
    asked: dict[str, list[float]] = {"/a": [], "/b": [], "/c": []}
    body = podcast(2, show="Paused", notes=100)

    def answer(request: Request) -> Reply:
        asked[request.path].append(time.monotonic())
        if request.path == "/a" and len(asked["/a"]) == 1:
            return Reply(b"busy", 429, {"Retry-After": "4"})
        return Reply(body, 200, {"Content-Type": RSS})

    for path in asked:
        upstream.route(path, answer)
    config = _config(write_config, postgres_url, {name: upstream.url(f"/{name}") for name in ("a", "b", "c")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue", "a"]).exit_code == 0
    first = _worker(config, tmp_path / "first.log", "--burst")
    workers.append(first)
    wait_until(lambda: len(asked["/a"]) == 1, "the 429", timeout=120)
    # The other sources of that host come to a worker of their own while the first one waits.
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue", "b", "c"]).exit_code == 0
    second = _worker(config, tmp_path / "second.log", "--burst")
    workers.append(second)
    assert first.wait(timeout=120) == 0, (tmp_path / "first.log").read_text()
    assert second.wait(timeout=120) == 0, (tmp_path / "second.log").read_text()
    busy = asked["/a"][0]
    after = sorted(t - busy for times in asked.values() for t in times if t > busy)
    assert len(after) == 3  # a's second try, b and c
    assert after[0] >= 4.0, after  # none within the pause the host asked for
    with open_store(postgres_url, read_only=True) as store:
        assert {show: store.count(show) for show in ("a", "b", "c")} == {"a": 2, "b": 2, "c": 2}


@pytest.mark.queue
def test_a_running_worker_reads_the_config_again_when_it_changed(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """Regression: a worker kept the config it started with, so the job of a show added
    since (which `refresh --enqueue` read from the file) was dropped as "no longer in
    the config" and deleted as done."""
    upstream.serve("/a", podcast(2, show="A", seed=1, notes=100))
    upstream.serve("/b", podcast(3, show="B", seed=2, notes=100))
    config = _config(write_config, postgres_url, {"a": upstream.url("/a")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    worker = _worker(config, tmp_path / "worker.log")
    workers.append(worker)
    wait_until(lambda: upstream.count("/a") == 1, "the first job", timeout=120)
    _config(write_config, postgres_url, {"a": upstream.url("/a"), "b": upstream.url("/b")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue", "b"]).exit_code == 0
    wait_until(lambda: _pending(postgres_url) == 0, "the new show's job", timeout=120)
    worker.terminate()
    assert worker.wait(timeout=60) == 0
    log = (tmp_path / "worker.log").read_text()
    assert "no longer in the config" not in log, log
    assert "changed: reloaded" in log
    with open_store(postgres_url, read_only=True) as store:
        assert (store.count("a"), store.count("b")) == (2, 3)


@pytest.mark.queue
def test_a_worker_runs_as_many_jobs_at_once_as_its_concurrency(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """Regression: procrastinate ran the jobs in the event loop's default executor,
    min(32, cores + 4) threads: on two cores `--concurrency 8` ran 6 at a time."""
    hosts = servers.loopback_hosts(8)
    release = threading.Event()
    body = podcast(1, show="Wide", notes=100)
    with servers.upstream(hosts) as wide:

        def held(request: Request) -> Reply:
            release.wait(timeout=120)
            return Reply(body, 200, {"Content-Type": RSS})

        wide.route("/feed", held)
        config = _config(write_config, postgres_url, {f"s{n}": wide.url("/feed", host) for n, host in enumerate(hosts)})
        # No read timeout while the test holds the answers: a job waiting for a thread
        # must not get one from another job's timing out.
        config.write_text(config.read_text() + "fetch: {read_timeout: 600, deadline: 900}\n")
        assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
        worker = _worker(config, tmp_path / "worker.log", "--burst", "--concurrency", "8")
        workers.append(worker)
        try:
            # All eight in flight at once, each on a host of its own (one request per host holds).
            wait_until(lambda: len(asked_hosts(wide)) == 8 or worker.poll() is not None, "eight hosts", timeout=60)
            assert asked_hosts(wide) == {f"{host}:{wide.port}" for host in hosts}
        finally:
            release.set()
        assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()


def asked_hosts(upstream: Upstream) -> set[str]:
    return {request.headers.get("Host", "") for request in upstream.requests()}


def test_a_concurrency_past_the_store_connections_is_refused(
    write_config: Callable[[str], Path], runner: CliRunner
) -> None:
    config = _config(write_config, "postgresql://u@127.0.0.1:1/x", {"a": "https://example.invalid/f"})
    result = runner.invoke(main, ["--config", str(config), "worker", "--concurrency", "17"])
    assert result.exit_code == 2
    assert "17 is not in the range 1<=x<=16" in result.output


@pytest.mark.queue
def test_a_local_refresh_and_the_workers_jobs_wait_for_one_another(
    postgres_url: str,
    write_config: Callable[[str], Path],
    runner: CliRunner,
    upstream: Upstream,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """Regression: a cron'd `feedtool refresh` and the queue's jobs ran on one store
    side by side, each planning from a show's state the other was changing."""
    from feedtool.store.postgres import refresh_lock

    release = _held(upstream, "/held")
    config = _config(write_config, postgres_url, {"held": upstream.url("/held")})
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    worker = _worker(config, tmp_path / "worker.log", "--burst")
    workers.append(worker)
    wait_until(lambda: upstream.count("/held") == 1, "the job's request", timeout=120)
    # A job is running: a local refresh is refused (or waits with --wait).
    local = runner.invoke(main, ["--config", str(config), "refresh"])
    assert local.exit_code == 3, local.output
    assert "is running (or queue workers' jobs are)" in local.output
    release.set()
    assert worker.wait(timeout=120) == 0
    # A local refresh is running: a job waits for it.
    assert runner.invoke(main, ["--config", str(config), "refresh", "--enqueue"]).exit_code == 0
    with refresh_lock(postgres_url):
        second = _worker(config, tmp_path / "second.log", "--burst")
        workers.append(second)
        wait_until(lambda: postgres.advisory_waiters(postgres_url) == 1, "the job waiting for the refresh", timeout=120)
        assert upstream.count("/held") == 1
    assert second.wait(timeout=120) == 0
    assert upstream.count("/held") == 2
