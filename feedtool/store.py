"""The one user of sqlite3: schema and migrations, per-source upserts, filtered queries.

Every episode ever seen is kept. Each source is written in one transaction, so a
failure or a kill leaves the store as it was before that source. The file is in WAL
mode, so the server reads while a refresh writes. Filters run inside SQL.

Only environmental errors (disk, permissions, a locked or corrupt file) are wrapped
in StoreError; a bug stays a bug.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from feedtool.config import ShowConfig, SourceConfig
from feedtool.errors import FilterError, StoreError
from feedtool.filters import Filter, Pattern, RegexBudget
from feedtool.merge import EpisodeIndex, Known, merge
from feedtool.model import (
    Chapter,
    ChaptersLink,
    Enclosure,
    Episode,
    Listing,
    Owner,
    Person,
    Show,
    ShowInfo,
    SourceState,
    StoredEpisode,
    Transcript,
)
from feedtool.normalize import enclosure_key, html_to_text, strip_boilerplate, title_key
from feedtool.sources import KINDS
from feedtool.tags import description_text, tag_episode

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
#: An unclear I/O error on a filesystem with less room than this is a full disk
#: (SQLite's -shm file alone takes 32 KiB).
FULL_BELOW = 2**20

# Each entry upgrades the schema by one version; never edit a released entry.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE shows (
        id TEXT PRIMARY KEY,
        info TEXT NOT NULL DEFAULT '{}',
        info_ranks TEXT NOT NULL DEFAULT '{}',
        rules_digest TEXT,
        version INTEGER NOT NULL DEFAULT 0,
        changed INTEGER
    );
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        show_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        location TEXT NOT NULL,
        last_attempt INTEGER,
        last_success INTEGER,
        status TEXT,
        error TEXT,
        etag TEXT,
        last_modified TEXT,
        content_hash TEXT,
        permanent_redirect TEXT,
        new_feed_url TEXT,
        episode_count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (show_id, kind, location)
    );
    CREATE TABLE episodes (
        id INTEGER PRIMARY KEY,
        show_id TEXT NOT NULL,
        guid TEXT NOT NULL,
        title TEXT NOT NULL,
        data TEXT NOT NULL,
        ranks TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '',
        search TEXT NOT NULL DEFAULT '',
        published INTEGER,
        sort_time INTEGER NOT NULL,
        duration INTEGER,
        first_seen INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        UNIQUE (show_id, guid)
    );
    CREATE INDEX episodes_by_time ON episodes (show_id, sort_time);
    CREATE TABLE episode_tags (
        tag TEXT NOT NULL,
        episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
        PRIMARY KEY (tag, episode_id)
    ) WITHOUT ROWID;
    CREATE TABLE episode_links (
        source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        item_guid TEXT NOT NULL,
        episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
        PRIMARY KEY (source_id, item_guid)
    ) WITHOUT ROWID;
    """,
    # 2. episode_tags by episode: without it a show's tag counts (the index page) and
    # replacing an episode's tags (every update) scanned the whole table (issue 9).
    # commits: a version of the whole store in one row, for caching the index page.
    """
    CREATE INDEX episode_tags_by_episode ON episode_tags (episode_id);
    CREATE TABLE commits (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO commits (id, n) VALUES (1, 0);
    """,
)


@dataclass(frozen=True)
class FetchMeta:
    """What a successful fetch tells the store about its source."""

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    permanent_redirect: str | None = None


