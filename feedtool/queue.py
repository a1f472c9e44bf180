"""Refresh on a task queue: procrastinate, with its jobs in the store's PostgreSQL (issue 17).

``enqueue`` defers one job per source; ``work`` runs a worker that refreshes each
job's source through ``feedtool.refresh.refresh_source`` (one store transaction per
source, so a worker that dies leaves nothing half-written). The politeness rules
hold across every worker on every machine:

- one request at a time per upstream host: each request holds a transaction-scoped
  PostgreSQL advisory lock keyed by a stable hash of the host (``DatabaseHostLimiter``),
  which ends with its connection, also when the worker is killed;
- conditional GET and Retry-After: the ``Fetcher`` as in a local refresh.

Jobs of one show share a procrastinate ``lock``: they run one at a time, in the
order they were queued (config order), so a show's first source decides its GUIDs
as in a local refresh, and two plans for one show never race. A source's
``queueing_lock`` keeps it queued at most once. A job whose worker died (no
heartbeat for ``stalled_after`` seconds) is put back by any worker: at its start,
and on every round of a ``--burst`` worker or every ``stalled_after`` seconds of a
long-running one.

procrastinate is imported here only; it is part of ``feedtool[postgresql]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from feedtool import files
from feedtool.config import Config, load
from feedtool.errors import ConfigError, FetchError, QueueError, SourceError, StoreError
from feedtool.fetch import Fetcher, HostLimiter, wait_for_pause
from feedtool.patterns import RuleBudget
from feedtool.redact import operator_location
from feedtool.refresh import SourceResult, _failed, refresh_source, retag
from feedtool.store import open_store
from feedtool.store.postgres import POOL_SIZE, connect_options, is_postgresql, shared_refresh_lock

if TYPE_CHECKING:
    import procrastinate
    import psycopg
    import psycopg_pool

log = logging.getLogger(__name__)

#: The procrastinate queue and task name of a source's refresh.
QUEUE = "feedtool-refresh"
TASK = "feedtool.refresh_source"
#: A worker without a heartbeat for this long is taken for dead, and its jobs retried.
STALLED_AFTER = 30.0
#: How often every worker sends its heartbeat: the same for all, whatever their
#: stalled_after, since each judges the others' heartbeats by its own stalled_after.
HEARTBEAT = 1.0
#: How long a worker waits for a connection of procrastinate's pool before its round fails.
POOL_TIMEOUT = 10.0
#: The advisory lock that makes concurrent workers install procrastinate's schema once.
_SCHEMA_LOCK = int.from_bytes(hashlib.blake2b(b"feedtool-queue-schema", digest_size=8).digest(), "big", signed=True)


def host_key(host: str) -> int:
    """The advisory lock key of an upstream host: a stable 64-bit hash, the same on every machine.

    >>> host_key("Example.org") == host_key("example.org"), host_key("example.org") == host_key("example.com")
    (True, False)
    """
    digest = hashlib.blake2b(b"feedtool-host:" + host.lower().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def source_key(show_id: str, kind: str, location: str) -> str:
    """A source's queueing lock: short and without the location's secrets."""
    digest = hashlib.blake2b(f"{show_id}\0{kind}\0{location}".encode(), digest_size=12).hexdigest()
    return f"feedtool-source:{digest}"


def require_postgresql(config: Config) -> str:
    """The store's PostgreSQL URL; QueueError for a SQLite store."""
    if not is_postgresql(config.store):
        raise QueueError(
            f"the refresh queue needs a PostgreSQL store (store: postgresql://...), and {config.store} "
            "is a SQLite file: run `feedtool refresh` without --enqueue instead"
        )
    return str(config.store)


