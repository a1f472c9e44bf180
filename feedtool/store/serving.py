"""The server's store: one read-only connection kept across requests (issue 16).

Opening the store cost every request about 0.4 ms, a 304 included. A worker now
keeps its connection, and each request starts with ``check()``: a ``stat`` of the
file (a store deleted or replaced by another file is opened again, or is the 503
of a missing store) and ``PRAGMA data_version``, which changes when any other
connection, in any process, commits. Until it does, the versions a cached feed's
validators need are answered from memory: a cached feed or a 304 reads nothing
else. After a commit the connection is opened again, so that everything opening
checks (the schema version, for one) is checked again, as it was per request.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from feedtool.errors import StoreError
from feedtool.filters import Filter
from feedtool.model import Show, SourceState, StoredEpisode
from feedtool.store import open_store
from feedtool.store.database import Store
from feedtool.store.postgres import is_postgresql


class ServingStore:
    """A read-only Store kept open across requests of one thread, its version reads
    remembered until another connection commits (a ``publish.FeedStore``)."""

    def __init__(self, path: str | Path, busy_timeout: float) -> None:
        # A postgresql:// URL stays a string (the config's value); a file becomes a Path.
        self.path: Path | str = path if is_postgresql(path) else Path(path)
        self.busy_timeout = busy_timeout
        self._store: Store | None = None
        # (device, inode) of the file opened: while the connection holds it open, no
        # other file can be given its inode, so another inode means another file.
        self._file: tuple[int, int] | None = None
        self._data_version = 0
        self._versions: dict[str, tuple[int, datetime | None]] = {}
        self._commits: int | None = None
        self._identity: str | None = None

    def check(self) -> ServingStore:
        """Before each request's reads: open the store if it is not open or its file
        was replaced, else forget what is remembered if another connection committed.
        Raises StoreError (and holds no connection) when the store cannot be read."""
        file: tuple[int, int] | None = None  # a PostgreSQL store has no file: its data version says it all
        if isinstance(self.path, Path):
            try:
                st = os.stat(self.path)
                file = (st.st_dev, st.st_ino)
            except OSError:
                pass  # Store() below names the cause
        try:
            if self._store is not None and (file != self._file or self._store.data_version() != self._data_version):
                self.close()
            if self._store is None:
                self._store = open_store(self.path, read_only=True, busy_timeout=self.busy_timeout)
                self._file = file
                self._data_version = self._store.data_version()
        except StoreError:
            self.close()  # the next request starts afresh, as each did before
            raise
        return self

    def close(self) -> None:
        """Close the connection and forget everything read through it."""
        store, self._store = self._store, None
        self._versions.clear()
        self._commits = None
        self._identity = None
        if store is not None:
            store.close()

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("ServingStore.check() opens the store before any read")
        return self._store

    # --- remembered until another connection commits ------------------------------

    def version(self, show_id: str) -> tuple[int, datetime | None]:
        """(version, time of last change) of a show, as Store.version."""
        version = self._versions.get(show_id)
        if version is None:
            version = self._versions[show_id] = self.store.version(show_id)
        return version

    def commits(self) -> int:
        """How many write transactions the store has committed, as Store.commits."""
        if self._commits is None:
            self._commits = self.store.commits()
        return self._commits

    def identity(self) -> str:
        """The store's identity, as Store.identity."""
        if self._identity is None:
            self._identity = self.store.identity()
        return self._identity

    # --- read each time -----------------------------------------------------------

    def config_time(self, digest: str, fallback: datetime) -> datetime:
        return self.store.config_time(digest, fallback)

    def show(self, show_id: str) -> Show | None:
        return self.store.show(show_id)

    def count(self, show_id: str) -> int:
        return self.store.count(show_id)

    def tag_counts(self, show_id: str) -> dict[str, int]:
        return self.store.tag_counts(show_id)

    def source_states(self, show_id: str | None = None) -> list[SourceState]:
        return self.store.source_states(show_id)

    def episode(self, show_id: str, episode_id: int) -> StoredEpisode | None:
        return self.store.episode(show_id, episode_id)

    def episodes(
        self,
        show_id: str,
        flt: Filter = Filter(),  # noqa: B008 - frozen, so a shared default is safe
        *,
        cap: int | None = None,
        regex_seconds: float = 1.0,
        now: datetime | None = None,
    ) -> list[StoredEpisode]:
        return self.store.episodes(show_id, flt, cap=cap, regex_seconds=regex_seconds, now=now)
