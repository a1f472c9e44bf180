"""A hostile HTTP upstream on 127.0.0.1, for the fault suite.

Written on raw sockets, because the faults are below what a well-behaved HTTP
framework lets a handler do: trickling bytes, never answering, resetting a
connection mid-body, lying about lengths. Each path is one behaviour; every
behaviour ends by itself (sleeps are bounded), and the server stops with the test.
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from feedtool.testing.feeds import feed, item
from feedtool.testing.servers import running as serving

#: A feed's opening, up to its first item: the start of the endless and inflating bodies.
FEED_HEAD = feed(b"").removesuffix(b"</channel></rss>")
GOOD = feed(item(1) + item(2))
MAX_SLEEP = 20.0  # no behaviour lingers longer than this


class Upstream:
    """Serves one behaviour per path; counts requests per path."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.bodies: dict[str, bytes] = {"/good.rss": GOOD}
        self.behaviours: dict[str, Callable[[socket.socket], None]] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.get(path, 0)

    def handle(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = connection.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1
        behaviour = self.behaviours.get(path)
        if behaviour is not None:
            behaviour(connection)
        elif path in self.bodies:
            send(connection, 200, self.bodies[path])
        else:
            send(connection, 404, b"not here")

    def sleep(self, seconds: float) -> bool:
        """Sleep, unless the server is stopping; False when it is."""
        return not self.stopping.wait(min(seconds, MAX_SLEEP))


def send(connection: socket.socket, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    reason = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found", 500: "Internal Server Error",
              503: "Service Unavailable", 429: "Too Many Requests"}.get(status, "Whatever")  # fmt: skip
    head = {"Content-Length": str(len(body)), "Content-Type": "application/rss+xml", "Connection": "close"}
    head.update(headers or {})
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    with suppress(OSError):
        connection.sendall("\r\n".join(lines).encode("latin-1") + body)


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset (RST), not a clean FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        with suppress(OSError):
            self.server.upstream.handle(self.request)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: Upstream) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream


@contextmanager
def running() -> Iterator[Upstream]:
    """The hostile upstream on a free loopback port, for the ``with`` block."""
    upstream = Upstream()
    server = _Server(upstream)
    upstream.port = server.server_address[1]
    with serving(server):
        try:
            yield upstream
        finally:
            upstream.stopping.set()  # ends every sleeping behaviour before the server stops


# --- behaviours ---------------------------------------------------------------------


def huge(upstream: Upstream, declared: bool) -> Callable[[socket.socket], None]:
    """An endless body (declared as 60 MB, or not declared at all)."""

    def behave(connection: socket.socket) -> None:
        headers = "Content-Length: 60000000\r\n" if declared else ""
        connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n{headers}\r\n".encode())
        chunk = FEED_HEAD + b"<item><title>" + b"x" * 65536
        deadline = time.monotonic() + MAX_SLEEP
        try:
            while time.monotonic() < deadline and not upstream.stopping.is_set():
                connection.sendall(chunk)
        except OSError:
            pass

    return behave


def trickle(upstream: Upstream, headers_too: bool) -> Callable[[socket.socket], None]:
    """A byte a second: of the body, or of the headers already."""

    def behave(connection: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
        payload = (head if headers_too else b"") + GOOD
        if not headers_too:
            connection.sendall(head)
        for byte in payload:
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return
            if not upstream.sleep(1):
                return

    return behave


def silent(upstream: Upstream) -> Callable[[socket.socket], None]:
    """Accept, read the request, never answer."""

    def behave(connection: socket.socket) -> None:
        upstream.sleep(MAX_SLEEP)

    return behave


def reset_mid_body(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + GOOD[:200])
    time.sleep(0.05)
    reset(connection)


def redirect_to(path: str) -> Callable[[socket.socket], None]:
    """Redirect to path: to itself, a loop."""

    def behave(connection: socket.socket) -> None:
        send(connection, 302, b"", {"Location": path})

    return behave


def gzip_bomb(size: int) -> Callable[[socket.socket], None]:
    """A small gzip body that inflates to ``size`` bytes of zeros after a feed head."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(FEED_HEAD + b"<item><title>")]
    block = b"\0" * 2**20
    for _ in range(size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    body = b"".join(parts)

    def behave(connection: socket.socket) -> None:
        send(connection, 200, body, {"Content-Encoding": "gzip"})

    return behave


def gzipped(body: bytes, headers: dict[str, str] | None = None) -> Callable[[socket.socket], None]:
    packed = gzip.compress(body)

    def behave(connection: socket.socket) -> None:
        send(connection, 200, packed, {"Content-Encoding": "gzip", **(headers or {})})

    return behave


def status(code: int, headers: dict[str, str] | None = None) -> Callable[[socket.socket], None]:
    def behave(connection: socket.socket) -> None:
        send(connection, code, b"error page", headers)

    return behave


def body(data: bytes, headers: dict[str, str] | None = None) -> Callable[[socket.socket], None]:
    def behave(connection: socket.socket) -> None:
        send(connection, 200, data, headers)

    return behave