@dataclass(frozen=True)
class Counts:
    """What storing one source's listing changed."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _stamp(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


class Store:
    """A feedtool store: one SQLite file.

    ``Store(path)`` creates and migrates the file: only ``feedtool refresh`` does
    that. ``Store(path, read_only=True)`` opens an existing store of this schema
    version for reading, and raises StoreError when there is none (the server, and
    the commands that only read).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._counting = False  # the migration that makes the commits table runs first
        try:
            if read_only:
                self._open_existing()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = self.schema_version()
        if version != len(MIGRATIONS):
            if version > len(MIGRATIONS):
                raise StoreError(self._newer(version))
            raise StoreError(
                f"the store {self.path} has schema version {version}, older than this feedtool's "
                f"({len(MIGRATIONS)}); run `feedtool refresh` to upgrade it"
            )

    def _close_quietly(self) -> None:
        db: sqlite3.Connection | None = getattr(self, "db", None)
        if db is not None:
            db.close()

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
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
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

    def schema_version(self) -> int:
        version: int = self.db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _migrate(self) -> None:
        if self.schema_version() == len(MIGRATIONS):
            return
        # The write lock makes concurrent openers (threads, processes) migrate once.
        with self.transaction():
            current = self.schema_version()
            if current > len(MIGRATIONS):
                raise StoreError(self._newer(current))
            for version in range(current, len(MIGRATIONS)):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version + 1}")
                log.info("store %s migrated to schema version %d", self.path, version + 1)

    def _newer(self, version: int) -> str:
        return (
            f"the store {self.path} has schema version {version}, newer than this "
            f"feedtool knows ({len(MIGRATIONS)}); upgrade feedtool"
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

    def _source_id(self, show_id: str, source: SourceConfig) -> int:
        row = self.db.execute(
            "SELECT id FROM sources WHERE show_id = ? AND kind = ? AND location = ?",
            (show_id, source.kind, source.location),
        ).fetchone()
        if row is not None:
            return int(row[0])
        self._ensure_show(show_id)
        cursor = self.db.execute(
            "INSERT INTO sources (show_id, kind, location) VALUES (?, ?, ?)",
            (show_id, source.kind, source.location),
        )
        return int(cursor.lastrowid or 0)

    def _ensure_show(self, show_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO shows (id) VALUES (?)", (show_id,))

    def source_state(self, show_id: str, source: SourceConfig) -> SourceState:
        """What the store remembers of a source (empty state for a new one)."""
        row = self.db.execute(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE show_id = ? AND kind = ? AND location = ?",
            (show_id, source.kind, source.location),
        ).fetchone()
        if row is None:
            return SourceState(show_id=show_id, kind=source.kind, location=source.location)
        return _source_state(row)

    def source_states(self, show_id: str | None = None) -> list[SourceState]:
        """Every source's state, of one show or of all."""
        query = f"SELECT {_SOURCE_COLUMNS} FROM sources"
        args: tuple[str, ...] = ()
        if show_id is not None:
            query += " WHERE show_id = ?"
            args = (show_id,)
        return [_source_state(row) for row in self.db.execute(query + " ORDER BY show_id, id", args)]

    def record_unchanged(self, show_id: str, source: SourceConfig, meta: FetchMeta) -> None:
        """The source answered 304, or the same bytes as last time: nothing to parse."""
        with self.transaction():
            source_id = self._source_id(show_id, source)
            now = _now()
            self.db.execute(
                """UPDATE sources SET last_attempt = ?, last_success = ?, status = 'unchanged',
                   error = NULL, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
                   permanent_redirect = ? WHERE id = ?""",
                (now, now, meta.etag, meta.last_modified, meta.permanent_redirect, source_id),
            )

    def record_failure(self, show_id: str, source: SourceConfig, error: str) -> None:
        """The source failed: note why, touch nothing else."""
        with self.transaction():
            source_id = self._source_id(show_id, source)
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, status = 'failed', error = ? WHERE id = ?",
                (_now(), error[:2000], source_id),
            )

    # --- writing a listing --------------------------------------------------------

    def apply_listing(self, show: ShowConfig, source: SourceConfig, listing: Listing, meta: FetchMeta) -> Counts:
        """Store one source's listing in one transaction; return what changed."""
        with self.transaction():
            source_id = self._source_id(show.id, source)
            now = _now()
            rank = KINDS[source.kind].rank
            index, rows = self._index(show.id)
            new = updated = unchanged = 0
            for episode in listing.episodes:
                episode_id = index.match(source_id, episode)
                if episode_id is None:
                    stored, ranks = merge(None, {}, episode, rank)
                    episode_id = self._insert(show, stored, ranks, now)
                    new += 1
                else:
                    old, old_ranks = rows[episode_id]
                    stored, ranks = merge(old, old_ranks, episode, rank)
                    if stored != old or ranks != old_ranks:
                        self._update(show, episode_id, stored, ranks, now)
                        updated += stored != old
                        unchanged += stored == old
                    else:
                        unchanged += 1
                rows[episode_id] = (stored, ranks)
                index.record(episode_id, source_id, stored, episode.guid)
                self.db.execute(
                    "INSERT OR IGNORE INTO episode_links (source_id, item_guid, episode_id) VALUES (?, ?, ?)",
                    (source_id, episode.guid, episode_id),
                )
            info_changed = self._merge_show_info(show.id, listing.show, rank)
            self.db.execute(
                """UPDATE sources SET last_attempt = ?, last_success = ?, status = 'ok', error = NULL,
                   etag = ?, last_modified = ?, content_hash = ?, permanent_redirect = ?,
                   new_feed_url = ?, episode_count = ? WHERE id = ?""",
                (now, now, meta.etag, meta.last_modified, meta.content_hash, meta.permanent_redirect,
                 listing.show.new_feed_url, len(listing.episodes), source_id),
            )  # fmt: skip
            counts = Counts(new=new, updated=updated, unchanged=unchanged)
            if counts.changed or info_changed:
                self._bump(show.id, now)
            return counts

    def _index(self, show_id: str) -> tuple[EpisodeIndex, dict[int, tuple[Episode, dict[str, int]]]]:
        rows: dict[int, tuple[Episode, dict[str, int]]] = {}
        known = []
        sources: dict[int, set[int]] = {}
        links = {}
        for source_id, item_guid, episode_id in self.db.execute(
            "SELECT l.source_id, l.item_guid, l.episode_id FROM episode_links l "
            "JOIN sources s ON s.id = l.source_id WHERE s.show_id = ?",
            (show_id,),
        ):
            links[(source_id, item_guid)] = episode_id
            sources.setdefault(episode_id, set()).add(source_id)
        for episode_id, data, ranks in self.db.execute(
            "SELECT id, data, ranks FROM episodes WHERE show_id = ?", (show_id,)
        ):
            episode = decode_episode(data)
            rows[episode_id] = (episode, orjson.loads(ranks))
            known.append(
                Known(
                    id=episode_id,
                    guid=episode.guid,
                    enclosure_key=enclosure_key(episode.enclosure.url) if episode.enclosure else None,
                    title_key=title_key(episode.title),
                    published=episode.published,
                    sources=frozenset(sources.get(episode_id, ())),
                )
            )
        return EpisodeIndex(known, links), rows

    def _columns(self, show: ShowConfig, episode: Episode, ranks: Mapping[str, int]) -> dict[str, Any]:
        text = description_text(episode)
        tags = tag_episode(episode, show.tags, text)
        return {
            "title": episode.title,
            "data": encode_episode(episode),
            "ranks": _dumps(ranks),
            "tags": "\n".join(tags),
            "categories": "\n".join((*episode.categories, *tags)),
            # Each distinct word once: `q` looks for words (no spaces), so any one of
            # them is in the text exactly when it is in this list, a third its size.
            "search": " ".join(dict.fromkeys(f"{episode.title} {text}".casefold().split())),
            "published": _seconds(episode.published),
            "duration": episode.duration,
            "_tags": tags,
        }

    def _insert(self, show: ShowConfig, episode: Episode, ranks: Mapping[str, int], now: int) -> int:
        columns = self._columns(show, episode, ranks)
        tags = columns.pop("_tags")
        cursor = self.db.execute(
            """INSERT INTO episodes (show_id, guid, title, data, ranks, tags, categories, search,
               published, sort_time, duration, first_seen, updated)
               VALUES (:show_id, :guid, :title, :data, :ranks, :tags, :categories, :search,
               :published, COALESCE(:published, :now), :duration, :now, :now)""",
            {**columns, "show_id": show.id, "guid": episode.guid, "now": now},
        )
        episode_id = int(cursor.lastrowid or 0)
        self.db.executemany("INSERT INTO episode_tags (tag, episode_id) VALUES (?, ?)", [(t, episode_id) for t in tags])
        return episode_id

    def _update(self, show: ShowConfig, episode_id: int, episode: Episode, ranks: Mapping[str, int], now: int) -> None:
        columns = self._columns(show, episode, ranks)
        tags = columns.pop("_tags")
        self.db.execute(
            """UPDATE episodes SET title = :title, data = :data, ranks = :ranks, tags = :tags,
               categories = :categories, search = :search, published = :published,
               sort_time = COALESCE(:published, first_seen), duration = :duration, updated = :now
               WHERE id = :id""",
            {**columns, "id": episode_id, "now": now},
        )
        self._set_tags(episode_id, tags)

    def _set_tags(self, episode_id: int, tags: Sequence[str]) -> None:
        self.db.execute("DELETE FROM episode_tags WHERE episode_id = ?", (episode_id,))
        self.db.executemany("INSERT INTO episode_tags (tag, episode_id) VALUES (?, ?)", [(t, episode_id) for t in tags])

    def _merge_show_info(self, show_id: str, info: ShowInfo, rank: int) -> bool:
        row = self.db.execute("SELECT info, info_ranks FROM shows WHERE id = ?", (show_id,)).fetchone()
        old = decode_show_info(row[0])
        merged, ranks = merge(old, orjson.loads(row[1]), info, rank)
        if merged == old:
            return False
        self.db.execute(
            "UPDATE shows SET info = ?, info_ranks = ? WHERE id = ?",
            (encode_show_info(merged), _dumps(ranks), show_id),
        )
        return True

    def _bump(self, show_id: str, now: int) -> None:
        self.db.execute("UPDATE shows SET version = version + 1, changed = ? WHERE id = ?", (now, show_id))

    def retag(self, show: ShowConfig) -> int:
        """Apply a show's current tag and strip rules to every stored episode.

        Runs when the rules in config.yaml changed since the last refresh, so that
        episodes no longer in any source are tagged by the same rules. Returns how
        many episodes changed.
        """
        row = self.db.execute("SELECT rules_digest FROM shows WHERE id = ?", (show.id,)).fetchone()
        if row is not None and row[0] == show.rules_digest:
            return 0
        changed = 0
        with self.transaction():
            self._ensure_show(show.id)
            now = _now()
            rows = self.db.execute(
                "SELECT id, data, ranks, tags FROM episodes WHERE show_id = ?", (show.id,)
            ).fetchall()
            for episode_id, data, ranks, tags in rows:
                episode = decode_episode(data)
                if show.strip:
                    episode = _restrip(episode, show)
                if encode_episode(episode) != data or "\n".join(tag_episode(episode, show.tags)) != tags:
                    self._update(show, episode_id, episode, orjson.loads(ranks), now)
                    changed += 1
            self.db.execute("UPDATE shows SET rules_digest = ? WHERE id = ?", (show.rules_digest, show.id))
            if changed:
                self._bump(show.id, now)
        return changed

    def rules_digest(self, show_id: str) -> str | None:
        """The digest of the rules the show's stored tags were computed with."""
        row = self.db.execute("SELECT rules_digest FROM shows WHERE id = ?", (show_id,)).fetchone()
        return None if row is None else row[0]

    # --- reading ------------------------------------------------------------------

    def show(self, show_id: str) -> Show | None:
        """A show's merged metadata and version; None when never refreshed."""
        row = self.db.execute("SELECT id, info, version, changed FROM shows WHERE id = ?", (show_id,)).fetchone()
        if row is None:
            return None
        return Show(id=row[0], info=decode_show_info(row[1]), version=row[2], changed=_stamp(row[3]))

    def version(self, show_id: str) -> tuple[int, datetime | None]:
        """(version, time of last change) of a show: cheap, for HTTP caching."""
        row = self.db.execute("SELECT version, changed FROM shows WHERE id = ?", (show_id,)).fetchone()
        return (0, None) if row is None else (row[0], _stamp(row[1]))

    def commits(self) -> int:
        """How many write transactions the store has committed: a version of all of it."""
        return int(self.db.execute("SELECT n FROM commits").fetchone()[0])

    def count(self, show_id: str) -> int:
        """How many episodes of a show are stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM episodes WHERE show_id = ?", (show_id,)).fetchone()[0])

    def tag_counts(self, show_id: str) -> dict[str, int]:
        """Each tag of a show's episodes with its number of episodes, most used first."""
        rows = self.db.execute(
            "SELECT t.tag, COUNT(*) AS n FROM episode_tags t JOIN episodes e ON e.id = t.episode_id "
            "WHERE e.show_id = ? GROUP BY t.tag ORDER BY n DESC, t.tag",
            (show_id,),
        )
        return {tag: n for tag, n in rows}

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
        where, args, uses_regex = _where(flt)
        order = "ASC" if flt.sort == "oldest" else "DESC"
        limit = min((x for x in (flt.limit, cap) if x is not None), default=-1)
        query = (
            "SELECT e.id, e.data, e.tags, e.first_seen, e.updated FROM episodes e "
            f"WHERE e.show_id = ? {where} ORDER BY e.sort_time {order}, e.id {order} LIMIT ?"
        )
        failure: list[FilterError] = []
        if uses_regex:
            self._register_regex(flt.patterns, RegexBudget(regex_seconds), failure)
        try:
            rows = self.db.execute(query, (show_id, *args, limit)).fetchall()
        except sqlite3.OperationalError as exc:
            if failure:
                raise failure[0] from exc
            raise StoreError(f"cannot read the store {self.path}: {exc}") from exc
        return [
            StoredEpisode(
                id=row[0],
                show_id=show_id,
                data=decode_episode(row[1]),
                tags=tuple(row[2].split("\n")) if row[2] else (),
                first_seen=datetime.fromtimestamp(row[3], UTC),
                updated=datetime.fromtimestamp(row[4], UTC),
            )
            for row in rows
        ]

    def _register_regex(self, patterns: Sequence[Pattern], budget: RegexBudget, failure: list[FilterError]) -> None:
        def search(index: int, text: str | None) -> int:
            try:
                return int(budget.search(patterns[index], html_to_text(text or "")))
            except FilterError as exc:
                failure.append(exc)
                raise

        def search_any(index: int, lines: str | None) -> int:
            try:
                return int(any(budget.search(patterns[index], line) for line in (lines or "").split("\n") if line))
            except FilterError as exc:
                failure.append(exc)
                raise

        self.db.create_function("ft_match", 2, search, deterministic=True)
        self.db.create_function("ft_match_any", 2, search_any, deterministic=True)


# SQLite's primary result codes (the low byte of an extended code):
# https://www.sqlite.org/rescode.html
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 8, 10, 11, 13, 14, 26
_ENVIRONMENTAL = {*_BUSY, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB}


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


def _where(flt: Filter) -> tuple[str, list[Any], bool]:
    """SQL conditions (each starting with AND) and their arguments for a filter."""
    parts: list[str] = []
    args: list[Any] = []
    if flt.tags:
        marks = ", ".join("?" * len(flt.tags))
        parts.append(f"EXISTS (SELECT 1 FROM episode_tags t WHERE t.episode_id = e.id AND t.tag IN ({marks}))")
        args.extend(flt.tags)
    if flt.exclude_tags:
        marks = ", ".join("?" * len(flt.exclude_tags))
        parts.append(f"NOT EXISTS (SELECT 1 FROM episode_tags t WHERE t.episode_id = e.id AND t.tag IN ({marks}))")
        args.extend(flt.exclude_tags)
    for word in flt.words:
        parts.append("instr(e.search, ?) > 0")
        args.append(word)
    if flt.since is not None:
        parts.append("e.sort_time >= ?")
        args.append(_seconds(flt.since))
    if flt.until is not None:
        parts.append("e.sort_time <= ?")
        args.append(_seconds(flt.until))
    if flt.min_duration is not None:
        parts.append("e.duration >= ?")
        args.append(flt.min_duration)
    if flt.max_duration is not None:
        parts.append("e.duration <= ?")
        args.append(flt.max_duration)
    regex_parts = _regex_where(flt)
    parts.extend(regex_parts)
    return "".join(f" AND {p}" for p in parts), args, bool(regex_parts)


_DESCRIPTION = "COALESCE(json_extract(e.data, '$.content'), json_extract(e.data, '$.description'), e.title)"


def _regex_where(flt: Filter) -> list[str]:
    """RSSHub's filter parameters, with RSSHub's meaning, as SQL over ft_match."""
    index = {p.param: i for i, p in enumerate(flt.patterns)}
    parts = []
    if "filter" in index:
        i = index["filter"]
        parts.append(f"(ft_match({i}, e.title) OR ft_match({i}, {_DESCRIPTION}) OR ft_match_any({i}, e.categories))")
    else:
        if "filter_title" in index:
            parts.append(f"ft_match({index['filter_title']}, e.title)")
        if "filter_description" in index:
            parts.append(f"ft_match({index['filter_description']}, {_DESCRIPTION})")
        if "filter_category" in index:
            parts.append(f"ft_match_any({index['filter_category']}, e.categories)")
    out_title = index.get("filterout_title", index.get("filterout"))
    out_description = index.get("filterout_description", index.get("filterout"))
    if out_title is not None:
        parts.append(f"NOT ft_match({out_title}, e.title)")
    if out_description is not None:
        parts.append(f"NOT ft_match({out_description}, {_DESCRIPTION})")
    if "filterout_category" in index:
        parts.append(f"NOT ft_match_any({index['filterout_category']}, e.categories)")
    return parts


def _restrip(episode: Episode, show: ShowConfig) -> Episode:
    return replace(
        episode,
        description=strip_boilerplate(episode.description, show.strip) or None if episode.description else None,
        content=strip_boilerplate(episode.content, show.strip) or None if episode.content else None,
    )


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


# --- JSON codecs --------------------------------------------------------------------
# orjson: a rendered feed decodes every row it shows, a refresh encodes every row it
# writes, and orjson does both 4 to 20 times faster than the json module.


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != ()}