class DatabaseHostLimiter(HostLimiter):
    """At most one request at a time per host across processes and machines: a
    PostgreSQL advisory lock per host, held in a transaction for the request."""

    def __init__(self, url: str, size: int) -> None:
        import psycopg_pool

        super().__init__()
        self._location = operator_location(url)
        self._pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=size, kwargs={"autocommit": False, **connect_options(url)}, open=False
        )
        self._pool.open(wait=False)

    def close(self) -> None:
        self._pool.close()

    def acquire(self, url: str, timeout: float) -> Callable[[], None]:
        """Wait (at most timeout seconds) for the host of url in this process, then in the database."""
        import psycopg
        import psycopg_pool

        host = (urlsplit(url).hostname or "").lower()
        started = time.monotonic()
        # This process's threads queue locally first: a waiting thread holds no connection.
        release_local = super().acquire(url, timeout)
        try:
            conn = self._pool.getconn(timeout=max(timeout, 0.1))
        except psycopg_pool.PoolTimeout as exc:
            release_local()
            raise StoreError(f"no connection to {self._location} for the lock of {host}") from exc
        try:
            # lock_timeout 0 would mean no bound at all.
            left = timeout - (time.monotonic() - started)
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{max(int(left * 1000), 1)}ms",))
            # The lock lives in a transaction left idle for the whole request: a server's
            # idle_in_transaction_session_timeout (common on managed PostgreSQL) would end it mid-request.
            conn.execute("SELECT set_config('idle_in_transaction_session_timeout', '0', true)")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (host_key(host),))
            # A pause another worker recorded for the host (Retry-After), waited out holding its lock.
            row = conn.execute(
                "SELECT EXTRACT(EPOCH FROM until - clock_timestamp())::float8 FROM feedtool_host_pauses "
                "WHERE host_key = %s",
                (host_key(host),),
            ).fetchone()
            wait_for_pause(host, 0.0 if row is None else float(row[0]), timeout - (time.monotonic() - started))
        except psycopg.errors.LockNotAvailable as exc:
            self._put(conn, release_local)
            raise FetchError(f"gave up waiting for another worker's request to {host} to finish") from exc
        except psycopg.Error as exc:
            self._put(conn, release_local)
            raise StoreError(f"cannot take the lock of {host} in {self._location}: {exc}") from exc
        except BaseException:
            self._put(conn, release_local)
            raise
        return lambda: self._put(conn, release_local)

    def pause(self, url: str, seconds: float) -> None:
        """Record the host's Retry-After for every worker (and this process's threads)."""
        import psycopg
        import psycopg_pool

        super().pause(url, seconds)
        host = (urlsplit(url).hostname or "").lower()
        try:
            with self._pool.connection(timeout=5) as conn:
                conn.execute(
                    "INSERT INTO feedtool_host_pauses (host_key, until) "
                    "VALUES (%s, clock_timestamp() + make_interval(secs => %s)) ON CONFLICT (host_key) "
                    "DO UPDATE SET until = GREATEST(feedtool_host_pauses.until, excluded.until)",
                    (host_key(host), seconds),
                )
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            # The pause still holds in this process; the other workers may ask once too early.
            log.warning("cannot record the pause %s asked for in %s: %s", host, self._location, exc)

    def _put(self, conn: psycopg.Connection[Any], release_local: Callable[[], None]) -> None:
        # The rollback ends the transaction and its lock; a broken connection is dropped by the pool.
        try:
            with contextlib.suppress(Exception):
                conn.rollback()
            self._pool.putconn(conn)
        finally:
            release_local()


@dataclass(frozen=True)
class Job:
    """One source to refresh, as a job carries it."""

    show_id: str
    kind: str
    location: str
    force: bool = False


def jobs(config: Config, show_ids: Sequence[str] = ()) -> list[Job]:
    """One job per source of the named shows (default: all), in config order."""
    found: list[Job] = []
    with open_store(require_postgresql(config)) as store:
        for show_id in show_ids or config.shows:
            show = config.shows[show_id]
            # Rules changed since the last refresh: every source of the show is read
            # again, as a local refresh does (the job that retags cannot tell its siblings).
            force = store.rules_digest(show.id) not in (None, show.rules_digest)
            found.extend(Job(show.id, source.kind, source.location, force) for source in show.sources)
    return found


def _app(url: str) -> procrastinate.App:
    import procrastinate

    # A database that is gone fails a worker's round after POOL_TIMEOUT, not psycopg_pool's 30 s.
    return procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=url, timeout=POOL_TIMEOUT, kwargs=connect_options(url))
    )


#: feedtool's record of the procrastinate release that installed (or last migrated) the
#: queue's schema: procrastinate keeps none, and installs its schema only in an empty database.
SCHEMA_TABLE = "feedtool_queue_schema"


