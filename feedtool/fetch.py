"""The one user of requests: polite, bounded fetching of source listings.

Polite: one session, a User-Agent that names feedtool, conditional GET, at most one
request at a time per host, retries with exponential backoff and jitter, Retry-After
honoured up to a cap. Bounded: connect and read timeouts, an overall deadline per
source (retries and waits included), at most 5 redirects, and a size limit counted
on the decompressed body while it streams, so a huge or gzip-bomb body is never
held whole. A request still running at its deadline has its connection cut, and its
host stays held until it has really ended.

Credentials (basic auth, headers) go only to the origin of the source they belong
to: not to an API page on another host, and not across a redirect to another origin
(requests itself drops only Authorization there, and keeps custom headers).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection

from feedtool import HOMEPAGE, __version__
from feedtool.config import FetchConfig
from feedtool.errors import FetchError
from feedtool.model import Credentials
from feedtool.redact import mask_text, operator_location, origin

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
#: A source waits for its host at most this many deadlines (sources queued before it).
HOST_QUEUE = 8
#: Bodies are read (and counted against the size limit) a megabyte at a time.
CHUNK = 256 * 1024
USER_AGENT = f"feedtool/{__version__} (+{HOMEPAGE})"


@dataclass(frozen=True)
class Response:
    """A fetched body (status 200) or a 'not modified' answer (status 304)."""

    status: int
    body: bytes
    url: str
    etag: str | None = None
    last_modified: str | None = None
    charset: str | None = None
    permanent_redirect: str | None = None
    digest: str | None = None  # SHA-256 of the body, computed while it arrived


class HostLimiter:
    """At most one request at a time per host, across the threads of one refresh, and
    none while a host's Retry-After pause lasts (whichever source it answered)."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._paused_until: dict[str, float] = {}  # host -> time.monotonic()
        self._guard = threading.Lock()

    def acquire(self, url: str, timeout: float) -> Callable[[], None]:
        """Wait (at most timeout seconds) for the host of url, and for the end of its
        pause; return what releases it.

        The release may be called from another thread: the one whose request ends last.
        """
        host = _host(url)
        started = time.monotonic()
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        if not lock.acquire(timeout=max(timeout, 0)):
            raise FetchError(f"gave up waiting for another request to {host} to finish")
        try:
            # Holding the host: the requests queued behind this one wait out the pause too.
            with self._guard:
                pause = self._paused_until.get(host, 0.0) - time.monotonic()
            wait_for_pause(host, pause, timeout - (time.monotonic() - started))
        except BaseException:
            lock.release()
            raise
        return lock.release

    def pause(self, url: str, seconds: float) -> None:
        """The host of url asked (Retry-After) for no request during the next ``seconds``."""
        host = _host(url)
        with self._guard:
            until = time.monotonic() + seconds
            self._paused_until[host] = max(self._paused_until.get(host, 0.0), until)

    @contextmanager
    def hold(self, url: str, timeout: float) -> Iterator[None]:
        """Wait (at most timeout seconds) for the host of url, and hold it."""
        release = self.acquire(url, timeout)
        try:
            yield
        finally:
            release()


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def wait_for_pause(host: str, pause: float, timeout: float) -> None:
    """Sleep out a host's Retry-After pause, or fail at once if it lasts past timeout."""
    if pause <= 0:
        return
    if pause > timeout:
        raise FetchError(f"{host} asked for no request for another {pause:.0f} s (Retry-After); try later")
    log.info("%s asked for a pause (Retry-After): waiting %.1f s", host, pause)
    time.sleep(pause)


class _Connections:
    """The connections one request attempt uses, so that it can be cut off at its deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[urllib3.connection.HTTPConnection] = []
        self._cut = False

    def track(self, connection: urllib3.connection.HTTPConnection) -> None:
        with self._lock:
            if self._cut:
                _shut(connection)  # it connected after the deadline: cut it at once
            else:
                self._connections.append(connection)

    def cut(self) -> None:
        """Shut every connection of the attempt: a read blocked on one returns at once."""
        with self._lock:
            self._cut = True
            for connection in self._connections:
                _shut(connection)


def _shut(connection: urllib3.connection.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with suppress(OSError):
            # The plain socket's shutdown, also under TLS: the worker thread owns the TLS state.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


#: The attempt that the current worker thread runs, read by the connections it opens.
_current = threading.local()


def _track(connection: urllib3.connection.HTTPConnection) -> None:
    attempt: _Connections | None = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.track(connection)


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _track(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _track(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections that a deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        # Through an HTTP(S)_PROXY too: else a request past its deadline is not cut and
        # holds its host until the upstream gives up.
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS managers have pools of their own
            manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


class _Session(requests.Session):
    """A session that, following a redirect, sends a source's credentials only to its origin."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        credentials: Credentials | None = getattr(_current, "credentials", None)
        if credentials is not None:
            url = prepared_request.url or ""
            for name, _ in _credential_headers(credentials):
                prepared_request.headers.pop(name, None)
            if origin(url) == credentials.origin:
                prepared_request.headers.update(_credential_headers(credentials))


