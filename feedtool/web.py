"""The Flask app: feeds, the index page, OPML and a health check, with HTTP caching.

``create_app()`` reads the config named by ``FEEDTOOL_CONFIG`` (or ./config.yaml)
and fails at start-up if it is invalid; when the file changes, the next request
reads it again (an invalid edit is logged and the previous config kept). Each thread
keeps one read-only store connection, which each request checks first (a changed
data version or a replaced file); rendered feeds are cached per process and keyed
by the store's version, so a refresh in another process shows up on the next request. Errors are short plain
text; nothing a client sends makes the app answer 500. No route fetches a URL.

Private shows and feeds (issue 14) are served only with a listener's ``?key=``;
without a valid one they are the same 404 as a feed that does not exist, and the
public pages (index, OPML, health check) do not name them.
"""

from __future__ import annotations

import functools
import gzip
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.sansio.utils import get_current_url

from feedtool import __version__, access, files, pages
from feedtool.config import Config, config_path, load
from feedtool.errors import ConfigError, FilterError, StartupConfigError, StoreError
from feedtool.filters import REGEX_PARAMS, Filter, parse_filter
from feedtool.normalize.dates import format_iso
from feedtool.publish import FORMATS, Publisher, RenderCache, Rendered, UnknownFeed, Validators
from feedtool.redact import public_location, public_text
from feedtool.render import html, opml
from feedtool.store.serving import ServingStore

log = logging.getLogger(__name__)

#: Bodies smaller than this are sent uncompressed: gzip would not pay.
GZIP_MIN = 1024
#: The headers of every HTML page (issue 15): no inline script or style, nothing framed,
#: forms posted only here; artwork and audio come from the podcasts' hosts.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; "
    "media-src https: http:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: Longest query string answered (bytes; longer is a 414), and most query parameters (more is a 400).
MAX_QUERY = 2048
MAX_PARAMS = 32


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The feedtool web app for the config at FEEDTOOL_CONFIG (or test_config's)."""
    app = Flask(__name__)
    app.config.from_mapping(FEEDTOOL_CONFIG=str(config_path()), RENDER_CACHE_BYTES=32 * 2**20)
    if test_config is not None:
        app.config.update(test_config)
    # Stamped before reading, so that a save while it is read is noticed next time.
    app.extensions["feedtool.stamp"] = files.stamp(app.config["FEEDTOOL_CONFIG"])
    try:
        config: Config = load(app.config["FEEDTOOL_CONFIG"])
    except ConfigError as exc:
        raise StartupConfigError(exc.path, exc.problems) from exc
    app.extensions["feedtool"] = config
    app.extensions["feedtool.cache"] = RenderCache(app.config["RENDER_CACHE_BYTES"])
    app.before_request(_bound_query)
    app.before_request(_reload_if_changed)
    # Per thread: a store connection and a publisher, kept across requests (issue 16).
    app.extensions["feedtool.kept"] = threading.local()
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(Exception, _unexpected)
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/feeds.opml", "opml", feeds_opml)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/feeds/<name>.<fmt>", "feed", feed)
    app.add_url_rule("/feeds/<name>", "feed_without_format", feed_without_format)
    app.add_url_rule("/shows/<show_id>", "show_page", show_page)
    app.add_url_rule("/shows/<show_id>/episodes/<int:episode_id>", "episode_page", episode_page)
    return app


_T = TypeVar("_T")


def _current(proxy: _T) -> _T:
    """The object behind one of Flask's context proxies (request, current_app, g), looked
    up once: each use of a proxy looks the context up again (issue 16)."""
    return cast(_T, proxy._get_current_object())  # type: ignore[attr-defined]


def _reload_if_changed() -> None:
    """Before each request: read the config again if its file changed since it was read."""
    # Each use of Flask's request, current_app or g looks the context up again: on a
    # cached feed those lookups were a fifth of the request's time (issue 16), so each
    # function here takes the object once.
    app = _current(current_app)
    path = app.config["FEEDTOOL_CONFIG"]
    stamp = files.stamp(path)
    if stamp is None or stamp == app.extensions["feedtool.stamp"]:
        return  # unchanged, or missing while an editor replaces it: keep what is loaded
    app.extensions["feedtool.stamp"] = stamp
    try:
        config = load(path)
    except ConfigError as exc:
        # Serving the last valid config beats failing every request over a half-done edit.
        log.error("%s\nstill serving the config read before", exc)
        return
    app.extensions["feedtool"] = config  # the render cache's keys carry the config's digest
    log.info("config %s changed: reloaded", path)