@dataclass(frozen=True)
class SchemaLevel:
    """A procrastinate release and the last of its schema migrations (procrastinate/sql/migrations)."""

    procrastinate: str
    migration: str


def installed_level() -> SchemaLevel:
    """The installed procrastinate's release and the last migration its wheel ships."""
    from importlib.metadata import version

    return SchemaLevel(version("procrastinate"), _migrations()[-1])


def _migrations() -> list[str]:

    import procrastinate.schema

    folder = Path(procrastinate.schema.SchemaManager.get_migrations_path())
    # Named "<version>_<step>_<what>.sql" (e.g. 03.04.00_50_post_...): in order when sorted.
    return sorted(path.stem for path in folder.glob("*.sql"))


def _ensure_schema(url: str) -> None:
    """Install procrastinate's tables in the store's database once, whoever comes first,
    and refuse a schema that another procrastinate release installed (QueueError)."""
    import procrastinate
    import psycopg

    current = installed_level()
    try:
        with psycopg.connect(url, autocommit=True, **connect_options(url)) as conn:
            recorded = _recorded(conn)
            if recorded is None:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    recorded = _recorded(conn)  # another worker may have been first
                    if recorded is None:
                        if not conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
                            conn.execute(procrastinate.schema.SchemaManager.get_schema())
                            log.info("installed procrastinate's schema in %s", operator_location(url))
                        # Else a feedtool without this record installed it, pinned to this release (<3.11).
                        _record(conn, current)
                        recorded = current
            if recorded.migration == current.migration and recorded.procrastinate != current.procrastinate:
                _record(conn, current)  # a release without migrations: nothing to do but say so
            if not conn.execute("SELECT to_regclass('feedtool_host_pauses') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    # Each upstream host's Retry-After, for every worker (host_key as the host locks).
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS feedtool_host_pauses "
                        "(host_key BIGINT PRIMARY KEY, until TIMESTAMPTZ NOT NULL)"
                    )
    except psycopg.Error as exc:
        raise QueueError(f"cannot prepare the queue in {operator_location(url)}: {exc}") from exc
    if recorded.migration != current.migration:
        raise QueueError(_mismatch(url, recorded, current))


def _recorded(conn: psycopg.Connection[Any]) -> SchemaLevel | None:
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (SCHEMA_TABLE,)).fetchone()[0]:  # type: ignore[index]
        return None
    row = conn.execute("SELECT procrastinate, migration FROM feedtool_queue_schema").fetchone()
    return None if row is None else SchemaLevel(row[0], row[1])


def _record(conn: psycopg.Connection[Any], level: SchemaLevel) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS feedtool_queue_schema (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "procrastinate text NOT NULL, migration text NOT NULL, recorded timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute(
        "INSERT INTO feedtool_queue_schema (procrastinate, migration) VALUES (%s, %s) ON CONFLICT (one) DO UPDATE "
        "SET procrastinate = excluded.procrastinate, migration = excluded.migration, recorded = now()",
        (level.procrastinate, level.migration),
    )


def _mismatch(url: str, recorded: SchemaLevel, current: SchemaLevel) -> str:
    """What to do about a queue schema of another procrastinate release."""
    where = operator_location(url)
    if recorded.migration > current.migration:
        return (
            f"the queue's schema in {where} is newer than this procrastinate {current.procrastinate} knows: "
            f"procrastinate {recorded.procrastinate} migrated it to {recorded.migration}; "
            f"install procrastinate {recorded.procrastinate} (pip install 'procrastinate=={recorded.procrastinate}')"
        )
    import procrastinate.schema

    missing = [name for name in _migrations() if name > recorded.migration]
    folder = procrastinate.schema.SchemaManager.get_migrations_path()
    update = f"UPDATE {SCHEMA_TABLE}"
    return (
        f"the queue's schema in {where} was installed by procrastinate {recorded.procrastinate}, and the installed "
        f"procrastinate {current.procrastinate} needs its migrations {', '.join(missing)} (in {folder}): "
        f"either install procrastinate {recorded.procrastinate} again (pip install "
        f"'procrastinate=={recorded.procrastinate}'), or stop every worker, apply them in that order "
        f'(psql DATABASE_URL -1 -f FILE), then record it: psql DATABASE_URL -c "{update}'
        f" SET procrastinate = '{current.procrastinate}', migration = '{current.migration}'\""
    )


