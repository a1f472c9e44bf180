"""The benchmarks keep working: a smoke run with tiny sizes (timing decides nothing here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feedtool.testing.servers import GUNICORN

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.bench
@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
def test_bench_quick_run() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in (
        "refresh of a 50-episode feed (4 KB notes)",
        "refresh of a 50-episode feed (500-byte notes)",
        "refresh answered 304",
        "refresh of the same bytes again",
        "feedtool --help, whole process",
        "cold render of the 50-episode feed",
        "cached requests",
        "conditional requests answered 304",
        "own generator, cached filtered feed",
        "query + render, tag filter, newest 100",
        "server worker peak memory",
        "refresh: 40 episodes / 20 episodes",
        "render: 40 episodes / 20 episodes",
        "index page of 30 shows, rendered (no cache)",
        "GET /, later requests (render cache)",
        "update of 320 stored episodes",
        "update: 320 episodes / 40 episodes",
    ):
        assert figure in result.stdout, figure
