"""One filter parser for query strings, flags and config: every parameter, good and bad."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from feedtool.errors import FilterError
from feedtool.filters import MAX_WORDS, Filter, RegexBudget, combine, parse_filter

GOOD = [
    ({"tag": ["open-models"]}, {"tags": ("open-models",)}),
    ({"tag": ["a,b", "c"]}, {"tags": ("a", "b", "c")}),
    ({"tag": "Open Models"}, {"tags": ("open-models",)}),
    ({"exclude_tag": ["x,y"]}, {"exclude_tags": ("x", "y")}),
    ({"q": ["Open  WEIGHTS"]}, {"words": ("open", "weights")}),
    ({"since": ["2026-05-01"]}, {"since": datetime(2026, 5, 1, tzinfo=UTC)}),
    ({"until": ["2026-05-01"]}, {"until": datetime(2026, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)}),
    ({"since": ["2026-05-01T10:00:00Z"]}, {"since": datetime(2026, 5, 1, 10, tzinfo=UTC)}),
    ({"since": ["2026-05-01T12:00:00+02:00"]}, {"since": datetime(2026, 5, 1, 10, tzinfo=UTC)}),
    # a "+" in a query string arrives as a space
    ({"since": ["2026-05-01T12:00:00 02:00"]}, {"since": datetime(2026, 5, 1, 10, tzinfo=UTC)}),
    ({"min_duration": ["600"]}, {"min_duration": 600}),
    ({"min_duration": ["90m"]}, {"min_duration": 5400}),
    ({"max_duration": ["1h30m"]}, {"max_duration": 5400}),
    ({"max_duration": ["1:30:00"]}, {"max_duration": 5400}),
    ({"min_duration": ["0"]}, {"min_duration": 0}),
    ({"limit": ["5"]}, {"limit": 5}),
    ({"limit": 1000}, {"limit": 1000}),
    ({"sort": ["oldest"]}, {"sort": "oldest"}),
    ({"sort": ["newest"]}, {"sort": "newest"}),
    ({"filter_time": ["3600"]}, {"filter_time": 3600}),
    # a relative since is a window back from now, as filter_time (issue 13)
    ({"since": ["30d"]}, {"filter_time": 30 * 86400}),
    ({"since": ["2w"]}, {"filter_time": 14 * 86400}),
    ({"since": ["12h"], "filter_time": ["3600"]}, {"filter_time": 3600}),
    ({"filter_case_sensitive": ["false"]}, {"case_sensitive": False}),
    ({"filter_case_sensitive": False}, {"case_sensitive": False}),
    ({"utm_source": ["podcast-app"], "format": ["x"]}, {}),
    ({"tag": [""], "q": [""]}, {}),
    # the last day and the first instant a datetime holds (regression: 'until' overflowed)
    ({"until": ["9999-12-31"]}, {"until": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)}),
    ({"since": ["0001-01-01"]}, {"since": datetime(1, 1, 1, tzinfo=UTC)}),
    ({"since": ["0001-01-01T01:00:00+01:00"]}, {"since": datetime(1, 1, 1, tzinfo=UTC)}),
    ({"q": [" ".join(f"w{n}" for n in range(MAX_WORDS))]}, {"words": tuple(f"w{n}" for n in range(MAX_WORDS))}),
    ({"limit": ["0005"]}, {"limit": 5}),
]


@pytest.mark.parametrize(("params", "fields"), GOOD, ids=[str(p) for p, _ in GOOD])
def test_parse(params: dict[str, object], fields: dict[str, object]) -> None:
    flt = parse_filter(params)  # type: ignore[arg-type]
    for name, value in fields.items():
        assert getattr(flt, name) == value
    untouched = {k: v for k, v in vars(Filter()).items() if k not in fields}
    assert {k: getattr(flt, k) for k in untouched} == untouched


def test_regex_parameters_compile_with_rsshub_case_rule() -> None:
    flt = parse_filter({"filter": ["Open|Closed"], "filterout_title": ["(?i)sponsor"]})
    assert [p.param for p in flt.patterns] == ["filter", "filterout_title"]
    assert flt.patterns[0].compiled.search("open", timeout=1) is False  # case-sensitive by default, as RSSHub
    insensitive = parse_filter({"filter": ["Open"], "filter_case_sensitive": ["false"]})
    assert insensitive.patterns[0].compiled.search("open models", timeout=1) is True


BAD = [
    ("tag", "!!!", "tag names"),
    ("since", "yesterday", "a date YYYY-MM-DD or an ISO 8601 datetime"),
    ("until", "2026-13-01", "a date YYYY-MM-DD"),
    ("min_duration", "long", "seconds, or a duration such as 90m"),
    ("max_duration", "-5", "seconds, or a duration"),
    ("limit", "0", "a whole number from 1 to 1000"),
    ("limit", "1001", "a whole number from 1 to 1000"),
    ("limit", "ten", "a whole number from 1 to 1000"),
    ("sort", "random", "one of: newest, oldest"),
    ("filter", "(unclosed", "a valid regular expression"),
    ("filterout_description", "[z-a]", "a valid regular expression"),
    ("filter_time", "-1", "a whole number"),
    # issue 13: the message says the unit, and until takes no window
    ("filter_time", "30d", "a whole number of seconds from 1 to 10000000000"),
    ("since", "yesterday", "or a window back from now such as 30d"),
    ("until", "30d", "a date YYYY-MM-DD or an ISO 8601 datetime such as 2026-05-26T10:00:00Z"),
    ("filter_case_sensitive", "maybe", "true or false"),
    ("filter_title", "x" * 501, "at most 500 characters"),
    # values that overflowed into a 500 (issue 9, item 8)
    ("until", "9999-12-31T23:59:59-23:59", "from 0001-01-01 to 9999-12-31 UTC"),
    ("since", "0001-01-01T00:00:00+01:00", "from 0001-01-01 to 9999-12-31 UTC"),
    ("limit", "\u00b2", "a whole number from 1 to 1000"),
    ("limit", "\u2460", "a whole number from 1 to 1000"),
    ("filter_time", "\u00b2", "a whole number"),
    ("limit", "9" * 5000, "a whole number from 1 to 1000"),
    ("filter_time", "9" * 5000, "a whole number"),
    ("min_duration", "9" * 5000, "seconds, or a duration"),
    ("max_duration", "1:" + "9" * 5000 + ":00", "seconds, or a duration"),
    # more words than SQLite's expression depth allows (issue 9, item 9)
    ("q", " ".join(f"w{n}" for n in range(1000)), f"at most {MAX_WORDS} words"),
    ("q", " ".join(f"w{n}" for n in range(MAX_WORDS + 1)), f"at most {MAX_WORDS} words"),
    # Issue 9: counted repeats multiply when compiled; these took 24 MB, 2.4 GB, all memory.
    ("filter", "(?:a{300}){300}", "at most 5,000 nodes once its repeat counts are multiplied out"),
    ("filter_title", "(?:a{3000}){3000}", "(this one has about 9,012,005)"),
    ("filterout", "(?:a{65535}){65535}", "at most 5,000 nodes"),
    ("filter", "a{" + "9" * 490 + "}", "at most 5,000 nodes"),  # absurd digits: no ValueError
    ("filter", "(?f)[\\w-]", "without (?f) or (?V1)"),
]


@pytest.mark.parametrize(("param", "value", "accepted"), BAD, ids=[f"{p}={v[:12]}" for p, v, _ in BAD])
def test_invalid_values_name_parameter_value_and_what_is_accepted(param: str, value: str, accepted: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter({param: [value]})
    assert info.value.param == param
    assert accepted in str(info.value)
    assert str(info.value).startswith(f"{param}=")


def test_query_is_canonical_and_round_trips() -> None:
    flt = parse_filter({"sort": "oldest", "tag": "b,a", "q": "x", "limit": "3", "filter": "y"})
    assert flt.query() == [("tag", "b,a"), ("q", "x"), ("limit", "3"), ("sort", "oldest"), ("filter", "y")]
    assert parse_filter({k: [v] for k, v in flt.query()}) == flt
    assert flt.describe() == "tag b or a; search x; oldest 3; matching /y/"


@pytest.mark.parametrize(
    ("params", "described"),
    [
        ({"max_duration": "1800"}, "max 30 min"),
        ({"min_duration": "1h30m"}, "min 1 h 30 min"),
        ({"min_duration": "90"}, "min 1 min 30 s"),
        ({"filter_time": str(30 * 86400)}, "last 30 days"),
        ({"exclude_tag": "ads", "since": "2026-01-01"}, "not tag ads; since 2026-01-01"),
        ({"limit": "5"}, "latest 5"),
        ({"sort": "oldest"}, "oldest first"),
        (
            {"filterout_title": "trailer", "filter_case_sensitive": "false"},
            "title not matching /trailer/; ignoring case",
        ),
    ],
)
def test_describe_speaks_in_human_terms(params: dict[str, str], described: str) -> None:
    """Feed titles read "max 30 min", not "max: 1800" (issue 13)."""
    assert parse_filter(params).describe() == described


def test_times_of_early_years_round_trip() -> None:
    """Regression: year 1 was written '1-01-01T...', which the parser refuses."""
    flt = parse_filter({"since": "0001-01-01T00:00:01Z", "until": "0999-01-01T10:00:00Z"})
    assert flt.query() == [("since", "0001-01-01T00:00:01Z"), ("until", "0999-01-01T10:00:00Z")]
    assert parse_filter({k: [v] for k, v in flt.query()}) == flt


def test_combine_narrows() -> None:
    named = parse_filter({"tag": "open-models", "limit": "50"})
    request = parse_filter({"limit": "5", "q": "china", "sort": "oldest"})
    both = combine((named, request))
    assert both.tags == ("open-models",)
    assert both.limit == 5
    assert both.words == ("china",)
    assert both.sort == "oldest"


def test_filter_time_resolves_to_the_minute() -> None:
    now = datetime(2026, 5, 26, 10, 30, 45, tzinfo=UTC)
    resolved = parse_filter({"filter_time": "3600"}).resolve(now)
    assert resolved.since == datetime(2026, 5, 26, 9, 30, tzinfo=UTC)
    assert resolved.filter_time is None
    assert resolved == parse_filter({"filter_time": "3600"}).resolve(now + timedelta(seconds=10))


def test_runaway_regex_is_stopped_by_the_budget() -> None:
    flt = parse_filter({"filter_title": ["(x+x+)+y"]})
    budget = RegexBudget(0.2)
    with pytest.raises(FilterError, match=r"^filter_title='\(x\+x\+\)\+y': .*finishes within 0\.2 s"):  # noqa: PT012 - the budget spans calls
        for _ in range(100):
            budget.search(flt.patterns[0], "x" * 5000)


def test_compiled_patterns_are_not_kept_beyond_a_small_cache() -> None:
    """Issue 9: distinct patterns per request grew each worker without end: the regex
    module keeps 500 compiled patterns, and the text of every pattern it compiled."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(3000):
            parse_filter({"filter_title": [f"episode {n}"]})
        small = tracemalloc.get_traced_memory()[0] - before
        for n in range(100):  # ~1,400 nodes, ~180 kB compiled, each; distinct by a comment
            parse_filter({"filter": [f"(?:a{{30}}){{45}}(?#{n})"]})
        large = tracemalloc.get_traced_memory()[0] - before - small
    finally:
        tracemalloc.stop()
    assert small < 300 * 2**10, f"{small / 2**10:.0f} kB kept after 3,000 small patterns"
    assert large < 10 * 2**20, f"{large / 2**20:.0f} MB kept after 100 large patterns"
