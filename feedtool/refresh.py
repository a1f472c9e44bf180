"""Orchestration only: for each source, fetch -> parse (by its kind) -> plan -> apply.

Fetching goes through a ``Retriever`` (``feedtool.fetch``), parsing and paging
through the source's kind (``feedtool.sources.KINDS``, which also gives each kind's
merge rank), deciding through the pure update step (``feedtool.update``), storing
through a ``RefreshStore`` (the SQLite ``Store``, or a fake in tests). A failing
source is recorded and reported; it never stops the others and never touches what
is stored. Shows are refreshed concurrently (a small pool); the sources
of one show in config order, so that a show's first source decides its GUIDs.
A lock file keeps two refreshes of one store from overlapping.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from feedtool.config import Config, ShowConfig, SourceConfig
from feedtool.errors import LockedError, SourceError, StoreError
from feedtool.fetch import Fetcher, Response, Retriever
from feedtool.model import Listing, SourceState
from feedtool.patterns import RuleBudget
from feedtool.redact import mask_text, operator_location
from feedtool.sources import KINDS, ParseContext
from feedtool.store import open_store as open_location
from feedtool.store import postgres
from feedtool.update import Counts, FetchMeta, Plan, Row, ShowState, plan_listing, plan_retag

log = logging.getLogger(__name__)

Status = Literal["new", "updated", "unchanged", "failed"]


class RefreshStore(Protocol):
    """What a refresh needs of a store (``feedtool.store.Store`` is one)."""

    def close(self) -> None: ...
    def rules_digest(self, show_id: str) -> str | None: ...
    def show_state(self, show_id: str) -> ShowState: ...
    def source_state(self, show_id: str, source: SourceConfig) -> SourceState: ...
    def record_unchanged(self, show_id: str, source: SourceConfig, meta: FetchMeta) -> None: ...
    def record_failure(self, show_id: str, source: SourceConfig, error: str) -> None: ...
    def apply(self, plan: Plan, meta: FetchMeta) -> None: ...
    def apply_retag(self, show_id: str, updates: Sequence[tuple[int, Row]], rules_digest: str) -> None: ...


def open_store(config: Config) -> RefreshStore:
    """The config's store (a SQLite file or PostgreSQL), created or migrated as needed."""
    return open_location(config.store)


def ranks() -> dict[str, int]:
    """Each kind's merge rank by its key, as the registry has it now, for the update step."""
    return {key: kind.rank for key, kind in KINDS.items()}


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
        """One line for the operator and logs: the location without its secrets."""
        where = f"{self.show_id} {self.source.kind} {operator_location(self.source.location)}"
        if self.status == "failed":
            return f"{where}: failed: {mask_text(self.error or '')}"
        c = self.counts
        text = f"{where}: {self.status}"
        if c.new or c.updated or c.unchanged:
            text += f" ({c.new} new, {c.updated} updated, {c.unchanged} unchanged)"
        if self.warnings:
            text += f"; {len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}"
        if self.moved_to:
            text += f"; moved to {operator_location(self.moved_to)}: update config.yaml"
        return text


@dataclass(frozen=True)
class Report:
    results: tuple[SourceResult, ...]
    #: For each show whose tag or strip rules changed since its last refresh: how many
    #: stored episodes the new rules changed.
    retagged: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)

    def summary(self) -> str:
        failed = sum(r.status == "failed" for r in self.results)
        new = sum(r.counts.new for r in self.results)
        updated = sum(r.counts.updated for r in self.results)
        text = (
            f"{len(self.results)} sources: {len(self.results) - failed} ok, {failed} failed; "
            f"{new} new and {updated} updated episodes"
        )
        for show_id, changed in self.retagged.items():
            text += f"; {show_id}: rules changed, {changed} stored episode{'' if changed == 1 else 's'} retagged"
        return text


def refresh(
    config: Config,
    show_ids: Sequence[str] = (),
    *,
    on_result: Callable[[SourceResult], None] | None = None,
    retriever: Retriever | None = None,
    store: Callable[[Config], RefreshStore] = open_store,
) -> Report:
    """Refresh the named shows (default: all) and report every source.

    ``retriever`` fetches (default: a Fetcher of config.fetch, closed at the end);
    ``store`` opens a store for each show (default: the config's SQLite file).
    """
    shows = [config.shows[s] for s in (show_ids or config.shows)]
    fetcher: Retriever = Fetcher(config.fetch) if retriever is None else retriever
    try:
        with ThreadPoolExecutor(max_workers=config.fetch.concurrency, thread_name_prefix="refresh") as pool:
            futures = [pool.submit(_refresh_show, config, show, fetcher, store, on_result) for show in shows]
            done = [future.result() for future in futures]
    finally:
        if retriever is None:
            fetcher.close()
    results = tuple(result for show_results, _ in done for result in show_results)
    retagged = {show.id: changed for show, (_, changed) in zip(shows, done, strict=True) if changed is not None}
    return Report(results, retagged)


