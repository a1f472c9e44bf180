"""The only user of the database.

``schema`` (one migration per version), ``codecs`` (the stored JSON, keyed by field
name and versioned), ``queries`` (the filter compiler and its regex functions) and
``database`` (the ``Store``: load a show's state, apply a plan in one transaction,
answer reads). It stores what ``feedtool.update`` decided; it decides nothing.
"""

from __future__ import annotations

from feedtool.store.database import BUSY_TIMEOUT, Store
from feedtool.store.schema import MIGRATIONS
from feedtool.update import Counts, FetchMeta

__all__ = ["BUSY_TIMEOUT", "MIGRATIONS", "Counts", "FetchMeta", "Store"]