def _credential_headers(credentials: Credentials) -> list[tuple[str, str]]:
    headers = list(credentials.headers)
    if credentials.username is not None and credentials.password is not None:
        pair = f"{credentials.username}:{credentials.password}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode("ascii")))
    return headers


class _Retry(Exception):
    """An attempt failed in a way worth trying again (after ``wait`` seconds, if set)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class Retriever(Protocol):
    """What fetches a source listing: HTTP(S) URLs and local files (``Fetcher`` is one)."""

    def get(
        self,
        location: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        credentials: Credentials | None = None,
    ) -> Response: ...

    def close(self) -> None: ...


class Fetcher:
    """Fetches source listings by URL or local path, within the configured bounds."""

    def __init__(self, config: FetchConfig, limiter: HostLimiter | None = None) -> None:
        self.config = config
        self.limiter = limiter or HostLimiter()
        self.session = _Session()
        self.session.max_redirects = MAX_REDIRECTS
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _Adapter())
        self.session.headers.update({"User-Agent": config.user_agent or USER_AGENT, "Accept-Encoding": "gzip"})

    def close(self) -> None:
        self.session.close()

    def get(
        self,
        location: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        credentials: Credentials | None = None,
    ) -> Response:
        """Fetch a URL (conditionally, when etag or last_modified are given) or read a file;
        credentials go only to their own origin, also across redirects."""
        if not location.startswith(("http://", "https://")):
            return self._read_file(location)
        # The deadline counts from the first request, not from the wait for the host:
        # a slow source on a host must not use up the time of the sources queued behind it.
        deadline: float | None = None
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if credentials is not None and origin(location) != credentials.origin:
            credentials = None  # e.g. an API page on another host: it gets none of the source's secrets
        if credentials is not None:
            headers.update(_credential_headers(credentials))
        attempt = 0
        while True:
            attempt += 1
            try:
                release = self.limiter.acquire(location, self.config.deadline * HOST_QUEUE)
                if deadline is None:
                    deadline = time.monotonic() + self.config.deadline
                return self._attempt(location, headers, deadline, release, credentials)
            except _Retry as problem:
                assert deadline is not None
                remaining = deadline - time.monotonic()
                if attempt >= self.config.retries:
                    raise FetchError(f"{problem} (gave up after {attempt} tries)") from None
                wait = problem.wait if problem.wait is not None else _backoff(attempt)
                if wait > remaining:
                    raise FetchError(f"{problem}; a retry in {wait:.0f} s would pass the deadline") from None
                log.info("%s: %s; retrying in %.1f s", operator_location(location), problem, wait)
                time.sleep(wait)

    def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        deadline: float,
        release: Callable[[], None],
        credentials: Credentials | None = None,
    ) -> Response:
        """One request, run in a helper thread so the deadline holds even while
        a server trickles its headers one byte at a time.

        The helper thread releases the host (``release``) when its request has ended:
        at the deadline its connection is cut, but until the thread has let go of it,
        the next request to that host waits (one request per host at a time).
        """
        outcome: list[Response | BaseException] = []
        connections = _Connections()
        try:
            if deadline - time.monotonic() <= 0:
                raise FetchError(f"no answer within the deadline of {self.config.deadline:g} s")
            worker = threading.Thread(
                target=self._run,
                args=(url, headers, deadline, connections, release, outcome, credentials),
                daemon=True,
                name=f"fetch {operator_location(url)}",
            )
            worker.start()
        except BaseException:
            release()
            raise
        worker.join(max(deadline - time.monotonic(), 0))
        if not outcome:
            connections.cut()
            raise FetchError(f"no complete answer within the deadline of {self.config.deadline:g} s")
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _run(
        self,
        url: str,
        headers: dict[str, str],
        deadline: float,
        connections: _Connections,
        release: Callable[[], None],
        outcome: list[Any],
        credentials: Credentials | None = None,
    ) -> None:
        _current.attempt = connections
        _current.credentials = credentials  # read by _Session.rebuild_auth on a redirect
        try:
            outcome.append(self._request(url, headers, deadline, sent=bool(credentials)))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome.append(exc)
        finally:
            _current.attempt = None
            _current.credentials = None
            release()

    def _request(self, url: str, headers: dict[str, str], deadline: float, *, sent: bool = False) -> Response:
        remaining = max(deadline - time.monotonic(), 0.01)
        timeout = (min(self.config.connect_timeout, remaining), min(self.config.read_timeout, remaining))
        try:
            response = self.session.get(url, headers=headers, timeout=timeout, stream=True)
        except requests.TooManyRedirects as exc:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects (a redirect loop?)") from exc
        except requests.Timeout as exc:
            raise _Retry(f"timed out: {_reason(exc)}") from exc
        except requests.ConnectionError as exc:
            raise _Retry(f"connection failed: {_reason(exc)}") from exc
        except requests.RequestException as exc:
            raise FetchError(f"request failed: {_reason(exc)}") from exc
        with response:
            moved = _permanent_redirect(response)
            if response.status_code == 304:
                return Response(304, b"", response.url, _header(response, "ETag"),
                                _header(response, "Last-Modified"), None, moved)  # fmt: skip
            if response.status_code in (429, 503) or response.status_code >= 500:
                wait = _retry_after(response.headers.get("Retry-After"), self.config.retry_after_cap)
                if wait is not None:
                    # For every request to the host that answered, not this source's only; recorded
                    # while this request still holds the host, so none slips in before it.
                    self.limiter.pause(response.url, wait)
                raise _Retry(f"HTTP {response.status_code} {response.reason}", wait)
            if response.status_code in (401, 403):
                hint = "check its username/password or headers" if sent else "it may need credentials"
                raise FetchError(f"HTTP {response.status_code} {response.reason}: {hint}")
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} {response.reason}")
            if response.status_code != 200:
                raise FetchError(f"unexpected HTTP {response.status_code} {response.reason}")
            body, digest = self._read_body(response, deadline)
            return Response(
                200,
                body,
                response.url,
                _header(response, "ETag"),
                _header(response, "Last-Modified"),
                response.encoding if "charset" in response.headers.get("Content-Type", "") else None,
                moved,
                digest,
            )

    def _read_body(self, response: requests.Response, deadline: float) -> tuple[bytes, str]:
        limit = self.config.max_bytes
        declared = response.headers.get("Content-Length", "")
        # isascii: str.isdigit() also accepts '²', which int() refuses.
        if (
            declared.isascii()
            and declared.isdigit()
            and int(declared) > limit
            and "Content-Encoding" not in response.headers
        ):
            raise FetchError(f"the body ({int(declared):,} bytes) is larger than the limit of {limit:,} bytes")
        chunks = []
        size = 0
        digest = hashlib.sha256()  # hashed as it arrives: the same bytes again cost nothing more
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"the body is larger than the limit of {limit:,} bytes; stopped reading")
                if time.monotonic() > deadline:
                    raise FetchError(f"the body did not arrive within the deadline of {self.config.deadline:g} s")
                chunks.append(chunk)
                digest.update(chunk)
        except requests.RequestException as exc:
            raise _Retry(f"connection broken while reading the body: {_reason(exc)}") from exc
        return b"".join(chunks), digest.hexdigest()

    def _read_file(self, path: str) -> Response:
        try:
            with Path(path).open("rb") as handle:
                body = handle.read(self.config.max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"cannot read {operator_location(path)}: {exc.strerror or exc}") from exc
        if len(body) > self.config.max_bytes:
            raise FetchError(f"the file is larger than the limit of {self.config.max_bytes:,} bytes")
        return Response(200, body, path, digest=hashlib.sha256(body).hexdigest())


def _header(response: requests.Response, header: str) -> str | None:
    value = response.headers.get(header)
    return value.strip() if value and value.strip() else None


def _permanent_redirect(response: requests.Response) -> str | None:
    """The final URL when every redirect on the way was permanent (301, 308)."""
    if response.history and all(r.status_code in (301, 308) for r in response.history):
        return response.url
    return None


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 1, 2, 4 ... seconds."""
    return random.uniform(0.1, 2.0 ** (attempt - 1))  # noqa: S311 - not for security


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds a Retry-After header asks for (delta or HTTP date), capped; None if absent.

    >>> _retry_after("7", 60), _retry_after("600", 60), _retry_after(None, 60), _retry_after("²", 60)
    (7.0, 60.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(float(value), cap))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(min(max((moment - datetime.now(UTC)).total_seconds(), 0.0), cap))


def _reason(exc: BaseException) -> str:
    """The innermost, most specific message of a requests exception chain."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc)
    # requests' messages quote the URL with its query ("Max retries exceeded with url: /feed?token=...").
    return mask_text(text.split(": ", 1)[-1] if text.startswith("<") else text)
