"""Servers on 127.0.0.1 for tests, benchmarks and scripts: an HTTP upstream whose
answers a test sets per path and whose requests it reads back, gunicorn serving
feedtool (or any WSGI app), and the start/stop helper any socketserver shares.

Every server listens on a free loopback port and stops when its ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qsl

from flask.testing import FlaskClient

from feedtool.config import load
from feedtool.refresh import SourceResult, refresh
from feedtool.web import create_app

#: The gunicorn beside this Python (a virtual environment's), else the one on PATH.
GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
FEEDTOOL_APP = "feedtool.web:create_app()"
RSS = "application/rss+xml"


@contextmanager
def running(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve on a background thread for the ``with`` block; then shut down and close."""
    thread = threading.Thread(target=server.serve_forever, name=f"loopback-{id(server):x}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; raise TimeoutError naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One request as the upstream received it."""

    method: str
    path: str  # without the query
    query: str
    headers: Message

    @property
    def args(self) -> dict[str, str]:
        """The query's parameters (the last of a repeated one)."""
        return dict(parse_qsl(self.query))


Responder = Callable[[Request], Reply]


class Upstream:
    """An HTTP server on 127.0.0.1 that answers per path and logs every exchange.

    A path nobody set up is answered 404.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.log: list[tuple[Request, Reply]] = []  # answered requests, in the order answered
        self._received: list[Request] = []
        self._routes: dict[str, Responder] = {}
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The absolute URL of a path on this server (through another of its loopback addresses)."""
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, responder: Responder) -> None:
        """Answer requests for ``path`` with whatever ``responder`` returns."""
        with self._lock:
            self._routes[path] = responder

    def serve(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = RSS,
        headers: Mapping[str, str] | None = None,
        etag: bool = False,
    ) -> None:
        """Answer every request for ``path`` with ``body``; with ``etag``, send an ETag
        and answer a matching If-None-Match with 304."""
        data = body.encode() if isinstance(body, str) else body
        reply = Reply(data, status, {"Content-Type": content_type, **(headers or {})})
        if not etag:
            self.route(path, lambda request: reply)
            return
        tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        tagged = Reply(data, status, {**reply.headers, "ETag": tag})

        def conditional(request: Request) -> Reply:
            if request.headers.get("If-None-Match") == tag:
                return Reply(b"", 304, {"ETag": tag})
            return tagged

        self.route(path, conditional)

    def serve_in_turn(self, path: str, *replies: Reply) -> None:
        """Answer the requests for ``path`` with ``replies`` in order; any request
        after the last is answered 500 (and shows in the log)."""
        queue = list(replies)
        lock = threading.Lock()

        def next_reply(request: Request) -> Reply:
            with lock:
                if queue:
                    return queue.pop(0)
            return Reply(f"no reply left for {path}".encode(), 500)

        self.route(path, next_reply)

    def clear(self) -> None:
        """Forget every route and the log."""
        with self._lock:
            self._routes.clear()
            self.log.clear()
            self._received.clear()

    def requests(self, path: str | None = None) -> list[Request]:
        """The requests received so far, answered or not (for one path, if given), oldest first."""
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def count(self, path: str) -> int:
        """How many requests for ``path`` were received."""
        return len(self.requests(path))

    def answer(self, request: Request) -> Reply:
        """The reply to one request (and log both)."""
        with self._lock:
            self._received.append(request)
            responder = self._routes.get(request.path)
        reply = responder(request) if responder is not None else Reply(b"not here", 404)
        with self._lock:
            self.log.append((request, reply))
        return reply


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def _respond(self, *, body: bool) -> None:
        path, _, query = self.path.partition("?")
        reply = self.server.upstream.answer(Request(self.command, path, query, self.headers))
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 304:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if body and reply.status != 304:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the upstream's own log is the record."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many workers' connections at once (the many-host benches)

    def __init__(self, address: str = "127.0.0.1", shared: Upstream | None = None) -> None:
        super().__init__((address, shared.port if shared else 0), _Handler)
        self.upstream = shared or Upstream(self.server_address[1])


