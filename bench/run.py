"""feedtool's benchmarks: each figure beside a baseline measured in the same run.

    python bench/run.py            # the full run (a few minutes); results go in bench/RESULTS.md
    python bench/run.py --quick    # tiny sizes, one repeat: checks that the benchmarks still work

1. Refresh: `refresh()` of one show whose 2,000-episode feed is served from
   127.0.0.1 (fetch, parse, normalize, tag, store), against `feedparser.parse()` with
   its defaults on the same bytes, for ~4 KB and ~500 bytes of notes per episode; a
   refresh answered 304; one that gets the same bytes (the 2 MB short-notes feed)
   again; the CLI's start-up (`feedtool --help`, a whole process) against a bare
   `python -c pass`.
2. Serving: gunicorn (2 workers) and a bounded load generator on loopback, for a
   filtered feed of a 1,000-episode show: the first (cold) request, repeated (cached)
   requests, conditional requests answered 304; baseline: the same bytes served as a
   static file by the same gunicorn setup. Then (issue 16) `wrk -t1 -c8` for a fixed
   time, a ~650 KB tag-filtered feed and the whole feed, cached and 304, each beside
   the static app (installed with apt-get where missing; else those rows are skipped).
3. Scale: 100,000 episodes across 100 shows: a filtered query plus render of the
   newest 100 episodes of one show; the peak memory of a server process after
   serving every show.
4. Growth: refresh and render time for 100, 1,000 and 10,000 episodes.
5. Many shows, long histories (issue 9): the index page of 10,000 shows, one of them
   with 50,000 episodes, rendered and from the render cache, against a feed of the
   same store and against the index page of 1,000 shows; storing a listing in which
   every description changed, for 4,000, 16,000 and 32,000 stored episodes, against
   the first insert of the same episodes.
6. Web nodes (issue 17, bench/nodes.py): cached feeds and 304s per second from 1 and
   2 gunicorn nodes on one PostgreSQL store (skipped without PostgreSQL's binaries).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
from workers import bench_queue

from feedtool.config import Config, ShowConfig, SourceConfig, load
from feedtool.filters import parse_filter
from feedtool.model import Enclosure, Episode, Listing, ShowInfo, TagRule
from feedtool.patterns import compile_rule
from feedtool.publish import Publisher, RenderCache, feed_url
from feedtool.refresh import refresh, store_listing
from feedtool.store import FetchMeta, Store
from feedtool.testing import servers
from feedtool.testing.feeds import podcast
from feedtool.testing.servers import FEEDTOOL_APP

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None

    def line(self) -> str:
        ratio = f"{self.value / self.baseline:.3f}" if self.baseline else ""
        base = f"{self.baseline:.4g} {self.unit} ({self.baseline_name})" if self.baseline is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[self.met]
        return f"| {self.name} | {self.value:.4g} {self.unit} | {base} | {ratio} | {self.target} {verdict} |"


ROWS: list[Row] = []


def report(row: Row) -> Row:
    ROWS.append(row)
    print(row.line(), flush=True)
    return row


def median_time(action: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextlib.contextmanager
def upstream(body: bytes, etags: bool = True) -> Iterator[str]:
    """The feed at /feed.xml on a loopback server (with an ETag, answering If-None-Match
    with 304); yield its URL."""
    with servers.upstream() as server:
        server.serve("/feed.xml", body, etag=etags)
        yield server.url("/feed.xml")


def write_config(folder: Path, sources: dict[str, str], extra: str = "") -> Path:
    shows = "".join(f"  {name}:\n    sources: [{{rss: {url}}}]\n" + extra for name, url in sources.items())
    path = folder / "config.yaml"
    path.write_text(f"shows:\n{shows}")
    return path


# --- 1. refresh ---------------------------------------------------------------------


def _refresh_against_feedparser(work: Path, body: bytes, name: str, repeats: int) -> None:
    """A refresh of ``body`` into an empty store against feedparser.parse on the same bytes,
    taken in turn, so that the machine's changes of speed touch both alike."""
    tags = "    tags: {open-models: {match: ['open weights?']}}\n"
    with upstream(body) as url:
        config = load(write_config(work, {"show": url}, tags))

        def fresh_store() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{config.store}{suffix}").unlink(missing_ok=True)

        def run() -> None:
            assert refresh(config).ok

        times = []
        for _ in range(repeats):
            baseline = median_time(lambda: feedparser.parse(body), 1)
            times.append((median_time(run, 1, setup=fresh_store), baseline))
        ours = statistics.median(t[0] for t in times)
        baseline = statistics.median(t[1] for t in times)
        report(Row(name, ours, "s", baseline, "feedparser.parse", "<= 0.12 of baseline", ours / baseline <= 0.12))
        if name.endswith("4 KB notes)"):
            not_modified = median_time(run, max(repeats, 5))
            report(Row("refresh answered 304", not_modified * 1000, "ms", target="< 20 ms", met=not_modified < 0.02))


