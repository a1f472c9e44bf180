"""One filter object, parsed by one function from query strings, CLI flags and config.

Pure: the store turns a :class:`Filter` into SQL; nothing here reads episodes.
Parameter names and meanings follow feedtool's own set plus RSSHub's common
parameters (https://docs.rsshub.app/guide/parameters), so existing links keep working.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from feedtool.errors import FilterError, PatternError
from feedtool.normalize.dates import format_iso
from feedtool.normalize.durations import parse_duration
from feedtool.normalize.identity import slugify
from feedtool.patterns import Regex, compile_bounded

MAX_LIMIT = 1000
#: Each word of ``q`` is one SQL condition; SQLite refuses expressions nested deeper
#: than 1,000, and no search needs more words than this.
MAX_WORDS = 50

#: RSSHub's regular-expression parameters, in the order they are documented.
REGEX_PARAMS = (
    "filter",
    "filter_title",
    "filter_description",
    "filter_category",
    "filterout",
    "filterout_title",
    "filterout_description",
    "filterout_category",
)

PARAMS = (
    "tag",
    "exclude_tag",
    "q",
    "since",
    "until",
    "min_duration",
    "max_duration",
    "limit",
    "sort",
    *REGEX_PARAMS,
    "filter_time",
    "filter_case_sensitive",
)

Sort = Literal["newest", "oldest"]


@dataclass(frozen=True)
class Pattern:
    """A user's regular expression, compiled, remembered with its source text."""

    param: str
    source: str
    compiled: Regex


@dataclass(frozen=True)
class Filter:
    """Which episodes of a show to keep, how many and in which order.

    Empty fields keep everything. ``tags`` keeps an episode with any of them;
    ``words`` keeps one whose title or description holds all of them.
    """

    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    limit: int | None = None
    sort: Sort | None = None
    patterns: tuple[Pattern, ...] = ()
    filter_time: int | None = None
    case_sensitive: bool = True

    def pattern(self, param: str) -> Pattern | None:
        """The compiled pattern given for an RSSHub parameter, if any."""
        for p in self.patterns:
            if p.param == param:
                return p
        return None

    def query(self) -> list[tuple[str, str]]:
        """This filter as canonical query parameters: same filter, same list."""
        items: list[tuple[str, str]] = []
        if self.tags:
            items.append(("tag", ",".join(self.tags)))
        if self.exclude_tags:
            items.append(("exclude_tag", ",".join(self.exclude_tags)))
        if self.words:
            items.append(("q", " ".join(self.words)))
        if self.since:
            items.append(("since", _format_time(self.since)))
        if self.until:
            items.append(("until", _format_time(self.until)))
        if self.min_duration is not None:
            items.append(("min_duration", str(self.min_duration)))
        if self.max_duration is not None:
            items.append(("max_duration", str(self.max_duration)))
        if self.limit is not None:
            items.append(("limit", str(self.limit)))
        if self.sort:
            items.append(("sort", self.sort))
        items.extend((p.param, p.source) for p in self.patterns)
        if self.filter_time is not None:
            items.append(("filter_time", str(self.filter_time)))
        if not self.case_sensitive:
            items.append(("filter_case_sensitive", "false"))
        return items

    @functools.cached_property
    def query_string(self) -> str:
        """``query()`` URL-encoded, made once per filter (a feed's ETag is made of it at every request)."""
        return urlencode(self.query())

    def describe(self) -> str:
        """A short human description for feed titles, e.g. 'tag open-models; max 30 min'."""
        parts: list[str] = []
        if self.tags:
            parts.append("tag " + " or ".join(self.tags))
        if self.exclude_tags:
            parts.append("not tag " + " or ".join(self.exclude_tags))
        if self.words:
            parts.append("search " + " ".join(self.words))
        if self.since:
            parts.append(f"since {_format_time(self.since)}")
        if self.until:
            parts.append(f"until {_format_time(self.until)}")
        if self.min_duration is not None:
            parts.append(f"min {_human_seconds(self.min_duration)}")
        if self.max_duration is not None:
            parts.append(f"max {_human_seconds(self.max_duration)}")
        if self.filter_time is not None:
            parts.append(f"last {_human_seconds(self.filter_time)}")
        order = "oldest" if self.sort == "oldest" else "latest"
        if self.limit is not None:
            parts.append(f"{order} {self.limit}")
        elif self.sort == "oldest":
            parts.append("oldest first")
        parts.extend(f"{_PATTERN_LABELS.get(p.param, p.param)} /{p.source}/" for p in self.patterns)
        if not self.case_sensitive and self.patterns:
            parts.append("ignoring case")
        return "; ".join(parts)

    def resolve(self, now: datetime) -> Filter:
        """This filter with ``filter_time`` made absolute, to the minute, at ``now``."""
        if self.filter_time is None:
            return self
        minute = now.astimezone(UTC).replace(second=0, microsecond=0)
        cutoff = minute - timedelta(seconds=self.filter_time)
        since = max(cutoff, self.since) if self.since else cutoff
        return replace(self, since=since, filter_time=None)