@contextmanager
def upstream(hosts: Sequence[str] = ("127.0.0.1",)) -> Iterator[Upstream]:
    """An HTTP upstream on a free loopback port, for the ``with`` block; with more
    ``hosts`` (127.0.0.2, 127.0.0.3, ...: all loopback on Linux), the same upstream on
    the same port of each, which clients take for distinct hosts."""
    first = _Server(hosts[0])
    with contextlib.ExitStack() as stack:
        stack.enter_context(running(first))
        for host in hosts[1:]:
            stack.enter_context(running(_Server(host, first.upstream)))
        yield first.upstream


def loopback_hosts(count: int) -> tuple[str, ...]:
    """``count`` distinct loopback addresses, 127.0.0.1 first.

    >>> loopback_hosts(3)
    ('127.0.0.1', '127.0.0.2', '127.0.0.3')
    """
    return tuple(f"127.0.{n // 250}.{n % 250 + 1}" for n in range(count))


@dataclass(frozen=True)
class Gunicorn:
    base: str  # http://127.0.0.1:<port>
    pid: int  # the master process


@contextmanager
def gunicorn(
    app: str,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    cwd: Path | None = None,
    probe: str | None = "/healthz",
    preload: bool = False,
    args: Sequence[str] = (),
) -> Iterator[Gunicorn]:
    """Run gunicorn with ``app`` on a free loopback port until every worker has booted
    and it answers ``probe`` (any status; None: booted is enough); stop it when the
    block ends. Its output goes to ``log``; ``preload`` loads the app once, before forking."""
    if GUNICORN is None:
        raise RuntimeError("gunicorn is not installed")
    with log.open("wb") as stream:
        server = subprocess.Popen(
            [
                GUNICORN,
                *(["--preload"] if preload else []),
                "--workers",
                str(workers),
                "--bind",
                "127.0.0.1:0",
                *args,
                app,
            ],
            env={**os.environ, **(env or {})},
            stdout=stream,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    try:
        yield Gunicorn(_wait_until_serving(log, server, workers, probe), server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def feedtool_server(config: Path, log: Path, workers: int = 2) -> Iterator[str]:
    """feedtool's web app for ``config`` under gunicorn, as the README runs it; yield its base URL."""
    env = {"FEEDTOOL_CONFIG": str(config)}
    with gunicorn(FEEDTOOL_APP, log, env=env, workers=workers, preload=True) as server:
        yield server.base


def _wait_until_serving(log: Path, server: subprocess.Popen[bytes], workers: int, probe: str | None) -> str:
    found: list[str] = []

    def serving() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        text = log.read_text(errors="replace")
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        if match is None or text.count("Booting worker") < workers:
            return False
        try:
            if probe is not None:
                with urllib.request.urlopen(match.group(1) + probe, timeout=5):  # noqa: S310 - loopback http
                    pass
        except urllib.error.HTTPError:
            pass  # it answers: a 503 only says a source is stale
        except OSError:
            return False
        found.append(match.group(1))
        return True

    try:
        wait_until(serving, "gunicorn to serve", timeout=60)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{log.read_text(errors='replace')}") from exc
    return found[0]


@dataclass(frozen=True)
class Republished:
    """Feed files refreshed through feedtool from a loopback upstream, and the app serving them."""

    config: Path
    client: FlaskClient
    results: Mapping[str, SourceResult]  # by show id
    upstream_base: str  # where the upstream was (it has stopped): the feeds' base URL


def republish(feeds: Mapping[str, Path], work: Path, base_url: str = "https://feedtool.example") -> Republished:
    """Serve each feed file from a loopback upstream, refresh it through feedtool as the
    show of that name (a-z, 0-9 and '-'), and return Flask's test client of the app."""
    with upstream() as server:
        for name, path in feeds.items():
            server.serve(f"/{name}.xml", path.read_bytes(), content_type="application/xml")
        shows = "".join(f"  {name}:\n    sources: [{{rss: {server.url(f'/{name}.xml')}}}]\n" for name in feeds)
        config = work / "config.yaml"
        config.write_text(f"base_url: {base_url}\nshows:\n{shows}")
        results = {r.show_id: r for r in refresh(load(config)).results}
    client = create_app({"FEEDTOOL_CONFIG": str(config), "TESTING": True}).test_client()
    return Republished(config, client, results, server.base)
