"""Issue 17, web nodes: cached requests per second with 1 and with 2 gunicorn nodes on
one PostgreSQL store (a throwaway cluster in a temporary folder, as the tests start it).

Run through ``python bench/run.py --only nodes`` (``--quick``: tiny sizes). Layouts,
all serving the same tag-filtered feed of one show, cached and as 304s:

- 1 node, 2 workers, on a SQLite store: the baseline of the PostgreSQL node, which
  asks the database its commit count on every request where SQLite reads
  ``PRAGMA data_version`` from its own file;
- 1 node, 2 workers, on PostgreSQL;
- 2 nodes, 1 worker each: the same number of workers as one node, so what being two
  masters costs or gains, the CPU being the same;
- 2 nodes, 2 workers each: what adding a node adds on this machine.

The load is the same for every layout, so that the generator costs each alike: two
``wrk -t1 -c4`` at once (8 connections in all), one per node, both at the one node when
there is one; without wrk, the bench's own generator split the same way. On a machine
of 2 cores the generator, the gunicorn workers and PostgreSQL's backends share the
cores: adding a node cannot add CPU here, and the figures say what a node costs, not
how far nodes scale on machines of their own.
"""

from __future__ import annotations

import importlib.util
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from run import FEEDTOOL_APP, Row, find_wrk, gunicorn, load_test

from feedtool.testing import postgres
from feedtool.testing.feeds import podcast

#: The feed served: every seventh episode, as issue 16's wrk rows (~680 KB of 1,000 episodes).
FEED = "/feeds/show.rss?tag=open-weights"
#: (label, which servers) of each layout measured; the servers are started once, below.
LAYOUTS = (
    ("1 node x 2 workers, SQLite", ("sqlite",)),
    ("1 node x 2 workers", ("a",)),
    ("2 nodes x 1 worker", ("c", "d")),
    ("2 nodes x 2 workers", ("a", "b")),
)
#: Workers of each server: a and b are the two-worker nodes, c and d the one-worker ones.
WORKERS = {"sqlite": 2, "a": 2, "b": 2, "c": 1, "d": 1}


def _config(folder: Path, store: str, feed: Path) -> Path:
    folder.mkdir()
    path = folder / "config.yaml"
    # base_url: the nodes render the same self links whatever port they are asked on.
    path.write_text(
        f"store: {store}\nbase_url: https://feeds.example\nshows:\n  show:\n    sources: [{{rss: {feed}}}]\n"
        "    tags: {open-weights: {match: ['open weights'], fields: [title]}}\n"
    )
    subprocess.run([sys.executable, "-m", "feedtool", "--config", str(path), "refresh"], check=True,
                   capture_output=True)  # fmt: skip
    return path


def _fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read(), response.headers["ETag"]


def _wrk_together(binary: str, urls: Sequence[str], seconds: int, headers: dict[str, str]) -> float:
    """Requests per second of one ``wrk -t1 -c4`` per URL, all running at once, summed;
    any socket error or non-2xx/3xx answer fails."""
    extra = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    runs = [
        subprocess.Popen([binary, "-t1", "-c4", f"-d{seconds}s", *extra, url], stdout=subprocess.PIPE, text=True)
        for url in urls
    ]
    total = 0.0
    for run in runs:
        out, _ = run.communicate(timeout=seconds + 60)
        assert run.returncode == 0, out
        assert "Socket errors" not in out, out
        assert "Non-2xx" not in out, out
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return total


def _own_together(urls: Sequence[str], requests: int, headers: dict[str, str]) -> float:
    """The bench's own generator, 4 clients per URL, all at once: requests per second in all."""
    each = requests // len(urls)
    started = time.perf_counter()
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(lambda url: load_test(url, each, 4, headers), urls))
    elapsed = time.perf_counter() - started
    assert sum(failed for _, failed in results) == 0, results
    return each * len(urls) / elapsed


def bench_nodes(work: Path, episodes: int, seconds: int, repeats: int, report: Callable[[Row], Row]) -> None:
    """Cached feeds and 304s per second from 1 and 2 gunicorn nodes on one PostgreSQL store,
    each load for ``seconds`` (``report``: run.py's, which counts the rows of the run)."""
    requests = 400 * seconds  # without wrk: about as long, at the rates of issue 16's rows
    print(f"\n## Web nodes ({episodes}-episode show, one PostgreSQL store; medians of {repeats})\n", flush=True)
    bindir = postgres.find_bindir()
    if bindir is None or importlib.util.find_spec("psycopg") is None:
        print("(no PostgreSQL server binaries or no psycopg: the nodes rows are skipped)", flush=True)
        return
    binary = find_wrk()
    generator = f"2 x wrk -t1 -c4, {seconds} s" if binary else f"own generator, {requests} requests, 8 clients"
    print(f"(load: {generator}, one generator per node, both at the node when there is one)\n", flush=True)
    feed = work / "feed.xml"
    feed.write_bytes(podcast(episodes))
    with postgres.cluster(bindir) as cluster, ExitStack() as stack:
        configs = {"sqlite": _config(work / "sqlite", str(work / "sqlite" / "store.sqlite"), feed)}
        configs["postgresql"] = _config(work / "postgresql", cluster.url(), feed)
        bases = {}
        for name, workers in WORKERS.items():
            config = configs["sqlite" if name == "sqlite" else "postgresql"]
            env = {"FEEDTOOL_CONFIG": str(config)}
            bases[name], _ = stack.enter_context(gunicorn(FEEDTOOL_APP, env, work / f"node-{name}.log", workers))
        # Every worker renders and caches the feed before anything is timed; the nodes agree.
        answers = {name: [_fetch(base + FEED) for _ in range(4 * WORKERS[name])] for name, base in bases.items()}
        body, etag = answers["a"][0]
        for name, got in answers.items():
            if name != "sqlite":
                assert all(answer == (body, etag) for answer in got), f"node {name} differs from node a"
        rates: dict[tuple[str, bool], list[float]] = {
            (label, cond): [] for label, _ in LAYOUTS for cond in (False, True)
        }
        for _ in range(repeats):  # layouts in turn, so that the machine's changes of speed touch all alike
            for label, names in LAYOUTS:
                urls = [bases[name] + FEED for name in names] * (2 // len(names))
                for conditional in (False, True):
                    etag_of = answers[names[0]][0][1]
                    headers = {"If-None-Match": etag_of} if conditional else {}
                    rate = (
                        _wrk_together(binary, urls, seconds, headers)
                        if binary
                        else _own_together(urls, requests, headers)
                    )
                    rates[label, conditional].append(rate)
    median = {key: statistics.median(values) for key, values in rates.items()}
    one = "1 node x 2 workers"
    for conditional, what in ((False, f"cached {len(body) / 1000:.0f} KB filtered feed"), (True, "304s")):
        for label, _ in LAYOUTS:
            if label.endswith("SQLite"):
                continue
            value = median[label, conditional]
            baseline, baseline_name = (
                (median[f"{one}, SQLite", conditional], "1 node, SQLite store")
                if label == one
                else (median[one, conditional], "1 node x 2 workers, PostgreSQL")
            )
            report(Row(f"nodes: {what}, {label}", value, "req/s", baseline, baseline_name))
