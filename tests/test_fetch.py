"""Fetching from a real HTTP server on 127.0.0.1: conditional GET, limits, retries."""

from __future__ import annotations

import base64
import gzip
import logging
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from feedtool import __version__
from feedtool.config import FetchConfig
from feedtool.errors import FetchError
from feedtool.fetch import Fetcher, HostLimiter
from feedtool.model import Credentials
from feedtool.redact import origin
from feedtool.testing.servers import Reply, Request, Upstream, wait_until

import hostile

FAST = FetchConfig(connect_timeout=2, read_timeout=2, deadline=10, retries=3, retry_after_cap=2)


@pytest.fixture
def fetcher() -> Fetcher:
    f = Fetcher(FAST)
    yield f
    f.close()


def test_get_sends_a_polite_user_agent(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/feed", "<rss/>", content_type="application/rss+xml; charset=utf-8")
    response = fetcher.get(upstream.url("/feed"))
    assert (response.status, response.body, response.charset) == (200, b"<rss/>", "utf-8")
    [request] = upstream.requests()
    assert request.headers["User-Agent"].startswith(f"feedtool/{__version__} (+https://")
    assert request.headers["Accept-Encoding"] == "gzip"


def test_conditional_get(upstream: Upstream, fetcher: Fetcher) -> None:
    def handler(request: Request) -> Reply:
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(b"", 304, {"ETag": '"v1"'})
        return Reply(b"<rss/>", 200, {"ETag": '"v1"', "Last-Modified": "Tue, 26 May 2026 10:00:00 GMT"})

    upstream.route("/feed", handler)
    first = fetcher.get(upstream.url("/feed"))
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Tue, 26 May 2026 10:00:00 GMT")
    second = fetcher.get(upstream.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert (second.status, second.body) == (304, b"")
    assert upstream.requests()[1].headers["If-Modified-Since"] == "Tue, 26 May 2026 10:00:00 GMT"


def test_gzip_is_decoded(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/feed", gzip.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"})
    assert fetcher.get(upstream.url("/feed")).body == b"<rss/>"


def test_client_errors_are_not_retried(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/feed", "gone", status=404)
    with pytest.raises(FetchError, match="HTTP 404 Not Found"):
        fetcher.get(upstream.url("/feed"))
    assert upstream.count("/feed") == 1


def test_server_errors_are_retried_then_given_up(upstream: Upstream) -> None:
    upstream.serve("/feed", "oops", status=500)
    fetcher = Fetcher(FetchConfig(retries=3, deadline=20))
    with pytest.raises(FetchError, match=r"HTTP 500 .* \(gave up after 3 tries\)"):
        fetcher.get(upstream.url("/feed"))
    assert upstream.count("/feed") == 3


def test_retry_after_is_honoured(upstream: Upstream, fetcher: Fetcher, caplog: pytest.LogCaptureFixture) -> None:
    upstream.serve_in_turn("/feed", Reply(b"busy", 429, {"Retry-After": "2"}), Reply(b"<rss/>"))
    with caplog.at_level(logging.INFO, logger="feedtool.fetch"):
        assert fetcher.get(upstream.url("/feed")).body == b"<rss/>"
    assert upstream.count("/feed") == 2
    # the wait asked for, not the backoff's (at most 1 s before the second try)
    assert [r.getMessage() for r in caplog.records] == [
        f"{upstream.url('/feed')}: HTTP 429 Too Many Requests; retrying in 2.0 s"
    ]


def test_size_limit(upstream: Upstream) -> None:
    upstream.serve("/big", b"x" * 5000)
    with pytest.raises(FetchError, match="larger than the limit of 1,000 bytes"):
        Fetcher(FetchConfig(max_bytes=1000)).get(upstream.url("/big"))


def test_permanent_redirect_is_reported(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/old", "", status=301, headers={"Location": "/new"})
    upstream.serve("/new", "<rss/>")
    response = fetcher.get(upstream.url("/old"))
    assert response.permanent_redirect == upstream.url("/new")


def test_temporary_redirect_is_not_reported(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/old", "", status=302, headers={"Location": "/new"})
    upstream.serve("/new", "<rss/>")
    assert fetcher.get(upstream.url("/old")).permanent_redirect is None


def test_local_files(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "a.txt").write_bytes(b"listing")
    assert fetcher.get(str(tmp_path / "a.txt")).body == b"listing"
    with pytest.raises(FetchError, match="cannot read"):
        fetcher.get(str(tmp_path / "missing.txt"))


def test_host_limiter_gives_up_after_the_timeout() -> None:
    limiter = HostLimiter()
    with (
        limiter.hold("http://a.example/1", 1),
        pytest.raises(FetchError, match="waiting for another request"),
        limiter.hold("http://a.example/2", 0.05),
    ):
        pass


def test_waiting_for_the_host_does_not_use_up_the_deadline(upstream: Upstream) -> None:
    """Regression: a source queued behind a slow one on the same host failed with
    "gave up waiting", its deadline spent before its own request began."""
    upstream.serve("/feed", "<rss/>")
    limiter = HostLimiter()
    fetcher = Fetcher(FetchConfig(deadline=1), limiter)
    held = threading.Event()

    def slow_neighbour() -> None:
        with limiter.hold(upstream.url("/other"), 5):
            held.set()
            time.sleep(1.5)  # longer than the queued source's whole deadline

    neighbour = threading.Thread(target=slow_neighbour)
    neighbour.start()
    held.wait(5)
    assert fetcher.get(upstream.url("/feed")).body == b"<rss/>"
    neighbour.join()


def test_unicode_digits_in_retry_after_do_not_crash(upstream: Upstream) -> None:
    """Regression (issue 9): 'Retry-After: ²' passed str.isdigit(), then float() raised ValueError."""
    upstream.serve_in_turn("/feed", Reply(b"busy", 503, {"Retry-After": "²"}), Reply(b"<rss/>"))
    assert Fetcher(FAST).get(upstream.url("/feed")).body == b"<rss/>"
    assert upstream.count("/feed") == 2


class Connections:
    """A server-side count of connections the client holds open at once.

    Each connection trickles an endless header line (a byte every 0.1 s) until the
    client drops it. When a connection arrives, the earlier ones are probed in the
    kernel's state (a readable socket here means the client closed or reset it), not
    by their handler threads, which may not have noticed yet.
    """

    def __init__(self, upstream: hostile.Upstream) -> None:
        self.upstream = upstream
        self.seen = 0
        self.most = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def hold(self, connection: socket.socket) -> None:
        with self._lock:
            self._open = [c for c in self._open if not _dropped(c)] + [connection]
            self.seen += 1
            self.most = max(self.most, len(self._open))
        try:
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Padding: ")
            while not _dropped(connection) and self.upstream.sleep(0.1):
                connection.sendall(b"x")
        except OSError:
            pass  # the client went away
        finally:
            with self._lock:
                self._open.remove(connection)


def _dropped(connection: socket.socket) -> bool:
    """Whether the client has closed or reset the connection (it sends nothing after its request)."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def test_a_request_past_its_deadline_no_longer_holds_the_host_when_the_next_begins() -> None:
    """Regression (issue 10): at the deadline the host was released while the worker
    thread still talked to it, so the next request to that host overlapped it."""
    with hostile.running() as upstream:
        connections = Connections(upstream)
        upstream.behaviours["/a.rss"] = connections.hold
        upstream.behaviours["/b.rss"] = connections.hold
        fetcher = Fetcher(FetchConfig(connect_timeout=5, read_timeout=5, deadline=0.5, retries=1))
        try:
            for path in ("/a.rss", "/b.rss"):
                with pytest.raises(FetchError, match="within the deadline"):
                    fetcher.get(upstream.url(path))
        finally:
            fetcher.close()
    assert connections.seen == 2
    assert connections.most == 1


def test_a_request_through_a_proxy_is_cut_at_its_deadline_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: through HTTP_PROXY, requests made connections that the deadline could
    not cut, so a trickling answer held its host until the upstream gave up."""
    with hostile.running() as proxy:  # a proxy sees absolute URLs; nothing leaves 127.0.0.1
        connections = Connections(proxy)
        proxy.behaviours["http://feeds.example/a.rss"] = connections.hold
        proxy.behaviours["http://feeds.example/b.rss"] = connections.hold
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.base)
        fetcher = Fetcher(FetchConfig(connect_timeout=5, read_timeout=5, deadline=0.5, retries=1))
        try:
            for url in ("http://feeds.example/a.rss", "http://feeds.example/b.rss"):
                with pytest.raises(FetchError, match="within the deadline"):
                    fetcher.get(url)
        finally:
            fetcher.close()
    assert connections.seen == 2
    assert connections.most == 1


# --- credentials (issue 14) -------------------------------------------------------

SECRET_HEADERS = (("X-Api-Key", "k-3c1f9e"),)


def _credentials(
    url: str,
    *,
    password: str | None = "pw-9d2a",  # noqa: S107 - a test marker
    headers: tuple[tuple[str, str], ...] = (),
) -> Credentials:
    return Credentials(origin(url), "alice" if password else None, password, headers)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_reach_their_own_origin(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/feed", "<rss/>")
    fetcher.get(upstream.url("/feed"), credentials=_credentials(upstream.base, headers=SECRET_HEADERS))
    [request] = upstream.requests()
    assert request.headers["Authorization"] == _basic("alice", "pw-9d2a")
    assert request.headers["X-Api-Key"] == "k-3c1f9e"


def test_credentials_are_not_sent_to_another_origin(upstream: Upstream, fetcher: Fetcher) -> None:
    # e.g. a radionet API page on another host than the configured page
    upstream.serve("/api", "{}")
    other = f"http://localhost:{upstream.port}/api"
    fetcher.get(other, credentials=_credentials(upstream.base, headers=SECRET_HEADERS))
    [request] = upstream.requests()
    assert "Authorization" not in request.headers
    assert "X-Api-Key" not in request.headers


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_credentials_do_not_follow_a_redirect_to_another_origin(
    upstream: Upstream, fetcher: Fetcher, status: int
) -> None:
    # requests drops Authorization on a host change but keeps custom headers: both must go.
    upstream.serve("/feed", "", status=status, headers={"Location": f"http://localhost:{upstream.port}/moved"})
    upstream.serve("/moved", "<rss/>")
    fetcher.get(upstream.url("/feed"), credentials=_credentials(upstream.base, headers=SECRET_HEADERS))
    first, moved = upstream.requests()
    assert first.headers["X-Api-Key"] == "k-3c1f9e"
    assert "Authorization" in first.headers
    assert "X-Api-Key" not in moved.headers
    assert "Authorization" not in moved.headers


def test_credentials_follow_a_redirect_on_the_same_origin(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/feed", "", status=302, headers={"Location": "/moved"})
    upstream.serve("/moved", "<rss/>")
    fetcher.get(upstream.url("/feed"), credentials=_credentials(upstream.base, headers=SECRET_HEADERS))
    moved = upstream.requests("/moved")[0]
    assert moved.headers["X-Api-Key"] == "k-3c1f9e"
    assert moved.headers["Authorization"] == _basic("alice", "pw-9d2a")


def test_conditional_get_with_credentials(upstream: Upstream, fetcher: Fetcher) -> None:
    def handler(request: Request) -> Reply:
        if request.headers.get("Authorization") != _basic("alice", "pw-9d2a"):
            return Reply(b"", 401)
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(b"", 304, {"ETag": '"v1"'})
        return Reply(b"<rss/>", 200, {"ETag": '"v1"'})

    upstream.route("/feed", handler)
    credentials = _credentials(upstream.base)
    first = fetcher.get(upstream.url("/feed"), credentials=credentials)
    second = fetcher.get(upstream.url("/feed"), etag=first.etag, credentials=credentials)
    assert (first.status, second.status) == (200, 304)


@pytest.mark.parametrize(("status", "hint"), [(401, "check its username/password"), (403, "check its username")])
def test_refused_credentials_say_so_without_the_secret(
    upstream: Upstream, fetcher: Fetcher, status: int, hint: str
) -> None:
    upstream.serve("/feed", "no", status=status)
    with pytest.raises(FetchError, match=hint) as caught:
        fetcher.get(upstream.url("/feed"), credentials=_credentials(upstream.base))
    assert "pw-9d2a" not in str(caught.value)
    assert "alice" not in str(caught.value)


def test_a_401_without_credentials_suggests_them(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.serve("/feed", "no", status=401)
    with pytest.raises(FetchError, match=r"HTTP 401 .*may need credentials"):
        fetcher.get(upstream.url("/feed"))


def test_connection_errors_do_not_quote_the_token(fetcher: Fetcher) -> None:
    # requests' text names the URL with its query: "Max retries exceeded with url: /feed?token=..."
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        Fetcher(FetchConfig(connect_timeout=1, deadline=5, retries=1)).get(
            f"http://127.0.0.1:{port}/feed?token=tok-5e8b1a&page=2"
        )
    assert "tok-5e8b1a" not in str(caught.value)


def test_a_hosts_retry_after_holds_for_its_other_sources(upstream: Upstream) -> None:
    """Regression: a 429's Retry-After held only for the source it answered; the next
    source on the same host asked at once, in the pause the host had asked for."""
    answered: dict[str, list[float]] = {"/a": [], "/b": []}

    def busy_once(request: Request) -> Reply:
        answered[request.path].append(time.monotonic())
        if request.path == "/a" and len(answered["/a"]) == 1:
            return Reply(b"busy", 429, {"Retry-After": "1"})
        return Reply(b"<rss/>")

    upstream.route("/a", busy_once)
    upstream.route("/b", busy_once)
    fetcher = Fetcher(FAST)
    first = threading.Thread(target=fetcher.get, args=(upstream.url("/a"),))
    first.start()
    wait_until(lambda: len(answered["/a"]) == 1, "the 429")
    assert fetcher.get(upstream.url("/b")).body == b"<rss/>"
    first.join()
    assert answered["/b"][0] - answered["/a"][0] >= 1.0  # asked after the pause, not in it
    assert len(answered["/a"]) == 2


def test_a_pause_longer_than_the_wait_for_the_host_fails_the_source_at_once() -> None:
    limiter = HostLimiter()
    limiter.pause("http://a.example/1", 100)
    with pytest.raises(FetchError, match=r"^a.example asked for no request for another 100 s \(Retry-After\)"):
        limiter.acquire("http://a.example/2", 5)
    with limiter.hold("http://b.example/1", 5):  # other hosts are not paused
        pass
    limiter.pause("http://a.example/1", 0)  # a shorter pause does not shorten the one under way
    with pytest.raises(FetchError, match="Retry-After"):
        limiter.acquire("http://a.example/2", 5)
