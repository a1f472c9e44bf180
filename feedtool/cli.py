"""The ``feedtool`` command: a thin click layer over the library.

Exit codes: 0 success; 1 a source failed (the others were stored), a lint error, or
a link ``add`` cannot resolve into a source; 2 a config or usage error; 3 another
refresh holds the lock.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from feedtool import __version__
from feedtool.config import ENV_VAR, Config, config_path, load, parse
from feedtool.errors import ConfigEditError, ConfigError, FeedtoolError, FilterError, LockedError, QueueError
from feedtool.filters import PARAMS, REGEX_PARAMS, Filter, check_tags, combine, parse_filter
from feedtool.model import is_empty
from feedtool.normalize.dates import format_iso
from feedtool.normalize.durations import format_clock
from feedtool.redact import MaskingFormatter, mask_text, operator_location

if TYPE_CHECKING:
    from feedtool.refresh import SourceResult

F = TypeVar("F", bound=Callable[..., Any])


class UsageProblem(click.ClickException):
    """A config or usage error: exit code 2."""

    exit_code = 2


class Locked(click.ClickException):
    exit_code = 3


class State:
    """The loaded config, read once on first use (``--help`` needs none)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load(self.path)
            except ConfigError as exc:
                raise UsageProblem(str(exc)) from exc
        return self._config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help=f"config file [default: ${ENV_VAR}, else ./config.yaml]",
)
@click.option("-v", "--verbose", count=True, help="more log output (-vv for debug)")
@click.version_option(__version__, prog_name="feedtool")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Republish podcast feeds: fetch, clean, merge, tag, filter, serve.

    \b
    Example:
        feedtool --config config.yaml refresh
        feedtool --config config.yaml serve
    """
    level = logging.WARNING - 10 * verbose
    # Log lines name URLs (a retry, urllib3's debug lines): masked as the CLI shows them.
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=[handler])
    ctx.obj = State(config_path)


_REGEX_HELP = {
    "filter": "RSSHub: regex; keep episodes whose title, description or a category matches",
    "filter_title": "RSSHub: regex on the title only",
    "filter_description": "RSSHub: regex on the description only",
    "filter_category": "RSSHub: regex on the categories only",
    "filterout": "RSSHub: regex; drop episodes whose title or description matches",
    "filterout_title": "RSSHub: drop on the title",
    "filterout_description": "RSSHub: drop on the description",
    "filterout_category": "RSSHub: drop on the categories",
}


def filter_options(func: F) -> F:
    """The filter flags shared by commands; same names and values as the query parameters."""
    options = [
        click.option("--tag", multiple=True, help="keep episodes with any of these tags (repeat or a,b)"),
        click.option("--exclude-tag", multiple=True, help="drop episodes with any of these tags"),
        click.option("--q", "q", help="words that must all appear in the title or description"),
        click.option(
            "--since", help="on or after this date (YYYY-MM-DD) or ISO 8601 time, or within a window: 30d, 2w, 12h"
        ),
        click.option("--until", help="on or before this date or time"),
        click.option("--min-duration", help="at least this long: seconds, 90m, 1h30m, 1:30:00"),
        click.option("--max-duration", help="at most this long"),
        click.option("--limit", help="at most this many episodes (1-1000)"),
        click.option("--sort", help="newest (default) or oldest first"),
        *[click.option(f"--{name.replace('_', '-')}", name, help=_REGEX_HELP[name]) for name in REGEX_PARAMS],
        click.option("--filter-time", help="RSSHub: only episodes of the last N seconds"),
        click.option("--filter-case-sensitive", help="RSSHub: true (default) or false, for the regex flags"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filter(params: dict[str, Any]) -> Filter:
    """Filter flags (popped from params) as a Filter; a bad value is a usage error."""
    values = {name: params.pop(name, None) for name in PARAMS}
    try:
        return parse_filter({k: v for k, v in values.items() if not is_empty(v)})
    except FilterError as exc:
        flag = "--" + exc.param.replace("_", "-")
        raise UsageProblem(f"{flag} {exc.value!r}: expected {exc.accepted}") from exc


class Progress:
    """A live "done/total" line on a terminal, above which results scroll; nothing
    when not on a terminal (cron), where each result is one plain line, with
    ``timestamps`` prefixed by the time in ISO 8601."""

    def __init__(self, total: int, *, enabled: bool, timestamps: bool = False) -> None:
        self.total = total
        self.timestamps = timestamps
        self.done = 0
        self.failed = 0
        self.enabled = enabled
        self._lock = threading.Lock()

    def report(self, result: SourceResult) -> None:
        with self._lock:
            self.done += 1
            self.failed += result.status == "failed"
            self.clear()
            self.echo(result.describe())
            self.show()

    def echo(self, line: str) -> None:
        """A line on stdout, after the current time when output goes to a log."""
        if self.timestamps:
            line = f"{format_iso(datetime.now(UTC))} {line}"
        click.echo(line)

    def show(self) -> None:
        if self.enabled and self.done < self.total:
            failed = f", {self.failed} failed" if self.failed else ""
            click.echo(f"\r\x1b[Krefreshing: {self.done} of {self.total} sources done{failed}", nl=False, err=True)

    def clear(self) -> None:
        if self.enabled:
            click.echo("\r\x1b[K", nl=False, err=True)


@main.command()
@click.argument("shows", nargs=-1)
@click.option("--wait", is_flag=True, help="wait for a running refresh instead of exiting with code 3")
@click.option("--enqueue", is_flag=True, help="queue one job per source for `feedtool worker` (PostgreSQL store)")
@click.pass_obj
def refresh(state: State, /, shows: tuple[str, ...], wait: bool, enqueue: bool) -> None:
    """Fetch every source of the named shows (default: all) and store what is new.

    Prints one line per source (new / updated / unchanged / failed) and a summary.
    Exits 0 when every source succeeded, 1 when any failed (the others are stored),
    3 when another refresh is running.

    \b
    Example (crontab, every 30 minutes):
        */30 * * * * feedtool --config /srv/feedtool/config.yaml refresh
    """
    from feedtool.refresh import refresh as run_refresh
    from feedtool.refresh import refresh_lock

    config = state.config
    unknown = [s for s in shows if s not in config.shows]
    if unknown:
        raise UsageProblem(f"unknown show {', '.join(map(repr, unknown))} (configured: {', '.join(config.shows)})")
    if enqueue:
        _enqueue(config, shows)
        return
    total = sum(len(config.shows[s].sources) for s in shows or config.shows)
    # Lines in a cron log or mail need their time; on a terminal the reader knows it.
    progress = Progress(total, enabled=sys.stderr.isatty(), timestamps=not sys.stdout.isatty())
    try:
        with refresh_lock(config.store, wait=wait):
            progress.show()
            report = run_refresh(config, shows, on_result=progress.report)
    except LockedError as exc:
        raise Locked(str(exc)) from exc
    except FeedtoolError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        progress.clear()
    progress.echo(report.summary())
    if not report.ok:
        sys.exit(1)


def _enqueue(config: Config, shows: tuple[str, ...]) -> None:
    from feedtool.queue import enqueue, require_postgresql

    try:
        require_postgresql(config)
        queued, skipped = enqueue(config, shows)
    except QueueError as exc:
        raise UsageProblem(str(exc)) from exc
    except FeedtoolError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{queued} sources queued; {skipped} already queued")


@main.command()
@click.option(
    "-c",
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 16),
    help="jobs at a time (more: run more processes)",
)
@click.option("--burst", is_flag=True, help="exit 0 once no job is waiting or running")
@click.option(
    "--stalled-after",
    default=30.0,
    show_default=True,
    type=click.FloatRange(3, 3600),
    help="seconds without a heartbeat (each worker sends one a second) after which its jobs are retried by another",
)
@click.pass_obj
def worker(state: State, /, concurrency: int, burst: bool, stalled_after: float) -> None:
    """Run the refresh jobs that `feedtool refresh --enqueue` queued (PostgreSQL store).

    Each job refreshes one source; any number of workers on any number of machines
    share the queue, with one request at a time per upstream host among them all.
    Without --burst it runs until stopped (SIGINT, SIGTERM).

    \b
    Example (crontab, every 30 minutes; workers run as services):
        */30 * * * * feedtool --config /srv/feedtool/config.yaml refresh --enqueue
        feedtool --config /srv/feedtool/config.yaml worker --concurrency 4
    """
    from feedtool.queue import require_postgresql, work

    config = state.config
    try:
        require_postgresql(config)
    except QueueError as exc:
        raise UsageProblem(str(exc)) from exc
    timestamps = not sys.stdout.isatty()

    def report(result: SourceResult) -> None:
        line = result.describe()
        click.echo(f"{datetime.now(UTC).isoformat(timespec='seconds')} {line}" if timestamps else line)

    try:
        work(config, concurrency=concurrency, burst=burst, stalled_after=stalled_after, on_result=report)
    except FeedtoolError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("show")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="a JSON array instead of a table")
@click.pass_obj
def episodes(state: State, /, show: str, as_json: bool, **params: Any) -> None:
    """List the stored episodes of SHOW (a show or a named feed), newest first, filtered like the feeds.

    \b
    Example:
        feedtool episodes interconnects --tag open-models --since 2026-01-01
        feedtool episodes interconnects --json --limit 5
    """
    from feedtool.store import open_store

    flt = _filter(params)
    config = state.config
    feed = config.feed(show)
    if feed is None:
        raise UsageProblem(f"unknown show {show!r} (configured: {', '.join(config.feed_names())})")
    # A named feed lists what its feed holds, narrowed by the flags, as /feeds/<name>?... does.
    flt = combine((feed.filter, flt))
    try:
        with open_store(config.store, read_only=True, busy_timeout=config.server.busy_timeout) as store:
            check_tags(flt, [*(r.name for r in config.shows[feed.show].tags), *store.tag_counts(feed.show)])
            found = store.episodes(feed.show, flt, regex_seconds=config.server.regex_timeout)
    except FilterError as exc:
        raise UsageProblem(f"--{exc.param.replace('_', '-')} {exc.value!r}: expected {exc.accepted}") from exc
    except FeedtoolError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([_episode_json(e) for e in found], ensure_ascii=False, indent=2))
        return
    for stored in found:
        e = stored.data
        date = stored.sort_time.strftime("%Y-%m-%d")
        click.echo(f"{date}  {format_clock(e.duration):>8}  {','.join(stored.tags):<20.20}  {e.title}")


def _episode_json(stored: Any) -> dict[str, Any]:
    e = stored.data
    return {
        "guid": e.guid,
        "title": e.title,
        "published": format_iso(e.published),
        "duration": e.duration,
        "tags": sorted(stored.tags),
        "enclosure": (
            {"url": e.enclosure.url, "type": e.enclosure.type, "length": e.enclosure.length} if e.enclosure else None
        ),
        "link": e.link,
        "image": e.image,
        "description": e.description,
    }


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_obj
def serve(state: State, /, host: str, port: int) -> None:
    """Serve the feeds with Flask's development server.

    For production, run gunicorn (see the README):
    FEEDTOOL_CONFIG=config.yaml gunicorn 'feedtool.web:create_app()'

    \b
    Example:
        feedtool --config config.yaml serve --port 8000
    """
    from feedtool.access import KeyMaskingFilter
    from feedtool.web import create_app

    # werkzeug logs each request line, query string and all: private feeds' keys masked.
    logging.getLogger("werkzeug").addFilter(KeyMaskingFilter())
    app = create_app({"FEEDTOOL_CONFIG": str(state.config.path)})
    click.echo(f"serving {', '.join(state.config.feed_names())} on http://{host}:{port}/")
    app.run(host=host, port=port)


@main.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="output folder")
@click.option("--base-url", required=True, help="the URL the folder will be served at")
@click.option(
    "--private",
    is_flag=True,
    help="also write each listener's private feeds into a folder of their own, private/<token>/, and print its URL",
)
@filter_options
@click.pass_obj
def export(state: State, /, out: Path, base_url: str, private: bool, **params: Any) -> None:
    """Write the site as static files: feeds, index.html and feeds.opml.

    Each file is written atomically; files whose content did not change are left
    untouched, so a CDN or rsync sees only real changes. The filter flags apply to
    every exported feed at once (each show's and each named feed's, combined with
    its own filter), for a site that serves, say, only the last year.

    Private shows and feeds are left out, unless --private is given: then each
    listener of server.access_keys gets a folder whose unguessable name comes from
    their key, with every feed they may read; its URL is printed. An export without
    --private, or after a key is removed or changed, removes the folders it did not write.

    \b
    Example:
        feedtool export --out public --base-url https://feeds.example.org
    """
    from feedtool.export import export_site

    flt = _filter(params)
    if not base_url.startswith(("http://", "https://")):
        raise UsageProblem(f"--base-url {base_url!r}: expected an http:// or https:// URL")
    if private and not state.config.server.access_keys:
        raise UsageProblem("--private: the config has no server.access_keys, so there is no listener to export for")
    try:
        done = export_site(state.config, out, base_url.rstrip("/"), flt, private=private)
    except FilterError as exc:
        raise UsageProblem(str(exc)) from exc
    except FeedtoolError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{out}: {done.written} files written, {done.kept} unchanged")
    for listener, url in done.private.items():
        click.echo(f"private feeds of {listener}: {url}")
    if done.private:
        click.echo("(anyone with one of these URLs can read those feeds: give each only to its listener)")


@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--feed", "url", metavar="URL", help="your show's feed (or radio.net page) URL [default: a placeholder]")
@click.option("--show", default="my-show", show_default=True, help="the show id: a-z, 0-9 and '-', used in URLs")
@click.pass_obj
def init(state: State, /, path: Path | None, url: str | None, show: str) -> None:
    """Write a commented config for your own show to PATH (default: as --config).

    The config has one show with one source, a tag rule and a named feed filtered
    by it. An existing file is never overwritten.

    \b
    Example:
        feedtool init my-show.yaml --feed https://example.org/podcast.rss
        feedtool --config my-show.yaml check
    """
    from feedtool.starter import starter_config

    target = path or config_path(state.path)
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageProblem(f"--feed {url!r}: expected an http:// or https:// URL, such as http://{url}")
    text = starter_config(show, url, target.name)
    try:
        parse(text, target)  # the same checks as every later run, e.g. of the show id
    except ConfigError as exc:
        raise UsageProblem(f"the config would be invalid: {'; '.join(exc.problems)}") from exc
    try:
        with target.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError as exc:
        raise UsageProblem(f"{target} already exists; not overwriting it (give another PATH)") from exc
    except OSError as exc:
        raise UsageProblem(f"{target}: cannot write: {exc}") from exc
    click.echo(f"wrote {target}" + ("" if url else "; replace the placeholder feed URL in it"))
    click.echo(f"next: feedtool --config {target} check, then refresh, then serve")


@main.command()
@click.argument("url")
@click.option("--id", "show_id", metavar="ID", help="the show id: a-z, 0-9 and '-' [default: from the title]")
@click.option("--dry-run", is_flag=True, help="print what would be added; change nothing")
@click.option(
    "--apple-lookup",
    metavar="URL",
    envvar="FEEDTOOL_APPLE_LOOKUP",
    help="Apple Podcasts' lookup API [default: https://itunes.apple.com/lookup; env FEEDTOOL_APPLE_LOOKUP]",
)
@click.option(
    "--radionet-api",
    metavar="URL",
    envvar="FEEDTOOL_RADIONET_API",
    help="radio.net's episode API, written as the source's api [default: radio.net's own; env FEEDTOOL_RADIONET_API]",
)
@click.pass_obj
def add(
    state: State, /, url: str, show_id: str | None, dry_run: bool, apple_lookup: str | None, radionet_api: str | None
) -> None:
    """Add a show from a link: its feed, its website, its Apple Podcasts page or its radio.net page.

    Finds the show's feed (a website's <link rel="alternate">, Apple's directory),
    reads it as a refresh would, prints the title, the episodes and the newest one,
    and appends the show to the config, leaving the rest of the file as it was.
    Exits 1 when the link leads to no feed, 2 on a config or usage error; either
    way nothing is changed.

    \b
    Example:
        feedtool add https://example.org/podcast.rss --dry-run
        feedtool add https://podcasts.apple.com/us/podcast/some-show/id1234567890 --id some-show
    """
    from feedtool.add import APPLE_LOOKUP, append_show, check_id, discover, newest, unique_id, write_config
    from feedtool.fetch import Fetcher

    if not url.startswith(("http://", "https://")) or not urlsplit(url).hostname:
        raise UsageProblem(f"{url!r}: expected an http:// or https:// URL, such as https://{url}")
    for flag, value in (("--apple-lookup", apple_lookup), ("--radionet-api", radionet_api)):
        if value is not None and not (value.startswith(("http://", "https://")) and urlsplit(value).hostname):
            raise UsageProblem(f"{flag} {value!r}: expected an http:// or https:// URL")
    path = config_path(state.path)
    if not path.exists():
        raise UsageProblem(f"{path} does not exist: write one with `feedtool init {path}` first, or give --config")
    config = state.config
    taken = (list(config.shows), list(config.feeds))
    try:
        if show_id is not None:
            check_id(show_id, *taken)
        before = config.path.read_bytes()
        text = before.decode("utf-8")
    except (ConfigEditError, OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(
            f"--id {exc}; nothing changed" if isinstance(exc, ConfigEditError) else f"{path}: {exc}"
        ) from exc
    fetcher = Fetcher(config.fetch)
    try:
        found = discover(
            url, fetcher, show_id=show_id or "new-show", lookup=apple_lookup or APPLE_LOOKUP, radionet_api=radionet_api
        )
    except FeedtoolError as exc:
        raise click.ClickException(f"{exc}; nothing changed") from exc
    finally:
        fetcher.close()
    for source in found.sources:
        for other in config.shows.values():
            if any((s.kind, s.location) == (source.kind, source.location.rstrip("/")) for s in other.sources):
                where = operator_location(source.location)
                raise UsageProblem(f"{where} is already a source of the show {other.id!r}; nothing changed")
    chosen = show_id or unique_id(found.title, {*taken[0], *taken[1]})
    click.echo(f"found {found.title or '(untitled)'}: {found.how}")
    for item in found.found:
        episodes = item.listing.episodes
        latest = newest(episodes)
        when = f"{latest.published:%Y-%m-%d} " if latest is not None and latest.published else ""
        about = f", newest {when}{latest.title!r}" if latest is not None else ""
        count = f"{len(episodes)} episode{'s' * (len(episodes) != 1)}"
        click.echo(f"  {item.source.kind} {operator_location(item.source.location)}: {count}{about}")
    for note in found.notes:
        click.echo(f"note: {note}")
    try:
        addition = append_show(text, chosen, found.sources)
        parse(addition.text, config.path)  # exactly the checks of every later run
    except ConfigEditError as exc:
        raise UsageProblem(f"{path}: {exc}; nothing changed") from exc
    except ConfigError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        raise UsageProblem(f"{path} would be invalid with the show added, so nothing changed:\n{problems}") from exc
    if dry_run:
        click.echo(f"would add to {path} (dry run: nothing changed):")
        click.echo(addition.added.strip("\r\n"))
        return
    try:
        write_config(config.path, before, addition.text)
    except ConfigEditError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added to {path}:")
    click.echo(addition.added.strip("\r\n"))
    click.echo(f"next: feedtool --config {path} refresh {chosen}")


@main.command()
@click.pass_obj
def check(state: State, /) -> None:
    """Check the config without fetching anything: exit 2 listing every problem, else 0 with a summary.

    \b
    Example:
        feedtool --config my-show.yaml check
    """
    config = state.config
    click.echo(f"{config.path}: ok; store {operator_location(str(config.store))}")
    for name, show in config.shows.items():
        sources = ", ".join(f"{s.kind} {operator_location(s.location)}" for s in show.sources)
        tags = ", ".join(rule.name for rule in show.tags) or "none"
        click.echo(f"show {name}: {len(show.sources)} source{'s' * (len(show.sources) != 1)} ({sources}); tags: {tags}")
    for name, feed in config.feeds.items():
        click.echo(f"feed {name}: {feed.show}, {feed.filter.describe() or 'unfiltered'}")


@main.command(name="lint")
@click.argument("feed")
def lint_command(feed: str) -> None:
    """Check whether a podcast feed (a URL or a file) will be accepted by podcast apps.

    Reports each problem with the item it concerns and its severity, after Apple
    Podcasts' requirements and the RSS Best Practices Profile. Exits 1 when any
    error is found.

    \b
    Example:
        feedtool lint http://127.0.0.1:8000/feeds/interconnects.rss
        feedtool lint saved-feed.xml
    """
    from feedtool.config import FetchConfig
    from feedtool.fetch import Fetcher
    from feedtool.lint import lint

    fetcher = Fetcher(FetchConfig())
    try:
        body = fetcher.get(feed).body
    except FeedtoolError as exc:
        raise click.ClickException(f"{operator_location(feed)}: {mask_text(str(exc))}") from exc
    finally:
        fetcher.close()
    problems = lint(body)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    click.echo(f"{operator_location(feed)}: {counts}")
    if errors:
        sys.exit(1)