def _bound_query() -> Response | None:
    """Refuse a query string too long or with too many parameters, before any work."""
    req = _current(request)
    if len(req.query_string) > MAX_QUERY:
        return _text(414, f"414 URI Too Long: the query string is over {MAX_QUERY:,} bytes\n")
    count = sum(len(values) for values in req.args.listvalues())
    if count > MAX_PARAMS:
        return _text(400, f"400 too many query parameters: {count}, at most {MAX_PARAMS}\n")
    return None


def _listener() -> str | None:
    """Whose access key the request's ``?key=`` is, if anyone's."""
    return access.listener(_config().server.access_keys, request.args.get("key"))


def _config() -> Config:
    config: Config = current_app.extensions["feedtool"]
    return config


def _publisher() -> Publisher:
    """This thread's publisher, its store checked once per request (issue 16: the
    connection is kept, and a cached feed reads only the store's data version)."""
    context = _current(g)
    if "publisher" not in context:
        app = _current(current_app)
        config: Config = app.extensions["feedtool"]
        kept = app.extensions["feedtool.kept"]
        store: ServingStore | None = getattr(kept, "store", None)
        if store is None or (store.path, store.busy_timeout) != (config.store, config.server.busy_timeout):
            if store is not None:
                store.close()
            # Read-only: only `feedtool refresh` creates or migrates a store; a server that
            # made an empty one would serve empty feeds for apps and CDNs to cache (issue 9).
            store = kept.store = ServingStore(config.store, config.server.busy_timeout)
        store.check()
        publisher: Publisher | None = getattr(kept, "publisher", None)
        if publisher is None or publisher.config is not config or publisher.store is not store:
            publisher = kept.publisher = Publisher(config, store, app.extensions["feedtool.cache"])
        context.publisher = publisher
    found: Publisher = context.publisher
    return found


def _base_url() -> str:
    """Where feedtool is served: base_url from the config, else the request's host."""
    return _config().base_url or request.host_url.rstrip("/")


def _query(keep_key: bool) -> str:
    """The request's query string; without its ``key`` unless asked (a public feed's
    self link does not repeat a key it was given)."""
    query = request.query_string.decode("utf-8", "replace")
    if keep_key or "key" not in request.args:
        return query
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "key"])


def _self_url(private: bool = False) -> str:
    """The URL that was asked for, under the configured base URL if any; a private
    feed's keeps the key it was asked with, so that apps re-fetching it are let in."""
    req = _current(request)
    return _self_url_of(
        _config().base_url,
        req.scheme,
        req.host,
        req.root_path,
        req.path,
        req.query_string,
        private or "key" not in req.args,
    )


@functools.lru_cache(maxsize=512)
def _self_url_of(base_url: str, scheme: str, host: str, root: str, path: str, query_string: bytes, keep: bool) -> str:
    """_self_url from what decides it, remembered: werkzeug's URL building was a sixth
    of a cached feed request's time (issue 16). ``keep``: keep the query as it is."""
    host_url = get_current_url(scheme, host).rstrip("/")  # request.host_url
    base = base_url or host_url
    query = query_string.decode("utf-8", "replace")
    if not keep:
        query = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "key"])
    if base == host_url and query == query_string.decode("utf-8", "replace"):
        return get_current_url(scheme, host, root, path, query_string)  # request.url
    return f"{base}{path}" + (f"?{query}" if query else "")


def _filter_of(query_string: bytes) -> Filter:
    """The filter of the current request, whose query string this is: parsed once per
    query string (a FilterError is raised each time, never remembered), except a filter
    with regular expressions: its compiled patterns stay in patterns.py's small cache,
    which bounds what a client sending many patterns can make a worker hold (issue 9)."""
    args = request.args
    if any(param in args for param in REGEX_PARAMS):
        return parse_filter(args.to_dict(flat=False))
    return _plain_filter_of(query_string)


@functools.lru_cache(maxsize=512)
def _plain_filter_of(query_string: bytes) -> Filter:
    return parse_filter(request.args.to_dict(flat=False))


def _no_feed(name: str, fmt: str) -> Response:
    """The 404 of a feed that does not exist, and of a private one without a valid key."""
    return _text(404, f"no feed {name}.{fmt}: see / for the list")


# --- routes -------------------------------------------------------------------------


