"""Listings as plain JSON, for comparing a parser's output with an expected file."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from feedtool.model import Listing
from feedtool.normalize.dates import format_iso


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_iso(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def listing_json(listing: Listing) -> dict[str, Any]:
    """The show and its episodes as JSON-ready dicts, without empty fields."""

    def compact(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if v is not None and v != []}

    return {
        "show": compact(_plain(listing.show)),
        "episodes": [compact(_plain(e)) for e in listing.episodes],
        "warnings": list(listing.warnings),
    }