def enqueue(config: Config, show_ids: Sequence[str] = ()) -> tuple[int, int]:
    """Queue one job per source; return (queued, already queued)."""
    import procrastinate.exceptions

    url = require_postgresql(config)
    _ensure_schema(url)
    app = _app(url)
    task = app.task(name=TASK, queue=QUEUE)(_unregistered)
    queued = skipped = 0
    waiting = _waiting(url)
    with _opened(app):
        for job in jobs(config, show_ids):
            if source_key(job.show_id, job.kind, job.location) in waiting:
                skipped += 1  # the common case from cron: no round trip per source
                continue
            try:
                task.configure(
                    lock=f"feedtool-show:{job.show_id}", queueing_lock=source_key(job.show_id, job.kind, job.location)
                ).defer(show_id=job.show_id, kind=job.kind, location=job.location, force=job.force)
                queued += 1
            except procrastinate.exceptions.AlreadyEnqueued:
                skipped += 1
    return queued, skipped


def _waiting(url: str) -> set[str]:
    """The queueing locks of the jobs that wait (a source waits at most once: procrastinate's unique index)."""
    import psycopg

    try:
        with psycopg.connect(url, **connect_options(url)) as conn:
            rows = conn.execute(
                "SELECT queueing_lock FROM procrastinate_jobs "
                "WHERE queue_name = %s AND status = 'todo' AND queueing_lock IS NOT NULL",
                (QUEUE,),
            ).fetchall()
    except psycopg.Error as exc:
        raise QueueError(f"cannot read the queue in {operator_location(url)}: {exc}") from exc
    return {row[0] for row in rows}


def _unregistered(**_: object) -> None:
    raise AssertionError("the enqueuer's app never runs jobs")


@contextlib.contextmanager
def _opened(app: procrastinate.App) -> Iterator[None]:
    import procrastinate.exceptions

    try:
        with app.open():
            yield
    except procrastinate.exceptions.ConnectorException as exc:
        raise QueueError(f"the queue's database failed: {exc}") from exc


def refresh_job(config: Config, fetcher: Fetcher, job: Job) -> SourceResult | None:
    """Refresh one queued source; None when the config no longer has it (the job is dropped)."""
    show = config.shows.get(job.show_id)
    source = next((s for s in show.sources if (s.kind, s.location) == (job.kind, job.location)), None) if show else None
    if show is None or source is None:
        log.warning("%s %s: no longer in the config; job dropped", job.show_id, operator_location(job.location))
        return None
    with shared_refresh_lock(str(config.store)), open_store(config.store) as store:
        force = job.force
        try:
            if store.rules_digest(show.id) != show.rules_digest:
                changed = retag(store, show.within(RuleBudget(config.fetch.deadline)))
                log.info("%s: tag or strip rules changed; %d stored episodes updated", show.id, changed)
                force = True
        except (SourceError, StoreError) as exc:
            log.warning("%s: retagging stored episodes failed: %s", show.id, exc)
            # As a local refresh: the sources of a show whose retag failed fail with the reason.
            return _failed(store, show, source, f"retagging stored episodes: {exc}", 0.0)
        bounded = show.within(RuleBudget(config.fetch.deadline))
        result = refresh_source(store, bounded, source, fetcher, force=force)
    log.info("%s", result.describe())
    return result


