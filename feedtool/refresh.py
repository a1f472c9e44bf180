"""Orchestration: for each source, fetch -> parse and follow (by its kind) -> normalize/tag -> store.

A failing source is recorded and reported; it never stops the others and never
touches what is stored. Shows are refreshed concurrently (a small pool); the sources
of one show in config order, so that a show's first source decides its GUIDs.
A lock file keeps two refreshes of one store from overlapping.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from feedtool.config import Config, ShowConfig, SourceConfig
from feedtool.errors import LockedError, SourceError, StoreError
from feedtool.fetch import Fetcher
from feedtool.sources import KINDS, ParseContext
from feedtool.store import Counts, FetchMeta, Store

log = logging.getLogger(__name__)

Status = Literal["new", "updated", "unchanged", "failed"]


@dataclass(frozen=True)
class SourceResult:
    """How one source's refresh went."""

    show_id: str
    source: SourceConfig
    status: Status
    counts: Counts = field(default_factory=Counts)
    error: str | None = None
    warnings: tuple[str, ...] = ()
    moved_to: str | None = None  # a permanent redirect or itunes:new-feed-url
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for people and logs."""
        where = f"{self.show_id} {self.source.kind} {self.source.location}"
        if self.status == "failed":
            return f"{where}: failed: {self.error}"
        c = self.counts
        text = f"{where}: {self.status}"
        if c.new or c.updated or c.unchanged:
            text += f" ({c.new} new, {c.updated} updated, {c.unchanged} unchanged)"
        if self.warnings:
            text += f"; {len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}"
        if self.moved_to:
            text += f"; moved to {self.moved_to}: update config.yaml"
        return text


@dataclass(frozen=True)
class Report:
    results: tuple[SourceResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)

    def summary(self) -> str:
        failed = sum(r.status == "failed" for r in self.results)
        new = sum(r.counts.new for r in self.results)
        updated = sum(r.counts.updated for r in self.results)
        return (
            f"{len(self.results)} sources: {len(self.results) - failed} ok, {failed} failed; "
            f"{new} new and {updated} updated episodes"
        )


def refresh(
    config: Config,
    show_ids: Sequence[str] = (),
    *,
    on_result: Callable[[SourceResult], None] | None = None,
) -> Report:
    """Refresh the named shows (default: all) and report every source."""
    shows = [config.shows[s] for s in (show_ids or config.shows)]
    fetcher = Fetcher(config.fetch)
    try:
        with ThreadPoolExecutor(max_workers=config.fetch.concurrency, thread_name_prefix="refresh") as pool:
            futures = [pool.submit(_refresh_show, config, show, fetcher, on_result) for show in shows]
            results = [result for future in futures for result in future.result()]
    finally:
        fetcher.close()
    return Report(tuple(results))


def _refresh_show(
    config: Config,
    show: ShowConfig,
    fetcher: Fetcher,
    on_result: Callable[[SourceResult], None] | None,
) -> list[SourceResult]:
    results = []
    with Store(config.store) as store:
        rules_changed = store.rules_digest(show.id) != show.rules_digest
        if rules_changed:
            changed = store.retag(show)
            log.info("%s: tag or strip rules changed; %d stored episodes updated", show.id, changed)
        for source in show.sources:
            result = refresh_source(store, show, source, fetcher, force=rules_changed)
            log.info("%s", result.describe())  # the caller reports results; cron logs once
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


def refresh_source(
    store: Store,
    show: ShowConfig,
    source: SourceConfig,
    fetcher: Fetcher,
    *,
    force: bool = False,
) -> SourceResult:
    """Fetch, parse and store one source; any failure is recorded, not raised."""
    started = time.monotonic()
    try:
        state = store.source_state(show.id, source)
        response = fetcher.get(
            source.location,
            etag=None if force else state.etag,
            last_modified=None if force else state.last_modified,
        )
        meta = FetchMeta(response.etag, response.last_modified, None, response.permanent_redirect)
        moved = response.permanent_redirect
        if response.status == 304:
            store.record_unchanged(show.id, source, meta)
            return SourceResult(show.id, source, "unchanged", moved_to=moved, seconds=time.monotonic() - started)
        digest = response.digest or hashlib.sha256(response.body).hexdigest()
        if digest == state.content_hash and not force:
            store.record_unchanged(show.id, source, meta)
            return SourceResult(show.id, source, "unchanged", moved_to=moved, seconds=time.monotonic() - started)
        context = ParseContext(show_id=show.id, location=response.url, strip=show.strip, charset=response.charset)
        # The kind parses the body and follows it (paging) through the same fetcher.
        listing = KINDS[source.kind].read(response.body, context, source, lambda url: fetcher.get(url).body)
        meta = FetchMeta(response.etag, response.last_modified, digest, response.permanent_redirect)
        counts = store.apply_listing(show, source, listing, meta)
    except (SourceError, StoreError) as exc:
        return _failed(store, show, source, str(exc), started)
    except Exception as exc:  # one source's bug must not stop the others
        log.exception("%s %s: unexpected error", show.id, source.location)
        return _failed(store, show, source, f"internal error: {type(exc).__name__}: {exc}", started)
    status: Status = "new" if counts.new else "updated" if counts.updated else "unchanged"
    return SourceResult(
        show.id,
        source,
        status,
        counts,
        warnings=tuple(listing.warnings),
        moved_to=moved or listing.show.new_feed_url,
        seconds=time.monotonic() - started,
    )


def _failed(store: Store, show: ShowConfig, source: SourceConfig, error: str, started: float) -> SourceResult:
    try:
        store.record_failure(show.id, source, error)
    except StoreError as exc:
        error = f"{error} (and the failure could not be recorded: {exc})"
    return SourceResult(show.id, source, "failed", error=error, seconds=time.monotonic() - started)


@contextmanager
def refresh_lock(store_path: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the store's refresh lock; raise LockedError if another refresh holds it."""
    lock_path = store_path.with_name(store_path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {lock_path}: {exc}") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise LockedError(
                f"another refresh of {store_path} is running (lock {lock_path}); try again later, or use --wait"
            ) from exc
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(handle)
