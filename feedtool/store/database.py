"""The store: one SQLite file that loads a show's state, applies plans and answers reads.

It only stores: what to write is decided by ``feedtool.update`` (a ``Plan``), the
schema lives in ``schema``, the JSON in ``codecs`` and the filter's SQL in
``queries``. Every episode ever seen is kept. Each plan is applied in one
transaction, so a failure or a kill leaves the store as it was before that source.
The file is in WAL mode, so the server reads while a refresh writes. Filters run
inside SQL.

Every public method turns an environmental SQLite error (disk, permissions, a
locked, truncated or corrupt file) into StoreError naming the cause; misuse (a
closed connection, a broken constraint) stays a bug.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import orjson

from feedtool.errors import FilterError, StoreError
from feedtool.filters import Filter, RegexBudget
from feedtool.model import Episode, Show, SourceState, StoredEpisode
from feedtool.store import queries
from feedtool.store.codecs import decode_episode, decode_show_info, dumps, encode_episode, encode_show_info
from feedtool.store.schema import MIGRATIONS, VERSION
from feedtool.update import FetchMeta, Plan, Record, Row, ShowState

log = logging.getLogger(__name__)

#: How long a connection waits for another's lock before giving up, by default.
BUSY_TIMEOUT = 30.0
#: An unclear I/O error on a filesystem with less room than this is a full disk
#: (SQLite's -shm file alone takes 32 KiB).
FULL_BELOW = 2**20


class SourceRef(Protocol):
    """A source as the store keys it (config's SourceConfig is one)."""

    @property
    def kind(self) -> str: ...

    @property
    def location(self) -> str: ...


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _stamp(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


P = ParamSpec("P")
R = TypeVar("R")


def _guarded(action: str) -> Callable[[Callable[Concatenate[Store, P], R]], Callable[Concatenate[Store, P], R]]:
    """Turn the environmental SQLite errors of a public method into StoreError."""

    def wrap(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
        @functools.wraps(method)
        def guarded(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                error = self._store_error(action, exc)
                if error is None:
                    raise
                raise error from exc

        return guarded

    return wrap


class Store:
    """A feedtool store: one SQLite file.

    ``Store(path)`` creates and migrates the file: only ``feedtool refresh`` does
    that. ``Store(path, read_only=True)`` opens an existing store of this schema
    version for reading, and raises StoreError when there is none (the server, and
    the commands that only read). ``busy_timeout`` is how many seconds to wait for
    another connection's lock.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self._counting = False  # the migration that makes the commits table runs first
        try:
            if read_only:
                self._open_existing()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                self._use_wal()
                self.db.execute("PRAGMA synchronous = NORMAL")
                self.db.execute("PRAGMA foreign_keys = ON")
                self._migrate()
                self._counting = True
        except StoreError:
            self._close_quietly()
            raise
        except sqlite3.Error as exc:
            self._close_quietly()
            raise self._error("read" if read_only else "open", exc) from exc
        except OSError as exc:
            raise StoreError(f"cannot create the store's folder {self.path.parent}: {exc}") from exc

    def _open_existing(self) -> None:
        if not self.path.is_file():
            raise StoreError(f"no store at {self.path}: run `feedtool refresh` first")
        # mode=ro: SQLite neither creates the file (it may be deleted at any moment)
        # nor writes to it.
        uri = f"{self.path.absolute().as_uri()}?mode=ro"
        self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        version = self._version()
        if version != VERSION:
            if version > VERSION:
                raise StoreError(self._newer(version))
            raise StoreError(
                f"the store {self.path} has schema version {version}, older than this feedtool's "
                f"({VERSION}); run `feedtool refresh` to upgrade it"
            )

    def _close_quietly(self) -> None:
        db: sqlite3.Connection | None = getattr(self, "db", None)
        if db is not None:
            db.close()

    def _store_error(self, action: str, exc: Exception) -> StoreError | None:
        """The StoreError for an environmental database error, None for a bug (the dialect's hook)."""
        if isinstance(exc, sqlite3.Error) and _environmental(exc):
            return self._error(action, exc)
        return None

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        """A StoreError naming what failed and, where SQLite's message does not say it, why."""
        if action == "read" and not self.path.exists():
            return StoreError(f"no store at {self.path}: run `feedtool refresh` first")
        cause = _cause(exc, self.path)
        if not cause:
            return StoreError(f"cannot {action} the store {self.path}: {exc}")
        if cause == "read-only filesystem" and self.read_only and _code(exc) == _CANTOPEN:
            # Readers of a WAL file share its index through the -shm file beside it.
            cause += f", where SQLite cannot create {self.path.name}-shm, which even reading needs"
        return StoreError(f"cannot {action} the store {self.path}: {cause} ({exc})")

    def _use_wal(self) -> None:
        """Switch the file to WAL (a lasting setting), so readers never wait for writers.

        The switch needs the file to itself, and SQLite does not wait for that: when
        another connection is busy with a new file, try again for a while. Any other
        error (a read-only or full disk) cannot go away by waiting: it is raised at once.
        """
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if _code(exc) not in _BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -------------------------------------------------------------------

    @_guarded("read")
    def schema_version(self) -> int:
        """The schema version of the file."""
        return self._version()

    def _version(self) -> int:
        version: int = self.db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _migrate(self) -> None:
        if self._version() == VERSION:
            return
        # The write lock makes concurrent openers (threads, processes) migrate once.
        with self.transaction():
            current = self._version()
            if current > VERSION:
                raise StoreError(self._newer(current))
            for version in range(current, VERSION):
                MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")
                log.info("store %s migrated to schema version %d", self.path, version + 1)

    def _newer(self, version: int) -> str:
        return (
            f"the store {self.path} has schema version {version}, newer than this "
            f"feedtool knows ({VERSION}); upgrade feedtool"
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: all of it is stored, or none of it."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._error("write to", exc) from exc
        try:
            yield
            if self._counting:
                self.db.execute("UPDATE commits SET n = n + 1")
            self.db.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error) and _code(exc) in _ENVIRONMENTAL:
                raise self._error("write to", exc) from exc
            raise

    def _rollback(self) -> None:
        # After some errors (a full disk, for one) SQLite has rolled back already, and
        # a ROLLBACK would fail and hide the cause.
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("rollback of %s failed; the transaction ends with the connection", self.path)

    # --- sources ------------------------------------------------------------------

    def _source_id(self, show_id: str, kind: str, location: str) -> int:
        row = self.db.execute(
            "SELECT id FROM sources WHERE show_id = ? AND kind = ? AND location = ?",
            (show_id, kind, location),
        ).fetchone()
        if row is not None:
            return int(row[0])
        self._ensure_show(show_id)
        cursor = self.db.execute(
            "INSERT INTO sources (show_id, kind, location) VALUES (?, ?, ?)",
            (show_id, kind, location),
        )
        return int(cursor.lastrowid or 0)

    def _ensure_show(self, show_id: str) -> None:
        self.db.execute("INSERT INTO shows (id) VALUES (?) ON CONFLICT DO NOTHING", (show_id,))

    @_guarded("read")
    def source_state(self, show_id: str, source: SourceRef) -> SourceState:
        """What the store remembers of a source (empty state for a new one)."""
        row = self.db.execute(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE show_id = ? AND kind = ? AND location = ?",
            (show_id, source.kind, source.location),
        ).fetchone()
        if row is None:
            return SourceState(show_id=show_id, kind=source.kind, location=source.location)
        return _source_state(row)

    @_guarded("read")
    def source_states(self, show_id: str | None = None) -> list[SourceState]:
        """Every source's state, of one show or of all."""
        query = f"SELECT {_SOURCE_COLUMNS} FROM sources"
        args: tuple[str, ...] = ()
        if show_id is not None:
            query += " WHERE show_id = ?"
            args = (show_id,)
        return [_source_state(row) for row in self.db.execute(query + " ORDER BY show_id, id", args)]

    @_guarded("write to")
    def record_unchanged(self, show_id: str, source: SourceRef, meta: FetchMeta) -> None:
        """The source answered 304, or the same bytes as last time: nothing to parse."""
        with self.transaction():
            source_id = self._source_id(show_id, source.kind, source.location)
            now = _now()
            self.db.execute(
                """UPDATE sources SET last_attempt = ?, last_success = ?, status = 'unchanged',
                   error = NULL, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
                   permanent_redirect = ? WHERE id = ?""",
                (now, now, meta.etag, meta.last_modified, meta.permanent_redirect, source_id),
            )

    @_guarded("write to")
    def record_failure(self, show_id: str, source: SourceRef, error: str) -> None:
        """The source failed: note why, touch nothing else."""
        with self.transaction():
            source_id = self._source_id(show_id, source.kind, source.location)
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, status = 'failed', error = ? WHERE id = ?",
                (_now(), error[:2000], source_id),
            )

    # --- a show's state, and plans --------------------------------------------------

    @_guarded("read")
    def show_state(self, show_id: str) -> ShowState:
        """What the update step needs of a show: its episodes, links and metadata."""
        links = {
            ((kind, location), item_guid): episode_id
            for kind, location, item_guid, episode_id in self.db.execute(
                "SELECT s.kind, s.location, l.item_guid, l.episode_id FROM episode_links l "
                "JOIN sources s ON s.id = l.source_id WHERE s.show_id = ? ORDER BY l.source_id, l.item_guid",
                (show_id,),
            )
        }
        records = {
            episode_id: Record(
                id=episode_id,
                episode=decode_episode(data),
                provenance=orjson.loads(ranks),
                tags=tuple(tags.split("\n")) if tags else (),
            )
            for episode_id, data, ranks, tags in self.db.execute(
                "SELECT id, data, ranks, tags FROM episodes WHERE show_id = ? ORDER BY id", (show_id,)
            )
        }
        row = self.db.execute("SELECT info, info_ranks FROM shows WHERE id = ?", (show_id,)).fetchone()
        if row is None:
            return ShowState(show_id, records, links)
        return ShowState(show_id, records, links, decode_show_info(row[0]), orjson.loads(row[1]))

    @_guarded("write to")
    def apply(self, plan: Plan, meta: FetchMeta) -> None:
        """Store what one source's listing changed, and the fetch's news, in one transaction."""
        kind, location = plan.source
        with self.transaction():
            source_id = self._source_id(plan.show_id, kind, location)
            self._ensure_show(plan.show_id)
            now = _now()
            created = self._insert_all(plan.show_id, [row for _, row in plan.inserts], now)
            ids = dict(zip((provisional for provisional, _ in plan.inserts), created, strict=True))
            # The new episodes' tags in one statement: one call per episode cost more than the rows.
            self.db.executemany(
                "INSERT INTO episode_tags (tag, episode_id) VALUES (?, ?)",
                [(tag, ids[provisional]) for provisional, row in plan.inserts for tag in row.tags],
            )
            self._update_all(plan.updates, now)
            self.db.executemany(
                "INSERT INTO episode_links (source_id, item_guid, episode_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                ((source_id, guid, ids.get(episode_id, episode_id)) for guid, episode_id in plan.links),
            )
            if plan.info is not None:
                info, provenance = plan.info
                self.db.execute(
                    "UPDATE shows SET info = ?, info_ranks = ? WHERE id = ?",
                    (encode_show_info(info), dumps(provenance), plan.show_id),
                )
            self.db.execute(
                """UPDATE sources SET last_attempt = ?, last_success = ?, status = 'ok', error = NULL,
                   etag = ?, last_modified = ?, content_hash = ?, permanent_redirect = ?,
                   new_feed_url = ?, episode_count = ? WHERE id = ?""",
                (now, now, meta.etag, meta.last_modified, meta.content_hash, meta.permanent_redirect,
                 plan.new_feed_url, plan.episode_count, source_id),
            )  # fmt: skip
            if plan.changed:
                self._bump(plan.show_id, now)

    @_guarded("write to")
    def apply_retag(self, show_id: str, updates: Sequence[tuple[int, Row]], rules_digest: str) -> None:
        """Store episodes rewritten under new rules, and the digest of those rules."""
        with self.transaction():
            self._ensure_show(show_id)
            now = _now()
            self._update_all(updates, now)
            self.db.execute("UPDATE shows SET rules_digest = ? WHERE id = ?", (rules_digest, show_id))
            if updates:
                self._bump(show_id, now)

    @_guarded("read")
    def rules_digest(self, show_id: str) -> str | None:
        """The digest of the rules the show's stored tags were computed with."""
        row = self.db.execute("SELECT rules_digest FROM shows WHERE id = ?", (show_id,)).fetchone()
        return None if row is None else row[0]

    def _insert_all(self, show_id: str, rows: Sequence[Row], now: int) -> list[int]:
        """Insert new episodes; their ids, in order."""
        return [self._insert(show_id, row, now) for row in rows]

    def _insert(self, show_id: str, row: Row, now: int) -> int:
        cursor = self.db.execute(
            """INSERT INTO episodes (show_id, guid, title, data, ranks, tags, categories, search,
               published, sort_time, duration, first_seen, updated)
               VALUES (:show_id, :guid, :title, :data, :ranks, :tags, :categories, :search,
               :published, COALESCE(:published, :now), :duration, :now, :now)""",
            {**_columns(row), "show_id": show_id, "guid": row.episode.guid, "now": now},
        )
        return int(cursor.lastrowid or 0)

    def _update_all(self, updates: Sequence[tuple[int, Row]], now: int) -> None:
        """Rewrite stored episodes and their tags: three statements for all of them (on
        PostgreSQL, one round trip each instead of three an episode)."""
        if not updates:
            return
        self.db.executemany(
            """UPDATE episodes SET title = :title, data = :data, ranks = :ranks, tags = :tags,
               categories = :categories, search = :search, published = :published,
               sort_time = COALESCE(:published, first_seen), duration = :duration, updated = :now
               WHERE id = :id""",
            [{**_columns(row), "id": episode_id, "now": now} for episode_id, row in updates],
        )
        self.db.executemany(
            "DELETE FROM episode_tags WHERE episode_id = ?", [(episode_id,) for episode_id, _ in updates]
        )
        self.db.executemany(
            "INSERT INTO episode_tags (tag, episode_id) VALUES (?, ?)",
            [(tag, episode_id) for episode_id, row in updates for tag in row.tags],
        )

    def _bump(self, show_id: str, now: int) -> None:
        self.db.execute("UPDATE shows SET version = version + 1, changed = ? WHERE id = ?", (now, show_id))

    # --- reading --------------------------------------------------------------------

    @_guarded("read")
    def show(self, show_id: str) -> Show | None:
        """A show's merged metadata and version; None when never refreshed."""
        row = self.db.execute("SELECT id, info, version, changed FROM shows WHERE id = ?", (show_id,)).fetchone()
        if row is None:
            return None
        return Show(id=row[0], info=decode_show_info(row[1]), version=row[2], changed=_stamp(row[3]))

    @_guarded("read")
    def version(self, show_id: str) -> tuple[int, datetime | None]:
        """(version, time of last change) of a show: cheap, for HTTP caching."""
        row = self.db.execute("SELECT version, changed FROM shows WHERE id = ?", (show_id,)).fetchone()
        return (0, None) if row is None else (row[0], _stamp(row[1]))

    @_guarded("read")
    def commits(self) -> int:
        """How many write transactions the store has committed: a version of all of it."""
        return int(self.db.execute("SELECT n FROM commits").fetchone()[0])

    @_guarded("read")
    def identity(self) -> str:
        """The store's own random id, made with it: the same whatever URL or path reaches it."""
        return str(self.db.execute("SELECT value FROM identity").fetchone()[0])

    def config_time(self, digest: str, fallback: datetime) -> datetime:
        """The time every server of this store gives as the config's (its digest's)
        last change: for a SQLite store, served from one machine, ``fallback`` (the
        config file's modification time, the same for every process there)."""
        return fallback

    @_guarded("read")
    def data_version(self) -> int:
        """A number that changes when another connection commits: the server's one
        check per request that what it remembers still holds (issue 16)."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    @_guarded("read")
    def count(self, show_id: str) -> int:
        """How many episodes of a show are stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM episodes WHERE show_id = ?", (show_id,)).fetchone()[0])

    @_guarded("read")
    def tag_counts(self, show_id: str) -> dict[str, int]:
        """Each tag of a show's episodes with its number of episodes, most used first."""
        rows = self.db.execute(
            "SELECT t.tag, COUNT(*) AS n FROM episode_tags t JOIN episodes e ON e.id = t.episode_id "
            "WHERE e.show_id = ? GROUP BY t.tag ORDER BY n DESC, t.tag",
            (show_id,),
        )
        return {tag: n for tag, n in rows}

    @_guarded("read")
    def episodes(
        self,
        show_id: str,
        flt: Filter = Filter(),  # noqa: B008 - frozen, so a shared default is safe
        *,
        cap: int | None = None,
        regex_seconds: float = 1.0,
        now: datetime | None = None,
    ) -> list[StoredEpisode]:
        """The stored episodes of a show that pass the filter, in its order.

        ``cap`` bounds the count when the filter sets no smaller limit. User regexes
        share a time budget of ``regex_seconds``; running out raises FilterError.
        """
        flt = flt.resolve(now or datetime.now(UTC))
        where, args, uses_regex = queries.where(flt)
        order = "ASC" if flt.sort == "oldest" else "DESC"
        limit = min((x for x in (flt.limit, cap) if x is not None), default=-1)
        query = (
            "SELECT e.id, e.data, e.tags, e.first_seen, e.updated FROM episodes e "
            f"WHERE e.show_id = ? {where} ORDER BY e.sort_time {order}, e.id {order} LIMIT ?"
        )
        failure: list[FilterError] = []
        if uses_regex:
            queries.register_regex(self.db, flt.patterns, RegexBudget(regex_seconds), failure)
        try:
            rows = self.db.execute(query, (show_id, *args, limit)).fetchall()
        except sqlite3.OperationalError as exc:
            if failure:
                raise failure[0] from exc
            raise
        return [_stored_episode(show_id, row) for row in rows]

    @_guarded("read")
    def episode(self, show_id: str, episode_id: int) -> StoredEpisode | None:
        """One stored episode of a show by its id (an episode page's), or None."""
        row = self.db.execute(
            "SELECT e.id, e.data, e.tags, e.first_seen, e.updated FROM episodes e WHERE e.show_id = ? AND e.id = ?",
            (show_id, episode_id),
        ).fetchone()
        return None if row is None else _stored_episode(show_id, row)


def _stored_episode(show_id: str, row: Sequence[Any], data: Episode | None = None) -> StoredEpisode:
    """A row (id, data, tags, first_seen, updated) as a StoredEpisode; ``data``: its
    episode, when the caller has decoded it already."""
    return StoredEpisode(
        id=row[0],
        show_id=show_id,
        data=decode_episode(row[1]) if data is None else data,
        tags=tuple(row[2].split("\n")) if row[2] else (),
        first_seen=datetime.fromtimestamp(row[3], UTC),
        updated=datetime.fromtimestamp(row[4], UTC),
    )


def _columns(row: Row) -> dict[str, Any]:
    episode = row.episode
    return {
        "title": episode.title,
        "data": encode_episode(episode),
        "ranks": dumps(row.provenance),
        "tags": "\n".join(row.tags),
        "categories": "\n".join(row.categories),
        "search": row.search,
        "published": _seconds(episode.published),
        "duration": episode.duration,
    }


# SQLite's primary result codes (the low byte of an extended code):
# https://www.sqlite.org/rescode.html
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 8, 10, 11, 13, 14, 26
_ENVIRONMENTAL = {*_BUSY, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB}


def _environmental(exc: sqlite3.Error) -> bool:
    """Whether an error comes from the file or its surroundings, not from feedtool's code."""
    if isinstance(exc, (sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.IntegrityError)):
        return False
    return isinstance(exc, sqlite3.OperationalError) or _code(exc) in _ENVIRONMENTAL


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _cause(exc: sqlite3.Error, path: Path) -> str:
    """Why SQLite failed, in the words a person acts on ('' when its message says it).

    A full or read-only disk often reaches SQLite as "unable to open database file"
    or "disk I/O error" (its -shm file cannot be made), so those ask the filesystem.
    """
    code = _code(exc)
    unclear = code in (_IOERR, _CANTOPEN)
    free = _free_bytes(path) if unclear else None
    if code == _FULL or (free is not None and free < FULL_BELOW):
        return "disk full"
    if code == _READONLY or unclear:
        return _read_only(path) or ("read-only" if code == _READONLY else "")
    if code in _BUSY:
        return "locked by another writer"
    if code in (_CORRUPT, _NOTADB):
        return "damaged, or not a feedtool store"
    return ""


def _existing(path: Path) -> Path:
    """The path, or its nearest folder that exists."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _free_bytes(path: Path) -> int | None:
    try:
        stats = os.statvfs(_existing(path))
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def _read_only(path: Path) -> str:
    """'read-only filesystem', 'read-only: ...' or '' when the store's place is writable."""
    where = _existing(path)
    try:
        if os.statvfs(where).f_flag & os.ST_RDONLY:
            return "read-only filesystem"
    except OSError:
        return ""
    folder = where if where.is_dir() else where.parent
    for item in (where, folder):
        if not os.access(item, os.W_OK):
            return f"read-only: no permission to write {item}"
    return ""


_SOURCE_COLUMNS = (
    "show_id, kind, location, last_attempt, last_success, status, error, etag, last_modified, "
    "content_hash, permanent_redirect, new_feed_url, episode_count"
)


def _source_state(row: Sequence[Any]) -> SourceState:
    return SourceState(
        show_id=row[0],
        kind=row[1],
        location=row[2],
        last_attempt=_stamp(row[3]),
        last_success=_stamp(row[4]),
        status=row[5],
        error=row[6],
        etag=row[7],
        last_modified=row[8],
        content_hash=row[9],
        permanent_redirect=row[10],
        new_feed_url=row[11],
        episode_count=row[12],
    )
