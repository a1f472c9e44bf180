"""Never losing data, never hammering a host: the refresh lock, kill -9 in the middle
of a refresh or an export, conditional GET, per-host politeness."""

from __future__ import annotations

import functools
import json
import os
import random
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from feedtool import sources
from feedtool.config import load
from feedtool.errors import StoreError
from feedtool.filters import Filter, parse_filter
from feedtool.refresh import refresh
from feedtool.store import open_store
from feedtool.store.postgres import close_pools, is_postgresql
from feedtool.testing.feeds import feed, item
from feedtool.testing.postgres import Cluster, advisory_waiters
from feedtool.testing.servers import GUNICORN, Reply, Request, Upstream, feedtool_server, wait_until
from feedtool.web import create_app

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


def _waits_for_a_lock(process: subprocess.Popen[bytes], store: str) -> bool:
    """Whether ``process`` is blocked waiting for the refresh lock: a file lock (Linux's
    /proc/locks lists each waiter as "N: -> FLOCK ... <pid> ...") or, on PostgreSQL, an
    advisory lock not granted in the store's database (each test has a database of its
    own); an error if it has exited instead."""
    if process.poll() is not None:
        raise AssertionError(f"exited with {process.returncode} instead of waiting for the lock")
    if is_postgresql(store):
        return advisory_waiters(store) == 1
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[5] == str(process.pid):
            return True
    return False


def _store_line(store: str) -> str:
    """The config line of a store: a SQLite file or a PostgreSQL URL."""
    return f'store: "{store}"\n'


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks to see a waiting process")
def test_second_refresh_exits_at_once_with_code_3_or_waits(
    tmp_path: Path, upstream: Upstream, backend_url: str
) -> None:
    """On PostgreSQL the lock is an advisory lock in the database, seen waiting in pg_locks."""
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
        _store_line(backend_url) + f"fetch: {{read_timeout: 90, deadline: 90, retries: 1}}\n"
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
            return _waits_for_a_lock(waiting, backend_url)

        wait_until(blocked, "the --wait refresh to wait for the lock", timeout=60)
    finally:
        release.set()
        outcomes = [finish(process) for process in processes]
    (first_code, _), (code, output) = outcomes
    assert first_code == code == 0, output
    assert "1 sources: 1 ok, 0 failed" in output  # it ran, after the first one finished
    assert released_when_asked == [False, True]


def _count(store: str) -> tuple[int, set[str]]:
    """How many episodes the store holds, and the first words of their titles."""
    if is_postgresql(store):
        with psycopg.connect(store, autocommit=True) as conn:
            titles = {row[0].split(" ", 1)[0] for row in conn.execute("SELECT title FROM episodes")}
            count = conn.execute("SELECT COUNT(*) FROM episodes").fetchone()
        assert count is not None
        return int(count[0]), titles
    db = sqlite3.connect(store)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        titles = {row[0].split(" ", 1)[0] for row in db.execute("SELECT title FROM episodes")}
        return db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0], titles
    finally:
        db.close()


