"""The only user of the database.

``schema`` (one migration per version), ``codecs`` (the stored JSON, keyed by field
name and versioned), ``queries`` (the filter compiler and its regex functions) and
``database`` (the ``Store``: load a show's state, apply a plan in one transaction,
answer reads), ``postgres`` (the same store on PostgreSQL, through a dialect layer).
It stores what ``feedtool.update`` decided; it decides nothing.
"""

from __future__ import annotations

from pathlib import Path

from feedtool.store.database import BUSY_TIMEOUT, Store
from feedtool.store.postgres import PostgresStore, is_postgresql
from feedtool.store.schema import MIGRATIONS
from feedtool.update import Counts, FetchMeta

__all__ = ["BUSY_TIMEOUT", "MIGRATIONS", "Counts", "FetchMeta", "PostgresStore", "Store", "open_store"]


def open_store(location: str | Path, *, read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT) -> Store:
    """The store a config names: a ``postgresql://`` URL, else a SQLite file."""
    if is_postgresql(location):
        return PostgresStore(str(location), read_only=read_only, busy_timeout=busy_timeout)
    return Store(location, read_only=read_only, busy_timeout=busy_timeout)