_PATTERN_LABELS = {
    "filter": "matching",
    "filter_title": "title matching",
    "filter_description": "description matching",
    "filter_category": "category matching",
    "filterout": "not matching",
    "filterout_title": "title not matching",
    "filterout_description": "description not matching",
    "filterout_category": "category not matching",
}


def _human_seconds(seconds: int) -> str:
    """A length of time as people say it.

    >>> _human_seconds(1800), _human_seconds(5400), _human_seconds(90), _human_seconds(30 * 86400)
    ('30 min', '1 h 30 min', '1 min 30 s', '30 days')
    """
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' * (days != 1)}"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    units = ((hours, "h"), (minutes, "min"), (secs, "s"))
    return " ".join(f"{n} {unit}" for n, unit in units if n) or "0 s"


def _format_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.time() == datetime.min.time():
        return moment.date().isoformat()
    return format_iso(moment)


def combine(filters: Iterable[Filter]) -> Filter:
    """Several filters that must all hold, as one (a named feed's, then a request's).

    Tag lists cannot be merged without changing their "any of" meaning, so the
    later filter's tags narrow the earlier ones only when the earlier has none.
    """
    result = Filter()
    for f in filters:
        result = Filter(
            tags=f.tags or result.tags,
            exclude_tags=tuple(dict.fromkeys((*result.exclude_tags, *f.exclude_tags))),
            words=tuple(dict.fromkeys((*result.words, *f.words))),
            since=_latest(result.since, f.since),
            until=_earliest(result.until, f.until),
            min_duration=_largest(result.min_duration, f.min_duration),
            max_duration=_smallest(result.max_duration, f.max_duration),
            limit=_smallest(result.limit, f.limit),
            sort=f.sort or result.sort,
            patterns=(*[p for p in result.patterns if f.pattern(p.param) is None], *f.patterns),
            filter_time=_smallest(result.filter_time, f.filter_time),
            case_sensitive=f.case_sensitive if f.patterns else result.case_sensitive,
        )
    return result


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _largest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _smallest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


ParamValue = str | int | float | bool | Sequence[str | int | float | bool]


def parse_filter(params: Mapping[str, ParamValue | None]) -> Filter:
    """Build a Filter from parameters; unknown names are ignored.

    Values may be strings, numbers or lists of them (query strings give lists).
    Raises FilterError naming the parameter, the value and what is accepted.

    >>> parse_filter({"tag": ["open-models,rlhf"], "limit": "5"}).query()
    [('tag', 'open-models,rlhf'), ('limit', '5')]
    """
    values = {k: _as_strings(v) for k, v in params.items() if k in PARAMS and v is not None}
    values = {k: v for k, v in values.items() if v}
    case_sensitive = _parse_bool("filter_case_sensitive", values.get("filter_case_sensitive"))
    sort = _last(values.get("sort"))
    if sort is not None and sort not in ("newest", "oldest"):
        raise FilterError("sort", sort, "one of: newest, oldest")
    since = _last(values.get("since"))
    window = _parse_window(since)
    return Filter(
        tags=_parse_tags("tag", values.get("tag", [])),
        exclude_tags=_parse_tags("exclude_tag", values.get("exclude_tag", [])),
        words=_parse_words("q", values.get("q", [])),
        since=None if window else _parse_time("since", since, end_of_day=False),
        until=_parse_time("until", _last(values.get("until")), end_of_day=True),
        min_duration=_parse_seconds("min_duration", _last(values.get("min_duration"))),
        max_duration=_parse_seconds("max_duration", _last(values.get("max_duration"))),
        limit=_parse_int("limit", _last(values.get("limit")), 1, MAX_LIMIT),
        sort="newest" if sort == "newest" else "oldest" if sort == "oldest" else None,
        patterns=tuple(
            _compile(name, source, case_sensitive)
            for name in REGEX_PARAMS
            if (source := _last(values.get(name))) is not None
        ),
        filter_time=_smallest(
            _parse_int("filter_time", _last(values.get("filter_time")), 1, 10**10, unit=" of seconds"), window
        ),
        case_sensitive=case_sensitive,
    )