def test_kill_9_mid_refresh_leaves_the_store_as_it_was(tmp_path: Path, upstream: Upstream, backend_url: str) -> None:
    """SQLite: kills at random moments, until one lands before the commit. PostgreSQL:
    one kill once the refresh's transaction has written rows (pg_stat_activity shows it),
    and fewer rows, since each insert there is a round trip."""
    on_postgresql = is_postgresql(backend_url)
    small, large = 500, 5000 if on_postgresql else 20_000
    old = feed(b"".join(item(n, title=f"old {n}") for n in range(small)))
    new = feed(b"".join(item(n, title=f"new {n}") for n in range(large)))
    upstream.serve("/big.rss", old)
    config = tmp_path / "config.yaml"
    config.write_text(
        _store_line(backend_url) + f"shows: {{big: {{sources: [{{rss: {upstream.url('/big.rss')}}}]}}}}\n"
    )
    assert refresh(load(config)).ok
    store = backend_url
    assert _count(store) == (small, {"old"})
    upstream.serve("/big.rss", new)
    random.seed(7)
    outcomes = set()
    delays = [None] if on_postgresql else [0.3, 0.8, 1.5, 2.5, *(random.uniform(0.2, 4) for _ in range(3))]
    for delay in delays:
        process = feedtool(config, "refresh")
        if delay is None:
            writing = functools.partial(lambda running: running.poll() is None and _writing(store), process)
            wait_until(writing, "the refresh to write rows", timeout=60)
        else:
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Upstream, backend_url: str
) -> None:
    """The validators and the body's digest are kept in the store, of either kind."""
    calls: list[str] = []
    rss = sources.KINDS["rss"]
    monkeypatch.setitem(
        sources.KINDS, "rss", replace(rss, parse=lambda data, ctx: calls.append(ctx.location) or rss.parse(data, ctx))
    )
    upstream.serve("/etag.rss", GOOD, etag=True)
    upstream.serve("/plain.rss", GOOD)
    config = tmp_path / "config.yaml"
    config.write_text(
        _store_line(backend_url) + f"shows:\n  a: {{sources: [{{rss: {upstream.url('/etag.rss')}}}]}}\n"
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


def test_one_request_at_a_time_per_host(tmp_path: Path, upstream: Upstream, backend_url: str) -> None:
    gauge, other = Gauge(), Gauge()
    for n in range(4):
        upstream.route(f"/s{n}.rss", gauge.slow(GOOD, 0.4))
    upstream.route("/other.rss", other.slow(GOOD, 0.4))
    shows = "".join(f"  s{n}: {{sources: [{{rss: {upstream.url(f'/s{n}.rss')}}}]}}\n" for n in range(4))
    # "localhost" is another host name for the same server: not held back by 127.0.0.1
    shows += f"  o: {{sources: [{{rss: http://localhost:{upstream.port}/other.rss}}]}}\n"
    config = tmp_path / "config.yaml"
    config.write_text(_store_line(backend_url) + f"fetch: {{concurrency: 4}}\nshows:\n{shows}")
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


# --- a store that disappears, a read-only filesystem, a full disk ------------------


def test_a_deleted_store_is_a_503_and_is_not_recreated(tmp_path: Path) -> None:
    """Regression (issue 9): `rm store.sqlite*` under gunicorn gave 200 with empty
    feeds, `public, max-age=300` and a new ETag, for apps and CDNs to keep."""
    if GUNICORN is None:
        pytest.skip("gunicorn is not installed")
    config = tmp_path / "config.yaml"
    (tmp_path / "good.rss").write_bytes(GOOD)
    config.write_text("shows: {s: {sources: [{rss: good.rss}]}}\n")
    assert refresh(load(config)).ok
    store = tmp_path / "feedtool.sqlite"
    with feedtool_server(config, tmp_path / "gunicorn.log") as base:
        with urllib.request.urlopen(f"{base}/feeds/s.rss", timeout=30) as response:
            assert response.status == 200
        for path in tmp_path.glob("feedtool.sqlite*"):
            if path.suffix != ".lock":
                path.unlink()
        for route in ("/feeds/s.rss", "/feeds/s.json", "/", "/feeds.opml", "/healthz"):
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(f"{base}{route}", timeout=30)
            assert answer.value.code == 503, route
            assert answer.value.headers["Cache-Control"] == "no-store"
            assert answer.value.headers["ETag"] is None
            message = answer.value.read().decode()
            assert message == "503 store unavailable: no store at feedtool.sqlite: run `feedtool refresh` first\n"
        assert not store.exists()


UNSHARE = shutil.which("unshare")


def in_namespace(setup: str, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command in a new user and mount namespace, after the shell commands in
    setup (mounts, which vanish with the namespace); skip where that is not allowed."""
    if UNSHARE is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(
        [UNSHARE, "-rm", "sh", "-c", f"{setup} && echo mounted"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0 or "mounted" not in probe.stdout:
        pytest.skip(f"cannot mount in a user namespace here: {probe.stderr.strip()}")
    return subprocess.run(
        [UNSHARE, "-rm", "sh", "-c", f'{setup} && exec "$@"', "sh", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Runs in the namespace: every way of reading or writing a store on a read-only
# filesystem; prints what each answered. Any sleep is a retry (the 30 s loop of
# issue 9), so the first one stops the run with "retried".
ON_READ_ONLY = r"""
import json, sys, time

def retried(seconds):
    raise RuntimeError("retried")

time.sleep = retried
from click.testing import CliRunner
from feedtool.cli import main
from feedtool.config import load
from feedtool.errors import StoreError
from feedtool.store import Store
from feedtool.web import create_app

config, public = sys.argv[1], sys.argv[2]
out = {}
commands = {
    "episodes": ["episodes", "s"],
    "export": ["export", "--out", public, "--base-url", "https://f.example"],
    "refresh": ["refresh"],
}
for name, args in commands.items():
    result = CliRunner().invoke(main, ["--config", config, *args])
    error = result.exception
    crash = "" if error is None or isinstance(error, SystemExit) else repr(error)
    out[name] = [result.exit_code, result.output + crash]
try:
    Store(load(config).store)
except (StoreError, RuntimeError) as exc:
    out["open"] = str(exc)
client = create_app({"FEEDTOOL_CONFIG": config}).test_client()
for route in ["/", "/feeds/s.rss", "/feeds.opml", "/healthz"]:
    response = client.get(route)
    out[route] = [response.status_code, response.headers.get("Cache-Control"), response.get_data(as_text=True)]
print(json.dumps(out))
"""


@pytest.mark.faults
def test_a_read_only_store_fails_at_once_naming_the_cause(tmp_path: Path) -> None:
    """Regression (issue 9): on a read-only filesystem every request and `feedtool
    episodes` retried for 30 s (OPML hit the worker timeout) before failing."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "good.rss").write_bytes(GOOD)
    config = site / "config.yaml"
    config.write_text("shows: {s: {sources: [{rss: good.rss}]}}\n")
    assert refresh(load(config)).ok
    folder = shlex.quote(str(site))
    run = in_namespace(
        f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} {folder}",
        sys.executable, "-c", ON_READ_ONLY, str(config), str(tmp_path / "public"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert "retried" not in run.stdout
    store = site / "feedtool.sqlite"
    cannot_read = (
        f"cannot read the store {store}: read-only filesystem, where SQLite cannot create "
        "feedtool.sqlite-shm, which even reading needs (unable to open database file)"
    )
    assert out["episodes"] == [1, f"Error: {cannot_read}\n"]
    assert out["export"] == [1, f"Error: {cannot_read}\n"]
    assert out["refresh"][0] == 1
    assert "Read-only file system" in out["refresh"][1]
    assert out["open"] == f"cannot open the store {store}: read-only filesystem (unable to open database file)"
    for route in ("/", "/feeds/s.rss", "/feeds.opml", "/healthz"):
        status, cache, message = out[route]
        assert (status, cache) == (503, "no-store"), route
        assert message.startswith("503 store unavailable: cannot read the store feedtool.sqlite: read-only filesystem")


# Runs in the namespace, with a 4 MB tmpfs as the store's folder: a first refresh,
# then the disk is filled but for `room` bytes and the show grows by thousands of
# episodes; prints each refresh's output and what the store then holds.
ON_FULL_DISK = r"""
import json, os, shutil, sqlite3, subprocess, sys

config, store, source, small, large = sys.argv[1:6]

def refresh():
    command = [sys.executable, "-m", "feedtool", "--config", config, "refresh"]
    done = subprocess.run(command, capture_output=True, text=True)
    return [done.returncode, done.stdout + done.stderr]

def fill(room):
    filler = os.path.join(os.path.dirname(store), "filler")
    with open(filler, "ab", buffering=0) as stream:
        try:
            while True:
                stream.write(b"x" * 4096)
        except OSError:  # no space left
            pass
    os.truncate(filler, max(0, os.path.getsize(filler) - room))
    return filler

def contents():
    db = sqlite3.connect(store)
    try:
        return [db.execute("PRAGMA integrity_check").fetchone()[0],
                sorted(row[0] for row in db.execute("SELECT title FROM episodes"))]
    finally:
        db.close()

out = {}
shutil.copy(small, source)
out["first"] = refresh()
out["stored"] = contents()
shutil.copy(large, source)
filler = fill(160 * 1024)
out["nearly full"] = refresh()
out["after nearly full"] = contents()
fill(0)
out["full"] = refresh()
os.unlink(filler)
out["after full"] = contents()
out["room again"] = refresh()
out["finally"] = len(contents()[1])
print(json.dumps(out))
"""


@pytest.mark.faults
def test_a_full_disk_is_reported_and_the_store_is_kept(tmp_path: Path) -> None:
    """Regression (issue 9): a full disk during refresh was reported as `internal
    error: OperationalError: cannot rollback - no transaction is active`, with a traceback."""
    small = tmp_path / "small.rss"
    small.write_bytes(feed(b"".join(item(n, title=f"old {n}") for n in range(20))))
    large = tmp_path / "large.rss"
    notes = "<description>" + "words " * 100 + "</description>"
    large.write_bytes(feed(b"".join(item(n, title=f"new {n}", extra=notes) for n in range(1000))))
    config = tmp_path / "config.yaml"
    (tmp_path / "store").mkdir()
    source = tmp_path / "feed.rss"
    config.write_text("store: store/feedtool.sqlite\nshows: {s: {sources: [{rss: feed.rss}]}}\n")
    store = tmp_path / "store" / "feedtool.sqlite"
    folder = shlex.quote(str(tmp_path / "store"))
    run = in_namespace(
        f"mount -t tmpfs -o size=4m tmpfs {folder}",
        sys.executable, "-c", ON_FULL_DISK, str(config), str(store), str(source), str(small), str(large),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["first"][0] == 0, out["first"]
    stored = out["stored"]
    assert stored[0] == "ok"
    assert len(stored[1]) == 20
    for phase in ("nearly full", "full"):
        code, output = out[phase]
        assert code == 1, output
        assert f"s rss {source}: failed: cannot write to the store {store}: disk full (" in output or (
            f"Error: cannot open the store {store}: disk full (" in output
        ), output
        assert "Traceback" not in output
        assert "internal error" not in output
    assert out["after nearly full"] == stored  # the store is intact, every earlier episode in it
    assert out["after full"] == stored
    assert out["room again"][0] == 0, out["room again"]
    assert out["finally"] == 1000


# --- PostgreSQL: a server that stops, a database that refuses writes ---------------


def _writing(store: str) -> bool:
    """Whether a session of the store's database has written rows it has not committed yet."""
    with psycopg.connect(store, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
        ).fetchone()
    return row is not None and row[0] > 0


@pytest.mark.faults
def test_postgresql_stopping_mid_refresh_loses_nothing(
    tmp_path: Path, upstream: Upstream, stoppable_cluster: Cluster, stoppable_database: str
) -> None:
    """The server crashes (stop -m immediate) while a refresh's transaction has written
    thousands of rows: the refresh fails naming the store, its password masked; nothing
    of the transaction is stored; the server answers 503 meanwhile; after a restart the
    next refresh completes."""
    store = stoppable_cluster.url(stoppable_database, password="s3cret-pw")  # noqa: S106 - a test password, to see it masked
    masked = f"postgresql://127.0.0.1:{stoppable_cluster.port}/{stoppable_database}"
    small, large = 200, 5000
    upstream.serve("/big.rss", feed(b"".join(item(n, title=f"old {n}") for n in range(small))))
    config = tmp_path / "config.yaml"
    config.write_text(
        _store_line(store) + "server: {busy_timeout: 1}\n"
        f"shows: {{big: {{sources: [{{rss: {upstream.url('/big.rss')}}}]}}}}\n"
    )
    assert refresh(load(config)).ok
    assert _count(store) == (small, {"old"})
    upstream.serve("/big.rss", feed(b"".join(item(n, title=f"new {n}") for n in range(large))))
    process = feedtool(config, "refresh")
    try:
        wait_until(lambda: process.poll() is None and _writing(store), "the refresh to write rows", timeout=60)
        stoppable_cluster.stop("immediate")
        code, output = finish(process)
        client = create_app({"FEEDTOOL_CONFIG": str(config), "TESTING": True}).test_client()
        answer = client.get("/feeds/big.rss")
    finally:
        if process.poll() is None:
            process.kill()
        stoppable_cluster.start()
    assert code == 1, output
    assert f"big rss {upstream.url('/big.rss')}: failed: cannot write to the store {masked}: " in output, output
    assert "s3cret" not in output
    assert "Traceback" not in output
    assert "internal error" not in output
    assert (answer.status_code, answer.headers["Cache-Control"]) == (503, "no-store")
    assert answer.get_data(as_text=True).startswith(f"503 store unavailable: cannot connect to the store {masked}")
    # Its pool made before the crash waited its busy_timeout, then asked the server why (regression: no reason).
    assert "within 1 s: connection failed: " in answer.get_data(as_text=True)
    assert "Connection refused" in answer.get_data(as_text=True)
    assert _count(store) == (small, {"old"})  # the crash undid the whole transaction
    code, output = finish(feedtool(config, "refresh"))
    assert code == 0, output
    assert _count(store) == (large, {"new"})


@pytest.mark.faults
def test_a_postgresql_database_that_refuses_writes(tmp_path: Path, upstream: Upstream, postgres_url: str) -> None:
    """A database set read-only (a replica, a full-disk emergency: default_transaction_read_only):
    the refresh fails with the cause named, keeps every stored episode, and the server
    still reads; a new store there fails at once, naming the store."""
    upstream.serve("/s.rss", GOOD)
    config = tmp_path / "config.yaml"
    config.write_text(_store_line(postgres_url) + f"shows: {{s: {{sources: [{{rss: {upstream.url('/s.rss')}}}]}}}}\n")
    assert refresh(load(config)).ok
    stored = _count(postgres_url)
    database = postgres_url.rsplit("/", 1)[1]
    admin = postgres_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        conn.execute(f'CREATE DATABASE "{database}_new" TEMPLATE template0')
        conn.execute(f'ALTER DATABASE "{database}_new" SET default_transaction_read_only = on')
    close_pools()  # the pool's sessions began before the setting
    upstream.serve("/s.rss", feed(item(1) + item(2) + item(3)))
    code, output = finish(feedtool(config, "refresh"))
    assert code == 1, output
    location = postgres_url.replace("postgres@", "")
    assert (
        f"s rss {upstream.url('/s.rss')}: failed: cannot write to the store {location}: "
        "cannot execute INSERT in a read-only transaction"
    ) in output, output
    assert "internal error" not in output
    assert _count(postgres_url) == stored
    client = create_app({"FEEDTOOL_CONFIG": str(config), "TESTING": True}).test_client()
    assert client.get("/feeds/s.rss").status_code == 200

    config.write_text(config.read_text().replace(database, f"{database}_new"))
    code, output = finish(feedtool(config, "refresh"))
    assert code == 1, output
    assert output.startswith(f"Error: cannot write to the store {location}_new: cannot execute CREATE TABLE"), output


@contextmanager
def _locked(store: str, table: str) -> Iterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on a table (as a schema change does) until the block ends.
    The holder's session ends by itself after 20 s: without a reader's bound the test fails, never hangs."""
    with psycopg.connect(store, autocommit=True) as holder:
        holder.execute("SET idle_in_transaction_session_timeout = '20s'")
        with holder.transaction():
            holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            yield


@pytest.mark.faults
def test_a_postgresql_read_past_busy_timeout_is_cancelled(tmp_path: Path, postgres_url: str) -> None:
    """A reader (the server, `feedtool episodes`, export) waits at most server.busy_timeout
    for the database: a read blocked by a lock is cancelled and becomes a StoreError saying
    so (a 503 from the server); the bound is the transaction's, not the pooled connection's."""
    (tmp_path / "good.rss").write_bytes(GOOD)
    config = tmp_path / "config.yaml"
    config.write_text(
        _store_line(postgres_url) + "server: {busy_timeout: 0.2}\nshows: {s: {sources: [{rss: good.rss}]}}\n"
    )
    assert refresh(load(config)).ok
    location = postgres_url.replace("postgres@", "")
    too_long = (
        f"cannot read the store {location}: it took longer than 0.2 s (server.busy_timeout), so the query was cancelled"
    )
    with open_store(postgres_url, read_only=True, busy_timeout=0.2) as store:
        with _locked(postgres_url, "episodes"):
            for flt in (Filter(), parse_filter({"filter": "Episode"})):  # in SQL; regex rows from a server-side cursor
                with pytest.raises(StoreError) as caught:
                    store.episodes("s", flt)
                assert str(caught.value) == too_long
        assert len(store.episodes("s")) == 2  # the lock is gone: the same connection reads again
        with store.db.conn.cursor() as raw:  # type: ignore[attr-defined]
            assert raw.execute("SHOW statement_timeout").fetchone() == ("0",)
    with _locked(postgres_url, "feedtool_schema"), pytest.raises(StoreError) as caught:
        open_store(postgres_url, read_only=True, busy_timeout=0.2)  # a migration's lock
    assert str(caught.value) == too_long
    client = create_app({"FEEDTOOL_CONFIG": str(config), "TESTING": True}).test_client()
    assert client.get("/feeds/s.rss").status_code == 200
    with _locked(postgres_url, "episodes"):
        answer = client.get("/feeds/s.json")
    assert (answer.status_code, answer.headers["Cache-Control"]) == (503, "no-store")
    assert answer.get_data(as_text=True) == f"503 store unavailable: {too_long}\n"