def bench_refresh(work: Path, episodes: int, repeats: int) -> None:
    print(f"\n## Refresh ({episodes} episodes, medians of {repeats})\n", flush=True)
    long_notes = podcast(episodes)
    short_notes = podcast(episodes, notes=500)  # ~500 bytes of notes: the common case (issue 16)
    _refresh_against_feedparser(work, long_notes, f"refresh of a {episodes}-episode feed (4 KB notes)", repeats)
    _refresh_against_feedparser(work, short_notes, f"refresh of a {episodes}-episode feed (500-byte notes)", repeats)
    tags = "    tags: {open-models: {match: ['open weights?']}}\n"
    with upstream(short_notes, etags=False) as url:
        config = load(write_config(work, {"show": url}, tags))
        run_same = functools.partial(lambda: refresh(config))
        run_same()  # the first fetch from this URL stores the content hash
        same = median_time(run_same, max(repeats, 5))
        report(Row(f"refresh of the same bytes again ({len(short_notes) / 1e6:.1f} MB)", same * 1000, "ms",
                   target="< 20 ms", met=same < 0.02))  # fmt: skip
    python = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), max(repeats, 5))
    cli = median_time(
        lambda: subprocess.run([sys.executable, "-m", "feedtool", "--help"], check=True, capture_output=True),
        max(repeats, 5),
    )
    report(Row("feedtool --help, whole process", cli * 1000, "ms", python * 1000, "python -c pass"))


# --- 2. serving ---------------------------------------------------------------------

