"""Where a cached feed request's time goes: real WSGI calls into the Flask app (cProfile).

    python bench/profile_serving.py [REQUESTS]

A 1,000-episode show (the bench's synthetic feed) is refreshed into a store; the app
answers REQUESTS (default 2,000) requests for its cached, tag-filtered feed (~650 KB),
the same with a matching If-None-Match (304), and the whole feed (4.8 MB). Each is
timed per request, beside a static WSGI app handed the same bytes (what no Python
framework can go below), then profiled by own time. No HTTP server: what is left is
the app's own work per request.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from feedtool.config import load
from feedtool.refresh import refresh
from feedtool.testing.feeds import podcast
from feedtool.web import create_app

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def call(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, int]:
    """One WSGI call, its body read and closed as a server would: (status, body length)."""
    status: list[str] = []

    def start_response(code: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        status.append(code)

    body = app(dict(environ), start_response)
    try:
        size = sum(len(chunk) for chunk in body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return status[0], size


def static_app(body: bytes) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/rss+xml"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def per_request(app: WSGIApp, environ: dict[str, Any], requests: int) -> float:
    """Median over 5 rounds of the mean time of one request, in microseconds."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(requests // 5):
            call(app, environ)
        rounds.append((time.perf_counter() - started) / (requests // 5) * 1e6)
    return sorted(rounds)[2]


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    loop = []
    for _ in range(15):
        started = time.perf_counter()
        sum(range(10**6))
        loop.append((time.perf_counter() - started) * 1000)
    loop.sort()
    print(f"CPU check (sum(range(10**6)), 15 runs): median {loop[7]:.1f} ms, min {loop[0]:.1f}, max {loop[-1]:.1f}")
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        (work / "feed.xml").write_bytes(podcast(1000))
        config = work / "config.yaml"
        config.write_text(
            f"shows:\n  show:\n    sources: [{{rss: {work / 'feed.xml'}}}]\n"
            "    tags: {open-weights: {match: ['open weights'], fields: [title]}}\n"
        )
        assert refresh(load(config)).ok
        os.environ["FEEDTOOL_CONFIG"] = str(config)
        app = create_app()
        for label, query in (("tag-filtered feed", "tag=open-weights"), ("whole feed", "")):
            environ = EnvironBuilder(path="/feeds/show.rss", query_string=query).get_environ()
            status, size = call(app, environ)  # renders once: every later request is cached
            assert status.startswith("200"), status
            etag = dict(app.test_client().get(f"/feeds/show.rss?{query}").headers)["ETag"]
            conditional = EnvironBuilder(
                path="/feeds/show.rss", query_string=query, headers={"If-None-Match": etag}
            ).get_environ()
            assert call(app, conditional)[0].startswith("304")
            ours = per_request(app, environ, requests)
            not_modified = per_request(app, conditional, requests)
            static = per_request(static_app(b"x" * size), environ, requests)
            print(f"\n## {label} ({size / 1000:.0f} KB), {requests} WSGI calls each")
            print(f"cached 200: {ours:.0f} us a request; 304: {not_modified:.0f} us; static WSGI app: {static:.1f} us")
            for what, env in (("cached 200", environ), ("304", conditional)):
                profile = cProfile.Profile()
                profile.runcall(lambda env=env: [call(app, env) for _ in range(requests)])  # type: ignore[misc]
                print(f"\n### {label}, {what}, {requests} requests (by own time)\n\n```")
                pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(18)
                print("```")


if __name__ == "__main__":
    main()
