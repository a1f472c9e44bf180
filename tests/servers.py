"""feedtool served by a real gunicorn process on 127.0.0.1, as the README tells users."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")


@contextmanager
def gunicorn(config: Path, log: Path, workers: int = 2) -> Iterator[str]:
    """Start gunicorn on a free loopback port; yield its base URL; stop it."""
    assert GUNICORN is not None, "gunicorn is not installed"
    with log.open("wb") as stream:
        server = subprocess.Popen(
            [GUNICORN, "--workers", str(workers), "--bind", "127.0.0.1:0", "feedtool.web:create_app()"],
            env={**os.environ, "FEEDTOOL_CONFIG": str(config)},
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_until_serving(log, server)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_serving(log: Path, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if match:
            base = match.group(1)
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                        return base
                except urllib.error.HTTPError:
                    return base  # it answers: a 503 only says a source is stale
                except OSError:
                    time.sleep(0.1)
        if server.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text(errors='replace')}")