def _refresh_show(
    config: Config,
    show: ShowConfig,
    fetcher: Retriever,
    open_: Callable[[Config], RefreshStore],
    on_result: Callable[[SourceResult], None] | None,
) -> tuple[list[SourceResult], int | None]:
    """Refresh a show's sources; also how many stored episodes changed rules retagged (None: no change)."""
    results = []
    retagged = None
    store = open_(config)
    try:
        retag_failure = None
        started = time.monotonic()
        rules_changed = True
        try:
            stored_digest = store.rules_digest(show.id)
            rules_changed = stored_digest != show.rules_digest
            if rules_changed:
                # All of a show's rule matching shares one budget: the deadline of a source.
                changed = retag(store, show.within(RuleBudget(config.fetch.deadline)))
                log.info("%s: tag or strip rules changed; %d stored episodes updated", show.id, changed)
                if stored_digest is not None:  # a show's first refresh changes no rules
                    retagged = changed
        except (SourceError, StoreError) as exc:
            # Nothing retagged (a rule ran out of time, or the store failed): this show's
            # sources fail with the reason, and the other shows go on.
            retag_failure = f"retagging stored episodes: {exc}"
        for source in show.sources:
            if retag_failure is not None:
                result = _failed(store, show, source, retag_failure, started)
            else:
                # All rule matching for one source shares one budget: its deadline.
                bounded = show.within(RuleBudget(config.fetch.deadline))
                result = refresh_source(store, bounded, source, fetcher, force=rules_changed)
            log.info("%s", result.describe())  # the caller reports results; cron logs once
            if on_result is not None:
                on_result(result)
            results.append(result)
    finally:
        store.close()
    return results, retagged


def store_listing(
    store: RefreshStore, show: ShowConfig, source: SourceConfig, listing: Listing, meta: FetchMeta
) -> Counts:
    """Plan what one source's listing changes in its show, and apply the plan."""
    plan = plan_listing(store.show_state(show.id), listing, (source.kind, source.location), show.rules, ranks())
    store.apply(plan, meta)
    return plan.counts


def retag(store: RefreshStore, show: ShowConfig) -> int:
    """Apply a show's current tag and strip rules to every stored episode; return how many changed."""
    updates = plan_retag(list(store.show_state(show.id).records.values()), show.rules)
    store.apply_retag(show.id, updates, show.rules_digest)
    return len(updates)


def refresh_source(
    store: RefreshStore,
    show: ShowConfig,
    source: SourceConfig,
    fetcher: Retriever,
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
            **({"credentials": source.credentials} if source.credentials is not None else {}),
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
        # Pages on the source's own origin get its credentials; the fetcher refuses them to any other.
        listing = KINDS[source.kind].read(
            response.body, context, source, lambda url: _follow(fetcher, url, source).body
        )
        # An incomplete listing keeps no validators: a 304 or the same bytes next time
        # must not stand for the episodes this read missed.
        meta = (
            FetchMeta(response.etag, response.last_modified, digest, response.permanent_redirect)
            if listing.complete
            else FetchMeta(permanent_redirect=response.permanent_redirect)
        )
        counts = store_listing(store, show, source, listing, meta)
    except (SourceError, StoreError) as exc:
        return _failed(store, show, source, str(exc), started)
    except Exception as exc:  # one source's bug must not stop the others
        log.exception("%s %s: unexpected error", show.id, operator_location(source.location))
        return _failed(store, show, source, mask_text(f"internal error: {type(exc).__name__}: {exc}"), started)
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


def _follow(fetcher: Retriever, url: str, source: SourceConfig) -> Response:
    if source.credentials is None:
        return fetcher.get(url)
    return fetcher.get(url, credentials=source.credentials)


def _failed(store: RefreshStore, show: ShowConfig, source: SourceConfig, error: str, started: float) -> SourceResult:
    try:
        store.record_failure(show.id, source, error)
    except StoreError as exc:
        error = f"{error} (and the failure could not be recorded: {exc})"
    return SourceResult(show.id, source, "failed", error=error, seconds=time.monotonic() - started)


@contextmanager
def refresh_lock(store: Path | str, *, wait: bool = False) -> Iterator[None]:
    """Hold the store's refresh lock; raise LockedError if another refresh holds it.

    A SQLite store's is a file beside it; a PostgreSQL store's is in the database.
    """
    if isinstance(store, str):
        with postgres.refresh_lock(store, wait=wait):
            yield
        return
    store_path = store
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
