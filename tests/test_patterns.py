"""Bounded regexes: the size estimate against what `regex` really allocates, the refusals,
the cache, and the time bounds of config rules."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
import regex
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from feedtool.errors import PatternError, RuleTimeoutError
from feedtool.patterns import MAX_SIZE, RuleBudget, compile_bounded, compile_rule, expanded_size

#: What one estimated node may cost once compiled, and what any pattern costs besides.
BYTES_PER_NODE = 160
BASE_BYTES = 16 * 1024

SIZES = [
    ("literal", "abc", 3),
    ("fixed-repeat", "a{300}", 303),
    ("nested-repeats", "(?:a{300}){300}", 91_205),
    ("range-unrolls-its-minimum", "a{1000,}", 1003),
    ("wide-range-is-cheap", "a{1,65535}", 4),
    ("star", "(?:ab)*", 4),
    ("alternation", "(?:ab|cd){10}", 57),
    ("capture-group", "(a){10}", 46),
    ("set-counts-its-characters", "[a-z0-9]{10}", 68),
    ("set-starting-with-bracket", "[]a{50}]", 6),
    ("bracket-in-a-set", "[[]a{50}", 54),
    ("posix-class-in-a-set", "[[:alpha:]a{50}]", 14),
    ("escaped-brace", "a\\{50}", 5),
    ("grapheme-escape", "\\X{10}", 79),
    ("comment-between-item-and-count", "(?:a(?#x){9}){9}", 122),
    ("inline-flags-between-item-and-count", "a(?i){9}", 12),
    ("verbose-spaces", "(?x) (?:a{10} ) {10}", 145),
    ("verbose-comment-hides-a-paren", "(?x)(?:a # (\n){10}", 13),
    ("scoped-verbose-ends-with-its-group", "(?x:a) {10}", 14),
    ("not-verbose-outside", "(?:a) {10}", 14),
    ("conditional", "(a)(?(1)b{10}|c){10}", 193),
    ("lookahead-conditional", "(?(?=a{10})b|c){10}", 222),
    ("named-group-and-reference", "(?P<n>a{10})(?P=n){10}", 51),
    ("fuzzy-constraint-counts-its-characters", "(?:ab){e<=1}", 8),
    ("absurd-count", "a{" + "9" * 4400 + "}", 10**12),
]


@pytest.mark.parametrize(("pattern", "size"), [(p, s) for _, p, s in SIZES], ids=[i for i, _, _ in SIZES])
def test_expanded_size(pattern: str, size: int) -> None:
    assert expanded_size(pattern) == size


# Pieces of the syntax that change what a quantifier applies to, or where a group or set ends.
ATOMS = ["a", "b", "ab", "\\d", "\\w", "\\X", "\\R", ".", "[ab]", "[]x]", "[a-z0-9_]", "[\\w\\s-]", "[[:alpha:]x]",
         "\\b", "^", "$", "ß", "(?#c)", " ", "#", "(?i)"]  # fmt: skip
GROUPS = ["(?:{})", "({})", "(?P<g{n}>{})", "(?={})", "(?<!{})", "(?>{})", "(?i:{})", "(?x:{})", "(?|{})",
          "(?:{}){{e<=1}}", "(?x)(?:{}\n)"]  # fmt: skip
QUANTIFIERS = st.sampled_from(["", "*", "+?", "?", "{{{}}}", "{{{},}}", "{{{},60}}", "{{,{}}}", " {{{}}}"]).flatmap(
    lambda q: st.integers(0, 40).map(q.format)
)


def patterns() -> st.SearchStrategy[str]:
    """Nested groups of every kind, counted repeats and alternations, as hostile users write them."""

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        body = st.lists(inner, min_size=1, max_size=3).flatmap(
            lambda parts: st.sampled_from(["".join(parts), "|".join(parts)])
        )
        group = st.tuples(st.sampled_from(GROUPS), body, st.integers(0, 99)).map(
            lambda t: t[0].replace("{n}", str(t[2])).format(t[1])
        )
        return st.tuples(group, QUANTIFIERS).map("".join)

    return st.recursive(st.sampled_from(ATOMS), extend, max_leaves=12)


@pytest.fixture(scope="module")
def traced() -> Iterator[None]:
    for atom in ATOMS:  # tables the engine loads once (properties, graphemes) are not the pattern's
        regex.compile(atom, regex.V0, cache_pattern=False)
    tracemalloc.start()
    yield
    tracemalloc.stop()


# No explain phase: its line tracer allocates while the test measures.
@settings(
    max_examples=200,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pattern=patterns(), ignore_case=st.booleans())
@example(pattern="(?|(?x)(?:a\n){5}) {20}", ignore_case=False)  # first use of (?| and (?x) loads tables
def test_estimate_bounds_what_compiling_allocates(traced: None, pattern: str, ignore_case: bool) -> None:
    """The estimate is an upper bound: memory per estimated node stays under BYTES_PER_NODE."""
    estimate = expanded_size(pattern)
    if estimate > 50 * MAX_SIZE:
        return  # refused anyway; compiling it would only make the test slow
    flags = regex.V0 | (regex.IGNORECASE | regex.MULTILINE if ignore_case else 0)
    try:
        # Once unmeasured: the engine loads some tables on first use of a feature (verbose
        # mode, branch reset, ...), once per process; they are not this pattern's.
        regex.compile(pattern, flags, cache_pattern=False)
    except regex.error:
        return  # refused by regex before anything is built
    regex.purge()  # regex remembers each pattern's text; its growing dict is not this pattern's
    before = tracemalloc.get_traced_memory()[0]
    compiled = regex.compile(pattern, flags, cache_pattern=False)
    used = tracemalloc.get_traced_memory()[0] - before
    assert used <= BYTES_PER_NODE * estimate + BASE_BYTES, (pattern, estimate, used)
    del compiled


@pytest.mark.parametrize(
    ("pattern", "accepted"),
    [
        ("(?:a{65535}){65535}", "at most 5,000 nodes once its repeat counts are multiplied out"),
        ("(?:a{3000}){3000}", "(this one has about 9,012,005); use smaller counts"),
        ("a{" + "9" * 490 + "}", "(this one has about more than a trillion)"),
        ("x" * 501, "at most 500 characters"),
        ("(?if)[\\w-]", "without (?f) or (?V1)"),
        ("(?V1)[\\w-]", "without (?f) or (?V1)"),
        ("(unclosed", "a valid regular expression (missing )"),
    ],
    ids=["issue-65535", "issue-3000", "absurd-digits", "too-long", "full-case", "version-1", "invalid"],
)
def test_refusals_say_what_is_accepted(pattern: str, accepted: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_bounded(pattern)
    assert accepted in info.value.accepted


def test_flags() -> None:
    assert compile_bounded("Open").search("open", timeout=1) is False
    assert compile_bounded("Open", ignore_case=True).search("open", timeout=1) is True
    assert compile_bounded("^b", multiline=True).search("a\nb", timeout=1) is True
    assert compile_bounded("^b").search("a\nb", timeout=1) is False
    assert compile_bounded("(?-f)a{10}").search("a" * 10, timeout=1) is True  # turning full case off is fine


SLOW = "^(a|aa)+$"  # backtracks exponentially in regex too (unlike ^(a+)+$, which it optimizes)
SLOW_TEXT = "a" * 60 + "!"


def test_rule_that_runs_out_of_time_names_itself_and_the_text() -> None:
    rule = compile_rule(SLOW, "shows.s.tags.t.match[0]", 0.1)
    assert rule.search("AA") is True  # case-insensitive, as config rules always were
    with pytest.raises(RuleTimeoutError) as info:
        rule.search(SLOW_TEXT, "the title of episode 'x'")
    assert str(info.value) == (
        "shows.s.tags.t.match[0]: the regex '^(a|aa)+$' did not finish within 0.1 s (server.regex_timeout) "
        "on the title of episode 'x'; simplify it"
    )
    with pytest.raises(RuleTimeoutError, match="on a text starting 'aaaa"):
        rule.search(SLOW_TEXT)


def test_rules_of_one_source_share_a_budget() -> None:
    budget = RuleBudget(0.2)
    rule = compile_rule(SLOW, "shows.s.strip[0]", 5).within(budget)
    with pytest.raises(RuleTimeoutError, match=r"ran past the 0\.2 s that the rules of one source may take"):
        rule.search(SLOW_TEXT)
    assert budget.left() <= 0
    with pytest.raises(RuleTimeoutError, match=r"fetch\.deadline"):
        rule.search("a")  # nothing left: even a fast search is refused
    assert compile_rule(SLOW, "shows.s.strip[0]", 5).search("a") is True  # the rule itself is unchanged
