"""The Filter-to-SQL compiler, and the regex functions the compiled SQL calls.

Every condition of a filter runs inside the database: tags through ``episode_tags``,
words through the ``search`` column; RSSHub's regex parameters are one Python
predicate (``regex_matcher``, with a shared time budget) that SQLite calls as
``ft_filter`` and PostgreSQL's store runs over the rows the rest selects.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from feedtool.errors import FilterError
from feedtool.filters import Filter, Pattern, RegexBudget
from feedtool.normalize.text import html_to_text


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def where(flt: Filter, *, regex: bool = True) -> tuple[str, list[Any], bool]:
    """SQL conditions on episodes ``e`` (each starting with AND), their arguments, and
    whether they call the regex functions (``regex=False``: the caller applies
    ``regex_matcher`` to the rows instead)."""
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
    # RSSHub's regex parameters, with RSSHub's meaning: one Python predicate (regex_matcher)
    # that SQLite calls as ft_filter and other stores run over the rows the rest selects.
    regex_parts = [f"ft_filter(e.title, {_DESCRIPTION}, e.categories)"] if regex and flt.patterns else []
    parts.extend(regex_parts)
    return "".join(f" AND {p}" for p in parts), args, bool(regex_parts)


_DESCRIPTION = "COALESCE(json_extract(e.data, '$.content'), json_extract(e.data, '$.description'), e.title)"


def register_regex(
    db: sqlite3.Connection, patterns: Sequence[Pattern], budget: RegexBudget, failure: list[FilterError]
) -> None:
    """Define ft_filter on a connection for one query's patterns: ``regex_matcher`` as SQL.

    A pattern that runs out of time raises inside SQLite, which reports only that a
    function failed; the FilterError saying why is appended to ``failure``.
    """
    matches = regex_matcher(patterns, budget)

    def ft_filter(title: str | None, description: str | None, categories: str | None) -> int:
        try:
            return int(matches(title or "", description, categories))
        except FilterError as exc:
            failure.append(exc)
            raise

    db.create_function("ft_filter", 3, ft_filter, deterministic=True)


def regex_matcher(patterns: Sequence[Pattern], budget: RegexBudget) -> Callable[[str, str | None, str | None], bool]:
    """RSSHub's filter parameters as a Python predicate on (title, description, categories).

    Every store filters with it: SQLite as the SQL function ft_filter, PostgreSQL (whose
    own regex dialect differs from the ``regex`` module's: ``\\b``, ``.`` and newlines,
    ``(?s)``) over the rows the other conditions select. ``description`` is the
    content, else the description, else the title, as ``_DESCRIPTION``.
    """
    index = {p.param: i for i, p in enumerate(patterns)}

    def one(i: int, text: str | None) -> bool:
        return budget.search(patterns[i], html_to_text(text or ""))

    def any_line(i: int, lines: str | None) -> bool:
        return any(budget.search(patterns[i], line) for line in (lines or "").split("\n") if line)

    out_title = index.get("filterout_title", index.get("filterout"))
    out_description = index.get("filterout_description", index.get("filterout"))

    def matches(title: str, description: str | None, categories: str | None) -> bool:
        if "filter" in index:
            i = index["filter"]
            if not (one(i, title) or one(i, description) or any_line(i, categories)):
                return False
        else:
            if "filter_title" in index and not one(index["filter_title"], title):
                return False
            if "filter_description" in index and not one(index["filter_description"], description):
                return False
            if "filter_category" in index and not any_line(index["filter_category"], categories):
                return False
        if out_title is not None and one(out_title, title):
            return False
        if out_description is not None and one(out_description, description):
            return False
        return not ("filterout_category" in index and any_line(index["filterout_category"], categories))

    return matches
