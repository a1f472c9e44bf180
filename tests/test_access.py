"""Access keys: whose key a request carries, compared in constant time, and masked in every log."""

from __future__ import annotations

import hmac
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from feedtool import access
from feedtool.config import load
from feedtool.refresh import refresh
from feedtool.testing.servers import FEEDTOOL_APP, GUNICORN, gunicorn, wait_until

KEYS = {"alice": "abcdefghijklmnop", "bob": "abcdefghijklmnopq", "carol": "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}


@pytest.mark.parametrize(
    ("given", "listener"),
    [
        ("abcdefghijklmnop", "alice"),
        ("abcdefghijklmnopq", "bob"),  # alice's key is a prefix of bob's
        ("abcdefghijklmno", None),  # a prefix of both
        ("abcdefghijklmnopqr", None),  # longer than both
        ("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "carol"),
        ("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", None),
        ("", None),
        (None, None),
        ("\udcff", None),  # a lone surrogate, as werkzeug decodes a bad query
    ],
)
def test_listener_of_a_key(given: str | None, listener: str | None) -> None:
    assert access.listener(KEYS, given) == listener


def test_every_key_is_compared_with_compare_digest_on_equal_lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit and no length shortcut: the time taken does not say which key matched."""
    calls: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", counting)
    for given in ("abcdefghijklmnop", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "x"):
        calls.clear()
        access.listener(KEYS, given)
        assert calls == [(32, 32)] * len(KEYS), given


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /feeds/x.rss?key=abc HTTP/1.1", "GET /feeds/x.rss?key=*** HTTP/1.1"),
        ("/feeds/x.rss?tag=a&key=abc&limit=2", "/feeds/x.rss?tag=a&key=***&limit=2"),
        ("/?Key=abc%26def", "/?Key=***"),
        ("/feeds/x.rss?monkey=1&turkey=2", "/feeds/x.rss?monkey=1&turkey=2"),
        ('"GET /?key=a;b HTTP/1.1"', '"GET /?key=***;b HTTP/1.1"'),
    ],
)
def test_mask_keys(text: str, masked: str) -> None:
    assert access.mask_keys(text) == masked


SECRET = "listener-key-do-not-log-0123"  # noqa: S105 - a test key
CONFIG = f"""
server:
  access_keys: {{alice: {SECRET}}}
shows:
  paid:
    private: true
    sources: [{{rss: feed.xml}}]
"""


@pytest.fixture
def private_config(write_config: Callable[[str], Path]) -> Path:
    path = write_config(CONFIG)
    (path.parent / "feed.xml").write_bytes((Path(__file__).parent / "data" / "rss" / "full.xml").read_bytes())
    assert refresh(load(path)).ok
    return path


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
def test_gunicorn_access_log_masks_keys(private_config: Path, tmp_path: Path) -> None:
    """As the README runs it: the access log keeps each request, never its key."""
    log = tmp_path / "gunicorn.log"
    args = ["--access-logfile", "-", "--logger-class", "feedtool.accesslog.KeyMaskingLogger"]
    args += ["--access-logformat", '%(h)s "%(r)s" %(s)s q=%(q)s ref=%(f)s']
    env = {"FEEDTOOL_CONFIG": str(private_config)}
    with gunicorn(FEEDTOOL_APP, log, env=env, workers=1, preload=True, args=args) as server:
        request = urllib.request.Request(f"{server.base}/?key={SECRET}", headers={"Referer": f"/x?key={SECRET}"})
        with urllib.request.urlopen(request, timeout=10):
            pass
        assert _get(f"{server.base}/feeds/paid.rss?tag=x&key={SECRET}") == 400  # the key is valid: a filter error
        assert _get(f"{server.base}/feeds/paid.rss?key={SECRET}") == 200
        wait_until(lambda: log.read_text().count("key=***") >= 4, "the access log")
    text = log.read_text()
    assert "GET /feeds/paid.rss?key=*** HTTP/1.1" in text
    assert SECRET not in text


def test_feedtool_serve_log_masks_keys(private_config: Path, tmp_path: Path) -> None:
    """`feedtool serve` (werkzeug) logs each request line, with the key masked."""
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as stream:
        server = subprocess.Popen(
            [sys.executable, "-m", "feedtool", "--config", str(private_config), "serve", "--port", str(port)],
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: "Running on" in log.read_text(), "feedtool serve")
        assert _get(f"{base}/feeds/paid.rss?key={SECRET}") == 200
        assert _get(f"{base}/feeds/paid.rss?key={SECRET[:-1]}") == 404
        wait_until(lambda: log.read_text().count("key=***") >= 2, "the request log")
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "GET /feeds/paid.rss?key=*** HTTP/1.1" in text
    assert SECRET not in text
    assert SECRET[:-1] not in text


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
