"""Issue 17: refresh workers. Refreshed sources per second with 1, 2 and 4 `feedtool
worker --burst` processes, and with one process running 2 and 4 jobs at once
(`--concurrency`), against a loopback upstream that answers each source after 50 to
100 ms, spread over many loopback hosts (127.0.0.1, 127.0.0.2, ...) so that the
one-request-per-host rule is not what bounds the rate; a throwaway PostgreSQL cluster
(feedtool.testing.postgres) holds the queue and the store.

    python bench/run.py --only queue [--quick]

Not named queue.py: `python bench/run.py` puts bench/ first on sys.path, where a
queue.py would hide the standard library's `queue` module.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from feedtool.testing import postgres, servers
from feedtool.testing.feeds import podcast
from feedtool.testing.servers import RSS, Reply, Request

if TYPE_CHECKING:
    from run import Row

#: The runs: (worker processes, jobs at a time in each).
SETUPS = ((1, 1), (2, 1), (4, 1), (1, 2), (1, 4))


def _delay(n: int) -> float:
    """Source n's simulated upstream latency: 50 to 100 ms, 75 ms on average."""
    return 0.05 + 0.05 * (n * 7 % 10) / 9


def _burst(config: Path, processes: int, concurrency: int, log: Path) -> float:
    """Seconds until `processes` burst workers, started together, have all exited 0."""
    command = [sys.executable, "-m", "feedtool", "--config", str(config), "worker", "--burst", "-c", str(concurrency)]
    started = time.perf_counter()
    with log.open("ab") as out:
        running = [subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT) for _ in range(processes)]
        codes = [process.wait(timeout=900) for process in running]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise RuntimeError(f"a worker failed ({codes}); see {log}")
    return elapsed


def bench_queue(
    work: Path, report: Callable[[Row], object], sources: int = 200, hosts: int = 20, episodes: int = 20_000
) -> None:
    """Refreshed sources per second for each of SETUPS; each run on a fresh database."""
    import psycopg
    from run import Row

    print(f"\n## Refresh workers (issue 17): {sources} sources on {hosts} hosts, 50-100 ms each\n", flush=True)
    bindir = postgres.find_bindir()
    if bindir is None:
        print("(skipped: no PostgreSQL server binaries)")
        return
    addresses = servers.loopback_hosts(hosts)
    bodies = [podcast(5, show=f"Show {n}", seed=n, notes=500) for n in range(sources)]
    log = work / "workers.log"
    with postgres.cluster(bindir) as cluster, servers.upstream(addresses) as upstream:

        def answer(request: Request) -> Reply:
            n = int(request.path.rsplit("/", 1)[1])
            time.sleep(_delay(n))
            return Reply(bodies[n], 200, {"Content-Type": RSS})

        shows = ""
        for n in range(sources):
            upstream.route(f"/feed/{n}", answer)
            shows += f"  show-{n}:\n    sources:\n      - rss: {upstream.url(f'/feed/{n}', addresses[n % hosts])}\n"

        def fresh(name: str) -> Path:
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            config = work / f"{name}.yaml"
            config.write_text(f"store: {cluster.url(name)}\nshows:\n{shows}")
            return config

        def enqueue(config: Path) -> None:
            subprocess.run([sys.executable, "-m", "feedtool", "--config", str(config), "refresh", "--enqueue"],
                           check=True, capture_output=True)  # fmt: skip

        # A burst worker's start and stop on an empty queue: in every run's time below.
        idle = fresh("idle")
        enqueue(idle)
        overhead = statistics.median(_burst(idle, 1, 1, log) for _ in range(3))
        report(Row("burst worker start and exit, empty queue", overhead, "s"))
        rates: dict[tuple[int, int], float] = {}
        for processes, concurrency in SETUPS:
            config = fresh(f"run_{processes}x{concurrency}")
            enqueue(config)
            served = len(upstream.requests())
            elapsed = _burst(config, processes, concurrency, log)
            assert len(upstream.requests()) - served == sources, "every source once"
            rates[processes, concurrency] = sources / elapsed
            one = rates[1, 1]
            name = f"{processes} worker process{'es' if processes > 1 else ''} x {concurrency} at a time"
            baseline = None if (processes, concurrency) == (1, 1) else one
            report(Row(f"refreshed sources/s, {name}", rates[processes, concurrency], "sources/s", baseline,
                       "1 process x 1"))  # fmt: skip
        mean = statistics.mean(_delay(n) for n in range(sources))
        report(Row("one job at a time, latency bound (1 / mean upstream delay)", 1 / mean, "sources/s"))

        # What a worker's own part costs on each store: the first store of a large listing.
        sqlite_s = _first_store(str(work / "first-store.sqlite"), episodes)
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "first_store"')
        postgres_s = _first_store(cluster.url("first_store"), episodes)
        report(Row(f"first store of {episodes:,} episodes, PostgreSQL", postgres_s, "s", sqlite_s, "SQLite"))


def _first_store(location: str, episodes: int) -> float:
    """Seconds to store a new show of ``episodes`` episodes (bench/run.py's populate)."""
    from run import populate

    from feedtool.store import open_store
    from feedtool.store.postgres import close_pools

    with open_store(location) as store:
        started = time.perf_counter()
        populate(store, 1, episodes)
        elapsed = time.perf_counter() - started
    close_pools()
    return elapsed