STATIC_APP = """
import os
PATH = os.environ["STATIC_FILE"]
def app(environ, start_response):
    with open(PATH, "rb") as f:
        body = f.read()
    start_response("200 OK", [("Content-Type", "application/rss+xml; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


STATIC_FILES_APP = """
import os
FOLDER = os.environ["STATIC_FOLDER"]
def app(environ, start_response):
    with open(os.path.join(FOLDER, os.path.basename(environ["PATH_INFO"])), "rb") as f:
        body = f.read()
    start_response("200 OK", [("Content-Type", "application/rss+xml; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


def find_wrk() -> str | None:
    """The wrk load generator (Debian package `wrk`), installed with apt-get where missing and allowed."""
    found = shutil.which("wrk")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)
        found = shutil.which("wrk")
    return found


def wrk(binary: str, url: str, seconds: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second from ``wrk -t1 -c8`` for ``seconds``; any socket error or non-2xx/3xx answer fails."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run([binary, "-t1", "-c8", f"-d{seconds}s", *extra, url],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


@contextlib.contextmanager
def gunicorn(target: str, env: dict[str, str], log: Path, workers: int = 2) -> Iterator[tuple[str, int]]:
    """gunicorn serving ``target``; yield its base URL and master's pid once every worker has booted."""
    # no probe request: the first request to a worker is one of the figures
    with servers.gunicorn(target, log, env=env, workers=workers, cwd=log.parent, probe=None) as server:
        time.sleep(0.5)  # let every worker finish importing the app before anything is timed
        yield server.base, server.pid


def load_test(url: str, requests: int, clients: int, headers: dict[str, str] | None = None) -> tuple[float, int]:
    """Requests per second for a fixed number of requests; and how many failed."""
    failures = 0

    def one(_: int) -> None:
        nonlocal failures
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 304:
                failures += 1
        except OSError:
            failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    return requests / (time.perf_counter() - started), failures


def bench_serving(work: Path, episodes: int, requests: int, repeats: int) -> None:
    print(f"\n## Serving ({episodes}-episode show, gunicorn, 2 workers, {requests} requests from 8 clients)\n",
          flush=True)  # fmt: skip
    (work / "feed.xml").write_bytes(podcast(episodes))
    config_path = write_config(work, {"show": str(work / "feed.xml")},
                               "    tags: {open-models: {match: ['open']},"
                               " open-weights: {match: ['open weights'], fields: [title]}}\n")  # fmt: skip
    assert refresh(load(config_path)).ok
    path = "/feeds/show.rss?min_duration=60"
    with gunicorn(FEEDTOOL_APP, {"FEEDTOOL_CONFIG": str(config_path)}, work / "gunicorn.log") as (
        base,
        _,
    ):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}{path}&limit=999", timeout=30) as response:
            response.read()
        first = time.perf_counter() - started
        colds = []  # each a filter not asked before: rendered, not cached
        for n in range(max(repeats, 5)):
            started = time.perf_counter()
            with urllib.request.urlopen(f"{base}{path}&limit={998 - n}", timeout=30) as response:
                body = response.read()
            colds.append(time.perf_counter() - started)
        cold_http = statistics.median(colds)
        with urllib.request.urlopen(base + path, timeout=30) as response:
            body = response.read()
            etag = response.headers["ETag"]
        cached, failed = load_test(base + path, requests, 8)
        not_modified, failed_304 = load_test(base + path, requests, 8, {"If-None-Match": etag})
    (work / "static.xml").write_bytes(body)
    (work / "static_app.py").write_text(STATIC_APP)
    with gunicorn("static_app:app", {"STATIC_FILE": str(work / "static.xml")}, work / "static.log") as (base, _):
        static, failed_static = load_test(base + "/feed.xml", requests, 8)
    config = load(config_path)
    with Store(config.store) as store:
        flt = parse_filter({"min_duration": "60"})
        url = feed_url("http://127.0.0.1", "show", "rss", flt)
        store.episodes("show")  # the server's connection has its pages in memory too
        cold = median_time(lambda: Publisher(config, store, RenderCache()).feed("show", "rss", flt, url), 7)
    report(Row(f"cold render of the {episodes}-episode feed (query + render, no cache)", cold * 1000, "ms",
               target="< 50 ms", met=cold < 0.05))  # fmt: skip
    report(Row("the same through HTTP: a filter not asked before", cold_http * 1000, "ms"))
    report(Row("the same: the very first request to a new worker", first * 1000, "ms"))
    report(Row(f"cached requests ({len(body) / 1e6:.1f} MB feed)", cached, "req/s", static, "static file, same server",
               ">= 0.8 of baseline", cached / static >= 0.8))  # fmt: skip
    report(Row("conditional requests answered 304", not_modified, "req/s", static, "static file, same server",
               ">= 1 (the static rate)", not_modified >= static))  # fmt: skip
    assert failed == failed_304 == failed_static == 0, (failed, failed_304, failed_static)
    bench_wrk(work, config_path, 1 if repeats == 1 else 5, repeats, requests)


def bench_wrk(work: Path, config_path: Path, seconds: int, repeats: int, requests: int) -> None:
    """Issue 16: cached feeds and 304s under ``wrk -t1 -c8`` against the same bytes from a
    static WSGI app under the same gunicorn, each run beside its baseline (medians)."""
    binary = find_wrk()
    if binary is None:
        print("(wrk is not installed and apt-get could not install it: the wrk rows are skipped)", flush=True)
        return
    feeds = {"filtered": "/feeds/show.rss?tag=open-weights", "whole": "/feeds/show.rss?min_duration=60"}
    static_folder = work / "wrk-static"
    static_folder.mkdir()
    etags = {}
    with gunicorn(FEEDTOOL_APP, {"FEEDTOOL_CONFIG": str(config_path)}, work / "wrk.log") as (base, _):
        for name, path in feeds.items():
            with urllib.request.urlopen(base + path, timeout=30) as response:
                (static_folder / f"{name}.xml").write_bytes(response.read())
                etags[name] = response.headers["ETag"]
        (work / "static_files.py").write_text(STATIC_FILES_APP)
        with gunicorn("static_files:app", {"STATIC_FOLDER": str(static_folder)}, work / "wrk-static.log") as (
            static_base,
            _,
        ):
            for name, path in feeds.items():
                size = (static_folder / f"{name}.xml").stat().st_size
                ours, not_modified, static = [], [], []
                for _ in range(repeats):  # in turn, so that the machine's changes of speed touch all alike
                    static.append(wrk(binary, f"{static_base}/{name}.xml", seconds))
                    ours.append(wrk(binary, base + path, seconds))
                    not_modified.append(wrk(binary, base + path, seconds, {"If-None-Match": etags[name]}))
                rate, rate_304, base_rate = (statistics.median(x) for x in (ours, not_modified, static))
                label = f"{size / 1000:.0f} KB {name} feed"
                report(Row(f"wrk -t1 -c8, cached {label}", rate, "req/s", base_rate, "static WSGI app, same gunicorn",
                           ">= 0.8 of baseline", rate / base_rate >= 0.8))  # fmt: skip
                report(Row(f"wrk -t1 -c8, 304s of the {label}", rate_304, "req/s", base_rate,
                           "static WSGI app, same gunicorn", ">= 1 (static rate)", rate_304 >= base_rate))  # fmt: skip
        # The bench's own generator (Python threads, on the same 2 cores) for the filtered feed.
        static_rate, _ = load_test_static(work, static_folder / "filtered.xml", requests)
        cached, failed = load_test(base + feeds["filtered"], requests, 8)
    report(Row("own generator, cached filtered feed", cached, "req/s", static_rate, "static WSGI app, same gunicorn",
               ">= 0.8 of baseline", cached / static_rate >= 0.8))  # fmt: skip
    assert failed == 0, failed


def load_test_static(work: Path, path: Path, requests: int) -> tuple[float, int]:
    """The bench's own generator against a static file of the static WSGI app."""
    with gunicorn("static_files:app", {"STATIC_FOLDER": str(path.parent)}, work / "own-static.log") as (base, _):
        return load_test(f"{base}/{path.name}", requests, 8)


# --- 3. scale -----------------------------------------------------------------------


def populate(store: Store, shows: int, per_show: int) -> list[ShowConfig]:
    """A store of shows * per_show episodes, written as refreshes would write them."""
    notes = "<p>" + " ".join(f"word{n % 97}" for n in range(180)) + "</p>"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    configs = []
    for s in range(shows):
        source = SourceConfig("rss", f"https://bench.example/{s}.xml")
        show = ShowConfig(f"show-{s}", (source,))
        episodes = [
            Episode(
                guid=f"s{s}-e{n}",
                title=f"Show {s} episode {n}",
                published=start + timedelta(hours=n),
                description=notes,
                enclosure=Enclosure(f"https://cdn.bench.example/{s}/{n}.mp3", "audio/mpeg", 30_000_000),
                duration=1800 + n,
                categories=("Technology",) if n % 10 == 0 else (),
            )
            for n in range(per_show)
        ]
        store_listing(store, show, source, Listing(ShowInfo(title=f"Show {s}"), episodes), FetchMeta())
        configs.append(show)
    return configs


def bench_scale(work: Path, shows: int, per_show: int, repeats: int) -> None:
    print(f"\n## Scale ({shows * per_show:,} episodes across {shows} shows)\n", flush=True)
    store_path = work / "scale.sqlite"
    started = time.perf_counter()
    with Store(store_path) as store:
        populate(store, shows, per_show)
    print(f"(store written in {time.perf_counter() - started:.1f} s)", flush=True)
    config_path = work / "scale.yaml"
    config_path.write_text(
        f"store: {store_path}\nshows:\n"
        + "".join(f"  show-{s}: {{sources: [{{rss: https://bench.example/{s}.xml}}]}}\n" for s in range(shows))
    )
    config = load(config_path)
    flt = parse_filter({"tag": "technology", "limit": "100"})
    name = f"show-{shows // 2}"
    with Store(store_path) as store:

        def query_and_render() -> None:
            publisher = Publisher(config, store, RenderCache())  # a fresh cache: a real render each time
            publisher.feed(name, "rss", flt, feed_url("https://f.example", name, "rss", flt))

        unfiltered = parse_filter({"limit": "100"})

        def newest_100() -> None:
            Publisher(config, store, RenderCache()).feed(name, "rss", unfiltered, "https://f.example/x")

        seconds = median_time(query_and_render, max(repeats, 7))
        newest = median_time(newest_100, max(repeats, 7))
    report(Row(f"query + render, tag filter, newest 100 of {per_show}", seconds * 1000, "ms",
               target="< 30 ms", met=seconds < 0.03))  # fmt: skip
    report(Row(f"query + render, newest 100 of {per_show}", newest * 1000, "ms", target="< 30 ms",
               met=newest < 0.03))  # fmt: skip
    with gunicorn(FEEDTOOL_APP, {"FEEDTOOL_CONFIG": str(config_path)}, work / "scale.log", 1) as (
        base,
        master,
    ):
        for s in range(shows):
            for fmt in ("rss", "json"):
                with urllib.request.urlopen(f"{base}/feeds/show-{s}.{fmt}", timeout=60) as response:
                    response.read()
        peak = max(_peak_rss(pid) for pid in _children(master))
    report(Row("server worker peak memory after serving every show", peak / 2**20, "MB",
               target="< 150 MB", met=peak < 150 * 2**20))  # fmt: skip


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# --- 4. growth ----------------------------------------------------------------------


def _growth_step(config: Config, repeats: int) -> tuple[float, float]:
    """(refresh into an empty store, render of the whole feed) for one feed."""

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{config.store}{suffix}").unlink(missing_ok=True)

    refresh_time = median_time(lambda: refresh(config), repeats, setup=fresh)
    with Store(config.store) as store:
        render_time = median_time(
            lambda: Publisher(config, store, RenderCache()).feed(
                "show", "rss", parse_filter({}), "https://f.example/feeds/show.rss"
            ),
            repeats,
        )
    return refresh_time, render_time


def bench_growth(work: Path, sizes: list[int], repeats: int) -> None:
    print(f"\n## Growth (medians of {repeats})\n", flush=True)
    times: dict[int, tuple[float, float]] = {}
    for size in sizes:
        folder = work / f"growth-{size}"
        folder.mkdir()
        (folder / "feed.xml").write_bytes(podcast(size))
        times[size] = _growth_step(load(write_config(folder, {"show": str(folder / "feed.xml")})), repeats)
        report(Row(f"refresh, {size} episodes", times[size][0] * 1000, "ms"))
        if size == 1000:  # a cold render of 1,000 episodes as RSS, everything kept (issue 16)
            report(Row(f"render, {size} episodes", times[size][1] * 1000, "ms", target="< 50 ms",
                       met=times[size][1] < 0.05))  # fmt: skip
        else:
            report(Row(f"render, {size} episodes", times[size][1] * 1000, "ms"))
    if len(sizes) >= 3:
        small, large = sizes[-2], sizes[-1]
        factor = large / small
        for index, name in ((0, "refresh"), (1, "render")):
            ratio = times[large][index] / times[small][index]
            report(Row(f"{name}: {large} episodes / {small} episodes", ratio, "x",
                       target=f"<= {1.2 * factor:.0f}", met=ratio <= 1.2 * factor))  # fmt: skip


# --- 5. many shows, long histories ------------------------------------------------


def _many_shows(folder: Path, shows: int, per_show: int, big: int) -> Path:
    """A store and config of ``shows`` small shows and one of ``big`` episodes."""
    folder.mkdir()
    store_path = folder / "store.sqlite"
    started = time.perf_counter()
    with Store(store_path) as store:
        populate(store, shows, per_show)
        source = SourceConfig("rss", "https://bench.example/big.xml")
        show = ShowConfig("big", (source,))
        start = datetime(2020, 1, 1, tzinfo=UTC)
        episodes = [
            Episode(guid=f"big-{n}", title=f"Big show episode {n}", published=start + timedelta(hours=n),
                    duration=1800, categories=("Technology",) if n % 10 == 0 else ())
            for n in range(big)
        ]  # fmt: skip
        store_listing(store, show, source, Listing(ShowInfo(title="Big show"), episodes), FetchMeta())
    print(f"({shows:,} shows and one of {big:,} episodes written in {time.perf_counter() - started:.1f} s)",
          flush=True)  # fmt: skip
    config_path = folder / "config.yaml"
    config_path.write_text(
        f"store: {store_path}\nshows:\n  big: {{sources: [{{rss: https://bench.example/big.xml}}]}}\n"
        + "".join(f"  show-{s}: {{sources: [{{rss: https://bench.example/{s}.xml}}]}}\n" for s in range(shows))
    )
    return config_path


def _render_index(config: Config) -> float:
    """The index page rendered with an empty render cache: what the first request
    after a refresh costs."""
    with Store(config.store, read_only=True) as store:
        return median_time(lambda: Publisher(config, store, RenderCache()).index("https://f.example"), 1)


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        response.read()
    return time.perf_counter() - started


def bench_index(work: Path, shows: int, big: int, repeats: int) -> None:
    print(f"\n## The index page ({shows:,} shows of 5 episodes, one of {big:,}; medians of {repeats})\n", flush=True)
    few = load(_many_shows(work / "few", shows // 10, 5, big))
    many_path = _many_shows(work / "many", shows, 5, big)
    many = load(many_path)
    _render_index(few)  # compiles the page's template
    # Alternately, so that the machine's changes of speed touch both alike.
    times = [(_render_index(few), _render_index(many)) for _ in range(repeats)]
    few_time = statistics.median(t[0] for t in times)
    many_time = statistics.median(t[1] for t in times)
    report(Row(f"index page of {shows:,} shows, rendered (no cache)", many_time, "s", few_time,
               f"{shows // 10:,} shows", "<= 12 (linear)", many_time / few_time <= 12))  # fmt: skip
    with gunicorn(FEEDTOOL_APP, {"FEEDTOOL_CONFIG": str(many_path)}, work / "index.log", 1) as (
        base,
        _,
    ):
        first = _get(f"{base}/")  # a new worker: imports, the template, cold pages
        renders: list[float] = []
        cached: list[float] = []
        for n in range(repeats):
            with Store(many.store) as store:  # a refresh's commit: the next GET / renders again
                store.record_failure("show-1", many.shows["show-1"].sources[0], f"HTTP 500, time {n}")
            renders.append(_get(f"{base}/"))
            cached.extend(_get(f"{base}/") for _ in range(5))
        _get(f"{base}/feeds/show-1.rss")
        small_feed = statistics.median(_get(f"{base}/feeds/show-1.rss") for _ in range(max(repeats, 5)))
        big_feed = statistics.median(_get(f"{base}/feeds/big.rss?limit={100 + n}") for n in range(max(repeats, 5)))
    report(Row("GET /, the first request to a new worker", first, "s"))
    report(Row("GET /, the first request after a refresh (renders)", statistics.median(renders), "s"))
    report(Row("GET /, later requests (render cache)", statistics.median(cached) * 1000, "ms", small_feed * 1000,
               "GET /feeds/show-1.rss", "same order as a feed (<= 10)",
               statistics.median(cached) / small_feed <= 10))  # fmt: skip
    report(Row(f"GET /feeds/big.rss?limit=100..., newest of {big:,}, each rendered", big_feed * 1000, "ms"))


def _update_listing(size: int, edit: int) -> Listing:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return Listing(
        ShowInfo(title="Updated show"),
        tuple(
            Episode(guid=f"u-{n}", title=f"Episode {n}", published=start + timedelta(hours=n), duration=1800,
                    description=f"<p>About open models, edition {edit}, episode {n}.</p>")
            for n in range(size)
        ),
    )  # fmt: skip


def bench_updates(work: Path, sizes: list[int], repeats: int) -> None:
    print(f"\n## Updating stored episodes (every description changed; medians of {repeats})\n", flush=True)
    source = SourceConfig("rss", "https://bench.example/updated.xml")
    show = ShowConfig(
        "updated",
        (source,),
        tags=(TagRule("open-models", (compile_rule("open models", "tags.open-models.match[0]", 1.0),)),),
    )
    inserts: dict[int, list[float]] = {size: [] for size in sizes}
    updates: dict[int, list[float]] = {size: [] for size in sizes}
    for repeat in range(repeats):
        for size in sizes:  # each size in turn, so that the machine's changes of speed touch all alike
            first, edited = _update_listing(size, 0), _update_listing(size, repeat + 1)
            gc.collect()  # start each from the same heap: earlier runs' garbage is not this one's cost
            with Store(work / f"updates-{size}-{repeat}.sqlite") as store:
                started = time.perf_counter()
                store_listing(store, show, source, first, FetchMeta())
                inserts[size].append(time.perf_counter() - started)
                started = time.perf_counter()
                counts = store_listing(store, show, source, edited, FetchMeta())
                updates[size].append(time.perf_counter() - started)
                assert counts.updated == size, counts
            del first, edited
    for size in sizes:
        report(Row(f"update of {size:,} stored episodes", statistics.median(updates[size]), "s",
                   statistics.median(inserts[size]), "their first insert"))  # fmt: skip
    small, large = sizes[0], sizes[-1]
    ratio = statistics.median(updates[large]) / statistics.median(updates[small])
    factor = large / small
    report(Row(f"update: {large:,} episodes / {small:,} episodes", ratio, "x", target=f"<= {1.2 * factor:.1f} (linear)",
               met=ratio <= 1.2 * factor))  # fmt: skip


STEPS = ("refresh", "serving", "scale", "growth", "index", "updates", "nodes", "queue")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    parser.add_argument(
        "--only", nargs="+", metavar="STEP", choices=STEPS, help=f"run only these steps ({', '.join(STEPS)})"
    )
    args = parser.parse_args()
    quick = args.quick
    from nodes import bench_nodes  # here: nodes.py imports this module's helpers

    print(f"# feedtool benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")  # fmt: skip
    loop = [median_time(lambda: sum(range(10**6)), 1) * 1000 for _ in range(15)]
    print(f"CPU check (sum(range(10**6)), 15 runs): median {statistics.median(loop):.1f} ms, "
          f"min {min(loop):.1f}, max {max(loop):.1f}: this machine's speed varies by that much")  # fmt: skip
    print("\n| measure | feedtool | baseline | ratio | target |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        repeats = 1 if quick else 3
        steps: list[tuple[str, Callable[[Path], None]]] = [
            ("refresh", lambda w: bench_refresh(w, 50 if quick else 2000, 1 if quick else 3)),
            ("serving", lambda w: bench_serving(w, 50 if quick else 1000, 50 if quick else 2000, 1 if quick else 3)),
            ("scale", lambda w: bench_scale(w, 3 if quick else 100, 20 if quick else 1000, 1 if quick else 5)),
            ("growth", lambda w: bench_growth(w, [10, 20, 40] if quick else [100, 1000, 10000], 1 if quick else 3)),
            ("index", lambda w: bench_index(w, 30 if quick else 10_000, 200 if quick else 50_000, repeats)),
            ("updates", lambda w: bench_updates(w, [40, 160, 320] if quick else [4_000, 16_000, 32_000], repeats)),
            ("nodes", lambda w: bench_nodes(w, 50 if quick else 1000, 1 if quick else 5, repeats, report)),
            ("queue", lambda w: bench_queue(w, report, 40 if quick else 200, episodes=200 if quick else 20_000)),
        ]
        for name, step in steps:
            if args.only and name not in args.only:
                continue
            folder = work / name
            folder.mkdir()
            step(folder)
    missed = [row.name for row in ROWS if row.met is False]
    print(f"\n{len(ROWS)} figures; targets missed: {', '.join(missed) if missed else 'none'}")
    if quick:
        print("(a --quick run: sizes too small for the targets to mean anything)")


if __name__ == "__main__":
    main()