def feed(name: str, fmt: str) -> Response:
    """GET /feeds/<name>.<rss|atom|json>, filtered by the query parameters."""
    feed_config = _config().feed(name)
    # Before anything else, filters included: a 400 would tell that a private feed exists.
    if fmt not in FORMATS or feed_config is None or not feed_config.readable_by(_listener()):
        return _no_feed(name, fmt)
    private = feed_config.private
    try:
        flt = _filter_of(request.query_string)
    except FilterError as exc:
        return _text(400, f"{exc}\n")
    publisher = _publisher()
    try:
        publisher.check_tags(name, flt)
    except FilterError as exc:
        return _text(400, f"{exc}\n")
    self_url = _self_url(private)
    try:
        validators = publisher.validators(name, fmt, flt, self_url)
    except UnknownFeed:
        return _text(404, f"no feed {name}.{fmt}")
    compress = _accepts_gzip()
    etag = _variant_etag(validators.etag, compress)
    if _not_modified(validators, etag):
        return _with_validators(Response(status=304), validators, etag, private)
    try:
        rendered = publisher.feed(name, fmt, flt, self_url, validators)
    except FilterError as exc:
        return _text(400, f"{exc}\n")
    return _send(rendered, compress, etag, private)


def feed_without_format(name: str) -> Response:
    """GET /feeds/<name>: a 404 that names the three URLs of the feed, if it exists."""
    feed_config = _config().feed(name)
    if feed_config is None or not feed_config.readable_by(_listener()):
        return _text(404, f"no feed {name}: see / for the list")
    query = _query(keep_key=feed_config.private)
    urls = "".join(f"  {_base_url()}/feeds/{name}.{fmt}" + (f"?{query}" if query else "") + "\n" for fmt in FORMATS)
    return _text(404, f"no feed {name}: a feed URL ends in its format, one of\n{urls}")


def index() -> Response:
    """GET /: every public show and named feed, with subscribe links and refresh status;
    with a valid ``?key=``, also the private ones that key reads."""
    listener = _listener()
    publisher, key = _publisher(), request.args.get("key")
    etag = publisher.index_etag(_base_url(), listener=listener, key=key, root=request.script_root)
    if request.if_none_match and request.if_none_match.contains_weak(etag.strip('"')):
        response = Response(status=304)
    else:
        body = publisher.index(_base_url(), listener=listener, key=key, root=request.script_root)
        response = Response(body, content_type=html.CONTENT_TYPE)
    response.headers["ETag"] = etag
    return _page_headers(_listing(response, listener), bool(listener))


def show_page(show_id: str) -> Response:
    """GET /shows/<id>: the show's episode browser, filtered by the feed's query parameters."""
    return _page("show", show_id, None)


def episode_page(show_id: str, episode_id: int) -> Response:
    """GET /shows/<id>/episodes/<episode id>: an episode's show notes and audio player."""
    return _page("episode", show_id, episode_id)


def _page(kind: str, show_id: str, episode_id: int | None) -> Response:
    """A page for people: a 404 for an unknown or unreadable show, a redirect without
    empty parameters, a 304 when unchanged, else the page, conditional like the feeds."""
    listener = _listener()
    publisher = _publisher()
    if not pages.readable_show(publisher, show_id, listener):
        return _no_show(show_id)  # before anything else: a 400 or 302 would tell that it exists
    pairs = list(request.args.items(multi=True))
    if pages.blank_params(pairs):
        # An empty form control means "any": the canonical URL leaves it out.
        query = urlencode(pages.without_blanks(pairs))
        moved = Response(status=302)
        moved.headers["Location"] = f"{request.script_root}{request.path}" + (f"?{query}" if query else "")
        return _page_headers(moved, _config().shows[show_id].private)
    private = _config().shows[show_id].private
    req = pages.Request(show_id, pairs, _base_url(), request.script_root, listener, request.args.get("key"))
    etag = pages.etag(publisher, kind if episode_id is None else f"{kind}/{episode_id}", req)
    if request.if_none_match and request.if_none_match.contains_weak(etag.strip('"')):
        response = Response(status=304)
    else:
        try:
            if episode_id is None:
                status, body = pages.browser(publisher, req)
            else:
                status, body = 200, pages.episode_page(publisher, req, episode_id)
        except pages.UnknownPage:
            return _no_show(show_id) if episode_id is None else _text(404, f"no episode {episode_id} in {show_id}\n")
        response = Response(body, status=status, content_type=html.CONTENT_TYPE)
    if response.status_code != 400:
        response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache" if private else "no-cache"
    return _page_headers(response, private)


def _no_show(show_id: str) -> Response:
    """The 404 of a show that does not exist, and of a private one without a valid key."""
    return _page_headers(_text(404, f"no show {show_id}: see / for the list\n"), False)


def _page_headers(response: Response, private: bool) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A private page's URLs hold a key: no Referer may carry it to an artwork or audio host.
    response.headers["Referrer-Policy"] = "no-referrer" if private else "strict-origin-when-cross-origin"
    return response