def work(
    config: Config,
    *,
    concurrency: int = 1,
    burst: bool = False,
    stalled_after: float = STALLED_AFTER,
    on_result: Callable[[SourceResult], None] | None = None,
) -> None:
    """Run a worker: until stopped by a signal, or with ``burst`` until no job waits or runs."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        # Each job holds one of the process's store connections (store.postgres.POOL_SIZE) throughout.
        raise QueueError(f"concurrency must be 1 to {MAX_CONCURRENCY}, not {concurrency}: run more worker processes")
    if stalled_after < 3 * HEARTBEAT:
        raise QueueError(f"stalled_after must be at least {3 * HEARTBEAT:g} s: three heartbeats, not {stalled_after:g}")
    url = require_postgresql(config)
    _ensure_schema(url)
    limiter = DatabaseHostLimiter(url, size=concurrency + 2)
    fetcher = Fetcher(config.fetch, limiter)
    app = _app(url)

    configs = _Configs(config)

    @app.task(name=TASK, queue=QUEUE)
    def _refresh(show_id: str, kind: str, location: str, force: bool = False) -> None:
        result = refresh_job(configs.current(), fetcher, Job(show_id, kind, location, force))
        if result is not None and on_result is not None:
            on_result(result)

    options: dict[str, Any] = {
        "queues": [QUEUE],
        "concurrency": concurrency,
        "update_heartbeat_interval": HEARTBEAT,
        "stalled_worker_timeout": stalled_after,
        "fetch_job_polling_interval": 1.0,
        "delete_jobs": "successful",
    }
    try:
        asyncio.run(_work(app, options, burst, stalled_after))
    finally:
        fetcher.close()
        limiter.close()


class _Configs:
    """A long-running worker's config, read again when its file changed, as the web
    server does: `refresh --enqueue` reads the file as it is now, and a worker still on
    the config it started with dropped the jobs of shows added since (regression), and
    two workers on two versions of the rules retagged a show back and forth. An edit
    that makes the config invalid is logged and the last valid config stays in use;
    the store and the fetch settings stay those the worker started with."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._stamp = files.stamp(config.path)
        self._lock = threading.Lock()

    def current(self) -> Config:
        stamp = files.stamp(self._config.path)
        with self._lock:
            if stamp is None or stamp == self._stamp:
                return self._config  # unchanged, or missing while an editor replaces it
            self._stamp = stamp
            try:
                self._config = load(self._config.path)
            except ConfigError as exc:
                log.error("%s\nstill using the config read before", exc)
            else:
                log.info("config %s changed: reloaded", self._config.path)
            return self._config


#: Jobs at a time in one worker process: each holds one of its store connections.
MAX_CONCURRENCY = POOL_SIZE

#: A worker gives up (QueueError, exit 1) after this many failed rounds in a row.
FAILED_ROUNDS = 3


