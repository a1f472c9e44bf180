"""The Filter-to-SQL compiler, and the regex functions the compiled SQL calls.

Every condition of a filter runs inside SQLite: tags through ``episode_tags``,
words through the ``search`` column, RSSHub's regex parameters through ``ft_match``
and ``ft_match_any``, which search with a shared time budget.
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
    regex_parts = _regex_where(flt) if regex else []
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


def register_regex(
    db: sqlite3.Connection, patterns: Sequence[Pattern], budget: RegexBudget, failure: list[FilterError]
) -> None:
    """Define ft_match and ft_match_any on a connection for one query's patterns.

    A pattern that runs out of time raises inside SQLite, which reports only that a
    function failed; the FilterError saying why is appended to ``failure``.
    """

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

    db.create_function("ft_match", 2, search, deterministic=True)
    db.create_function("ft_match_any", 2, search_any, deterministic=True)


def regex_matcher(patterns: Sequence[Pattern], budget: RegexBudget) -> Callable[[str, str | None, str | None], bool]:
    """RSSHub's filter parameters as a Python predicate on (title, description, categories).

    The same conditions as ``_regex_where``, for stores whose own regex dialect differs
    from the ``regex`` module's (PostgreSQL's: ``\\b``, ``.`` and newlines, ``(?s)``):
    they filter candidate rows with it. ``description`` is the content, else the
    description, else the title, as ``_DESCRIPTION``.
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