def encode_episode(e: Episode) -> str:
    """An episode as compact JSON: the store's ``data`` column."""
    data = {
        "guid": e.guid,
        "title": e.title,
        "guid_is_permalink": e.guid_is_permalink,
        "guid_derived": e.guid_derived or None,
        "link": e.link,
        "published": _seconds(e.published),
        "description": e.description,
        "content": e.content,
        "enclosure": [e.enclosure.url, e.enclosure.type, e.enclosure.length] if e.enclosure else None,
        "duration": e.duration,
        "image": e.image,
        "episode": e.episode,
        "season": e.season,
        "episode_type": e.episode_type,
        "explicit": e.explicit,
        "author": e.author,
        "keywords": list(e.keywords),
        "categories": list(e.categories),
        "transcripts": [[t.url, t.type, t.language, t.rel] for t in e.transcripts],
        "chapters_link": [e.chapters_link.url, e.chapters_link.type] if e.chapters_link else None,
        "chapters": [[c.start, c.title, c.href, c.image] for c in e.chapters],
        "persons": [[p.name, p.role, p.group, p.img, p.href] for p in e.persons],
    }
    return _dumps(_drop_empty(data))


_EPISODE_DEFAULTS = {f.name: f.default for f in fields(Episode)}


def decode_episode(text: str) -> Episode:
    """The inverse of encode_episode.

    Feeds decode every episode they show, so this skips the frozen dataclass's
    per-field checks (7 µs of 9 per episode): the row was written by encode_episode
    from a validated Episode, field by field under the same names.
    """
    d = orjson.loads(text)
    values = _EPISODE_DEFAULTS | d
    values["published"] = _stamp(d.get("published"))
    values["guid_derived"] = bool(d.get("guid_derived"))
    if (enclosure := d.get("enclosure")) is not None:
        values["enclosure"] = Enclosure(*enclosure)
    if (chapters_link := d.get("chapters_link")) is not None:
        values["chapters_link"] = ChaptersLink(*chapters_link)
    for name, kind in _NESTED:
        if name in d:
            values[name] = tuple(kind(*v) for v in d[name])
    for name in ("keywords", "categories"):
        if name in d:
            values[name] = tuple(d[name])
    episode = object.__new__(Episode)
    episode.__dict__.update(values)
    return episode