def check_tags(flt: Filter, known: Iterable[str]) -> None:
    """Raise FilterError when the filter names a tag that is not among the known ones.

    A show's known tags are its tag rules' names and the tags its stored episodes
    carry: any other tag is a typo that would silently match nothing.
    """
    names = sorted(set(known))
    for param, tags in (("tag", flt.tags), ("exclude_tag", flt.exclude_tags)):
        for tag in tags:
            if tag not in names:
                shown = ", ".join(names) if names else "none yet (no tag rules, no tagged episodes)"
                raise FilterError(param, tag, f"a tag of this show: {shown}")


def _as_strings(value: ParamValue) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    result = []
    for item in items:
        if isinstance(item, bool):
            result.append("true" if item else "false")
        else:
            result.append(str(item).strip())
    return [item for item in result if item]


def _last(values: list[str] | None) -> str | None:
    return values[-1] if values else None


def _parse_tags(param: str, values: list[str]) -> tuple[str, ...]:
    tags: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            tag = slugify(part)
            if not tag:
                raise FilterError(param, _shorten(part), "tag names: letters, digits and hyphens")
            tags.append(tag)
    return tuple(dict.fromkeys(tags))


def _parse_words(param: str, values: list[str]) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(w.casefold() for v in values for w in v.split()))
    if len(words) > MAX_WORDS:
        shown = " ".join(words[:5]) + " …"
        raise FilterError(param, shown, f"at most {MAX_WORDS} words ({len(words)} given)")
    return words


_WINDOW = re.compile(r"(\d{1,7})\s*([wdhm])", re.IGNORECASE)
_WINDOW_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


def _parse_window(value: str | None) -> int | None:
    """A relative ``since`` such as 30d, 2w, 12h or 90m as seconds back from now, else None.

    >>> _parse_window("30d"), _parse_window("12h"), _parse_window("2026-01-01")
    (2592000, 43200, None)
    """
    match = _WINDOW.fullmatch(value) if value is not None else None
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * _WINDOW_UNITS[match.group(2).lower()]


def _parse_time(param: str, value: str | None, *, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    accepted = "a date YYYY-MM-DD or an ISO 8601 datetime such as 2026-05-26T10:00:00Z"
    if param == "since":
        accepted += ", or a window back from now such as 30d, 2w, 12h or 90m"
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            # An 'until' day includes that whole day (computed in place: the day after
            # 9999-12-31 does not exist).
            return day.replace(hour=23, minute=59, second=59, microsecond=999999) if end_of_day else day
        moment = datetime.fromisoformat(value.replace(" ", "+") if "T" in value else value)
    except ValueError as exc:
        raise FilterError(param, _shorten(value), accepted) from exc
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-23:59 is in the year 10000
        raise FilterError(param, _shorten(value), "a time from 0001-01-01 to 9999-12-31 UTC") from exc


def _parse_seconds(param: str, value: str | None) -> int | None:
    if value is None:
        return None
    if value.strip("0") == "":
        return 0
    seconds = parse_duration(value)
    if seconds is None:
        raise FilterError(param, _shorten(value), "seconds, or a duration such as 90m, 1h30m, 1:30:00")
    return seconds


def _parse_int(param: str, value: str | None, low: int, high: int, *, unit: str = "") -> int | None:
    if value is None:
        return None
    # isdecimal, not isdigit: int() refuses '²' and '①', which isdigit accepts; and
    # int() refuses more than 4,300 digits, so longer numbers are out of range unread.
    digits = value.lstrip("0")
    if not value.isdecimal() or len(digits) > len(str(high)) or not low <= int(digits or "0") <= high:
        raise FilterError(param, _shorten(value), f"a whole number{unit} from {low} to {high}")
    return int(digits or "0")


def _shorten(value: str) -> str:
    """A value as quoted back in an error: a 5,000-digit number is not repeated."""
    return value if len(value) <= 40 else value[:40] + "…"


def _parse_bool(param: str, values: list[str] | None) -> bool:
    value = _last(values)
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise FilterError(param, value, "true or false")


def _compile(param: str, source: str, case_sensitive: bool) -> Pattern:
    try:
        compiled = compile_bounded(source, ignore_case=not case_sensitive)
    except PatternError as exc:
        raise FilterError(param, exc.value, exc.accepted) from exc
    return Pattern(param, source, compiled)


class RegexBudget:
    """Bounds the total time user regexes may run for one request.

    Catastrophic backtracking cannot hang a worker: each search gets what is left
    of the budget, and running out raises FilterError.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def search(self, pattern: Pattern, text: str) -> bool:
        """Whether the pattern matches somewhere in text, within the budget."""
        remaining = self.deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            return pattern.compiled.search(text, timeout=remaining)
        except TimeoutError as exc:
            raise FilterError(
                pattern.param,
                pattern.source,
                f"a regular expression that finishes within {self.seconds:g} s; simplify it",
            ) from exc