def feeds_opml() -> Response:
    """GET /feeds.opml: every public feed, for importing into a podcast app; with a
    valid ``?key=``, also the private feeds that key reads, their URLs carrying it."""
    listener = _listener()
    body = _publisher().opml(_base_url(), listener=listener, key=request.args.get("key"))
    return _listing(Response(body, content_type=opml.CONTENT_TYPE), listener)


def _listing(response: Response, listener: str | None) -> Response:
    response.headers["Cache-Control"] = "private, no-cache" if listener else "no-cache"
    if listener:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def healthz() -> Response:
    """GET /healthz: each source's last refresh; 503 when one has not succeeded lately."""
    config = _config()
    now = datetime.now(UTC)
    limit = timedelta(seconds=config.server.stale_after)
    states = {(s.show_id, s.kind, s.location): s for s in _publisher().store.source_states()}
    sources = []
    healthy = True
    locations = [s.location for show in config.shows.values() for s in show.sources]
    for show in config.shows.values():
        for source in show.sources:
            if show.private:
                # Counted in the status, never named: a private show is not on public pages.
                state = states.get((show.id, source.kind, source.location))
                success = state.last_success if state else None
                healthy = healthy and success is not None and now - success <= limit
                continue
            state = states.get((show.id, source.kind, source.location))
            success = state.last_success if state else None
            fresh = success is not None and now - success <= limit
            healthy = healthy and fresh
            sources.append(
                {
                    "show": show.id,
                    "kind": source.kind,
                    # Public: kind and host only; the stored error may predate masking, so mask it here.
                    "location": public_location(source.kind, source.location),
                    "status": state.status if state else None,
                    "last_attempt": format_iso(state.last_attempt if state else None),
                    "last_success": format_iso(success),
                    "error": public_text(state.error, locations) if state and state.error else None,
                    "fresh": fresh,
                }
            )
    response = jsonify({"status": "ok" if healthy else "stale", "version": __version__, "sources": sources})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


# --- HTTP caching -------------------------------------------------------------------


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def _variant_etag(etag: str, compressed: bool) -> str:
    """Strong ETags differ per content coding (RFC 9110, 8.8.3)."""
    return etag[:-1] + '-gzip"' if compressed else etag


def _not_modified(validators: Validators, etag: str) -> bool:
    """If-None-Match decides when present; else If-Modified-Since (RFC 9110, 13.2.2)."""
    req = _current(request)
    if_none_match = req.if_none_match
    if if_none_match:
        if if_none_match.star_tag:
            return True
        return any(if_none_match.contains_weak(tag.strip('"')) for tag in (etag, validators.etag))
    since = req.if_modified_since
    if since is not None:
        return validators.last_modified.replace(microsecond=0) <= since.astimezone(UTC)
    return False


@functools.lru_cache(maxsize=256)
def _http_date(moment: datetime) -> str:
    """An HTTP date, formatted once per moment (each cached feed request sends one)."""
    return http_date(moment)


def _with_validators(response: Response, validators: Validators, etag: str, private: bool = False) -> Response:
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = _http_date(validators.last_modified)
    # A private feed is for the app that asked only: no shared cache (a CDN) may keep it.
    response.headers["Cache-Control"] = f"{'private' if private else 'public'}, max-age={_config().server.max_age}"
    response.headers["Vary"] = "Accept-Encoding"
    if private:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _send(rendered: Rendered, compress: bool, etag: str, private: bool = False) -> Response:
    body = rendered.body
    response = Response(content_type=rendered.content_type)
    if compress and len(body) >= GZIP_MIN:
        cache: RenderCache = current_app.extensions["feedtool.cache"]
        packed = cache.get(etag)
        if packed is None:
            packed = Rendered(gzip.compress(body, compresslevel=6, mtime=0), rendered.content_type, rendered.validators)
            cache.put(etag, packed)
        response.set_data(packed.body)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.set_data(body)
        etag = rendered.validators.etag
    return _with_validators(response, rendered.validators, etag, private)


# --- errors -------------------------------------------------------------------------


def _text(status: int, message: str) -> Response:
    return Response(message, status=status, content_type="text/plain; charset=utf-8")


def _http_error(exc: HTTPException) -> Response:
    return _text(exc.code or 500, f"{exc.code} {exc.name}\n")


def _store_error(exc: StoreError) -> Response:
    """503 on every route, with the cause on one line; never cached, so that no app
    or CDN keeps the answer once the store is back."""
    log.error("store unavailable: %s", exc)
    store = _config().store
    # No server paths; a PostgreSQL store's messages name it already masked (operator_location).
    message = " ".join((str(exc).replace(str(store), store.name) if isinstance(store, Path) else str(exc)).split())
    response = _text(503, f"503 store unavailable: {message}\n")
    response.headers["Cache-Control"] = "no-store"
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.path)
    return _text(500, "internal error\n")