_NESTED: tuple[tuple[str, Any], ...] = (
    ("transcripts", Transcript),
    ("chapters", Chapter),
    ("persons", Person),
)


def encode_show_info(info: ShowInfo) -> str:
    """Show metadata as JSON: the store's ``shows.info`` column."""
    data = {
        "title": info.title,
        "link": info.link,
        "description": info.description,
        "language": info.language,
        "image": info.image,
        "author": info.author,
        "owner": [info.owner.name, info.owner.email] if info.owner else None,
        "categories": [list(c) for c in info.categories],
        "explicit": info.explicit,
        "type": info.type,
        "podcast_guid": info.podcast_guid,
        "new_feed_url": info.new_feed_url,
        "episode_count": info.episode_count,
    }
    return _dumps(_drop_empty(data))


def decode_show_info(text: str) -> ShowInfo:
    """The inverse of encode_show_info."""
    d = orjson.loads(text)
    owner = d.get("owner")
    return ShowInfo(
        title=d.get("title"),
        link=d.get("link"),
        description=d.get("description"),
        language=d.get("language"),
        image=d.get("image"),
        author=d.get("author"),
        owner=Owner(*owner) if owner else None,
        categories=tuple(tuple(c) for c in d.get("categories", ())),
        explicit=d.get("explicit"),
        type=d.get("type"),
        podcast_guid=d.get("podcast_guid"),
        new_feed_url=d.get("new_feed_url"),
        episode_count=d.get("episode_count"),
    )