class _SideTaskFailures(logging.Handler):
    """What stopped a procrastinate worker: a side task (listener, heartbeat) that
    failed makes it stop as if asked to, and only logs why."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The monitor logs a side task's failure as it happens; the shutdown, a failure
        # the monitor had no time to see, as "<task>_error".
        action = str(getattr(record, "action", ""))
        side = action == "side_task_failed" or action.removesuffix("_error") in _SIDE_TASKS
        if side and record.exc_info and record.exc_info[1]:
            self.errors.append(record.exc_info[1])


#: procrastinate's worker side tasks (procrastinate/worker.py, _start_side_tasks).
_SIDE_TASKS = frozenset({"update_heartbeats", "deferrer", "poll_jobs_to_abort", "listener"})


async def _work(app: procrastinate.App, options: dict[str, Any], burst: bool, stalled_after: float) -> None:
    """Run worker rounds: one until stopped, or with ``burst`` until no job waits or runs.

    A round that fails (the database refuses, a side task of procrastinate's failed)
    is run again after a pause; after FAILED_ROUNDS failures in a row the worker
    stops with QueueError, so that a burst run ends and a service manager restarts
    a long-running one, instead of both looping on a database that is gone.
    """
    import procrastinate.exceptions
    import psycopg
    import psycopg_pool

    # procrastinate runs a sync task in the loop's default executor, min(32, cores + 4)
    # threads: --concurrency 8 ran 6 jobs at a time on two cores (regression). Four
    # threads more than the jobs: the loop's own users of the executor (name lookups of
    # the async pool's connections) must not wait behind jobs that wait for a host.
    concurrency = int(options["concurrency"])
    executor = ThreadPoolExecutor(max_workers=concurrency + 4, thread_name_prefix="feedtool-job")
    asyncio.get_running_loop().set_default_executor(executor)
    failures = _SideTaskFailures()
    watched = logging.getLogger("procrastinate")
    watched.addHandler(failures)
    failed = 0
    try:
        async with app.open_async():
            while True:
                failures.errors.clear()
                try:
                    await _retry_stalled(app, stalled_after)
                    stop = await _round(app, options, burst, stalled_after, failures)
                except (procrastinate.exceptions.ConnectorException, psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                    error: BaseException | None = exc
                else:
                    error = failures.errors[0] if failures.errors else None
                    if error is None and stop:
                        return
                if error is None:
                    failed = 0
                else:
                    failed += 1
                    if failed >= FAILED_ROUNDS:
                        raise QueueError(
                            f"the worker stopped after {failed} failed rounds in a row; the last: {_reason(error)}"
                        ) from error
                    log.warning("worker round failed (%d of %d): %s", failed, FAILED_ROUNDS, _reason(error))
                # procrastinate's wait=False stops at the first empty fetch, with jobs still
                # waiting for a show's lock or a dead worker's retry: round again.
                await asyncio.sleep(0.5 * 2**failed)
    except procrastinate.exceptions.ConnectorException as exc:  # opening or closing the app's pool
        raise QueueError(f"the queue's database failed: {_reason(exc)}") from exc
    finally:
        watched.removeHandler(failures)


async def _round(
    app: procrastinate.App, options: dict[str, Any], burst: bool, stalled_after: float, failures: _SideTaskFailures
) -> bool:
    """One run of procrastinate's worker; True when the worker is done (stopped, or no job left)."""
    if burst:
        await _watched(app.run_worker_async(**options, wait=False, install_signal_handlers=False), failures)
        return not await _pending(app)
    sweeper = asyncio.create_task(_sweep(app, stalled_after))
    try:
        await _watched(app.run_worker_async(**options), failures)
    finally:
        sweeper.cancel()
    return True  # stopped by a signal, unless a side task failed (the caller checks)


async def _watched(run: Coroutine[Any, Any, None], failures: _SideTaskFailures) -> None:
    """Run a procrastinate worker, and stop it as soon as one of its side tasks failed.

    procrastinate 3.10 means to stop a worker whose side task failed, but its monitor
    returns as soon as the periodic deferrer does, at once when no task is periodic:
    a worker whose heartbeat failed kept running jobs that others took for a dead
    worker's, and ran again.
    """
    worker = asyncio.create_task(run)
    side: set[asyncio.Task[Any]] = set()
    while not worker.done():
        await asyncio.wait({worker}, timeout=0.2)
        # A running worker logs no failure of its side tasks: look at them (they have names).
        side.update(task for task in asyncio.all_tasks() if task.get_name() in _SIDE_TASKS)
        for task in side:
            error = task.exception() if task.done() and not task.cancelled() else None
            if error is not None and error not in failures.errors:
                failures.errors.append(error)
        if failures.errors and not worker.done():
            worker.cancel()  # procrastinate stops the worker gracefully: its running jobs finish
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            return
    worker.result()


def _reason(exc: BaseException) -> str:
    """The database's own words for a failure: procrastinate's ConnectorException says only "Database error"."""
    while exc.__cause__ is not None and type(exc).__module__.startswith("procrastinate"):
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


async def _sweep(app: procrastinate.App, stalled_after: float) -> None:
    """Every stalled_after seconds, retry dead workers' jobs. A sweep that fails is
    logged and the next one comes as usual (regression: the first failure ended the
    sweeping for the worker's life, silently); a database that stays gone fails the
    worker's own round."""
    import procrastinate.exceptions
    import psycopg
    import psycopg_pool

    while True:
        await asyncio.sleep(stalled_after)
        try:
            await _retry_stalled(app, stalled_after)
        except (procrastinate.exceptions.ConnectorException, psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            log.warning("looking for dead workers' jobs failed: %s; again in %g s", _reason(exc), stalled_after)


async def _retry_stalled(app: procrastinate.App, stalled_after: float) -> None:
    """Put the jobs of dead workers (no heartbeat for stalled_after seconds) back in the queue."""
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after):
        log.warning("job %s (%s) was running on a worker that stopped; queued again", job.id, job.task_kwargs)
        await app.job_manager.retry_job(job)


async def _pending(app: procrastinate.App) -> bool:
    row = await app.connector.execute_query_one_async(
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE queue_name = %(queue)s AND status IN ('todo', 'doing')",
        queue=QUEUE,
    )
    return bool(row["n"])
