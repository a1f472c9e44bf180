"""A bounded load test on loopback: concurrent clients on every route of a real
gunicorn server while `feedtool refresh` keeps changing the store. Zero errors.

The figures (requests, errors, p50, p99) are printed in the test summary.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedtool.config import load
from feedtool.refresh import refresh
from feedtool.testing import servers
from feedtool.testing.feeds import feed, item
from feedtool.testing.servers import GUNICORN, feedtool_server

from figures import record

REQUESTS = 1200
CLIENTS = 8
ROUTES = [
    "/",
    "/feeds.opml",
    "/healthz",
    "/feeds/show.rss",
    "/feeds/show.atom",
    "/feeds/show.json",
    "/feeds/show.rss?tag=open-models",
    "/feeds/show.rss?limit=10&sort=oldest",
    "/feeds/show.json?q=episode&min_duration=60",
    "/feeds/show-open.atom",
    "/feeds/show.rss?filter_title=Episode%201",
]


def _episodes(count: int) -> bytes:
    return feed(
        item(n, title=f"Episode {n}" + (" on open models" if n % 5 == 0 else ""),
             description=f"<p>Notes {n}: {'words ' * 100}</p>", duration=1800,
             published=datetime.fromtimestamp(1.7e9 + n * 3600, UTC))
        for n in range(count)
    )  # fmt: skip


@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
def test_load_while_refreshing(tmp_path: Path) -> None:
    with servers.upstream() as upstream:
        upstream.serve("/show.rss", _episodes(300))
        config = tmp_path / "config.yaml"
        config.write_text(
            f"""
shows:
  show:
    sources: [{{rss: {upstream.url("/show.rss")}}}]
    tags: {{open-models: {{match: ['open models']}}}}
feeds:
  show-open: {{show: show, filter: {{tag: open-models}}}}
"""
        )
        assert refresh(load(config)).ok
        with feedtool_server(config, tmp_path / "gunicorn.log") as base:
            done = threading.Event()
            refreshes = []

            def keep_refreshing() -> None:
                size = 300
                while not done.is_set():
                    size += 1
                    upstream.serve("/show.rss", _episodes(size))
                    result = subprocess.run(
                        [sys.executable, "-m", "feedtool", "--config", str(config), "refresh"],
                        capture_output=True, timeout=120, check=False,
                    )  # fmt: skip
                    refreshes.append(result.returncode)

            writer = threading.Thread(target=keep_refreshing)
            writer.start()
            etags: dict[str, str] = {}
            errors: list[str] = []

            def get(n: int) -> float:
                path = ROUTES[n % len(ROUTES)]
                headers = {"Accept-Encoding": "gzip"} if n % 2 else {}
                if n % 3 == 0 and path in etags:
                    headers["If-None-Match"] = etags[path]
                request = urllib.request.Request(base + path, headers=headers)
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        response.read()
                        if response.headers.get("ETag") and not headers.get("Accept-Encoding"):
                            etags[path] = response.headers["ETag"]
                except urllib.error.HTTPError as exc:
                    if exc.code != 304:
                        errors.append(f"{path}: HTTP {exc.code}")
                except OSError as exc:
                    errors.append(f"{path}: {exc}")
                return time.perf_counter() - started

            started = time.monotonic()
            try:
                with ThreadPoolExecutor(CLIENTS) as pool:
                    latencies = sorted(pool.map(get, range(REQUESTS)))
            finally:
                done.set()
                writer.join(timeout=120)
            elapsed = time.monotonic() - started

    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    record(
        "load test (gunicorn, 2 workers, loopback, while refreshing)",
        f"{REQUESTS} requests from {CLIENTS} clients in {elapsed:.1f} s ({REQUESTS / elapsed:.0f}/s), "
        f"{len(errors)} errors, p50 {p50:.1f} ms, p99 {p99:.1f} ms; {len(refreshes)} refreshes ran meanwhile",
    )
    assert errors == []
    assert refreshes
    assert set(refreshes) == {0}
