"""Bounded regular expressions: every regex a user gives, in a query or in config.yaml.

The ``regex`` module unrolls counted repeats when it compiles: ``a{300}`` becomes 300
nodes of about 125 bytes each, and nested counts multiply, so ``(?:a{3000}){3000}``
took 2.4 GB and ``(?:a{65535}){65535}`` more than any machine has (issue 9). Its own
cache also keeps the last 500 compiled patterns of a process. So a pattern here is

- at most :data:`MAX_LENGTH` characters, and at most :data:`MAX_SIZE` nodes once its
  repeat counts are multiplied out, as :func:`expanded_size` estimates from its text
  before anything is compiled;
- compiled outside the module's cache, behind an LRU of :data:`CACHE_SIZE` patterns;
- searched with a timeout.

This is the only module that imports ``regex``.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field

import regex

from feedtool.errors import PatternError, RuleTimeoutError

MAX_LENGTH = 500
#: Nodes of a compiled pattern, as expanded_size estimates them: at most ~800 kB.
MAX_SIZE = 5_000
CACHE_SIZE = 32

# Flags that turn on full case-folding, which turns a set such as [\w-] into a table of
# ~18 kB under IGNORECASE: f itself, and version 1 (whose default it is).
_FULL_CASE_FLAGS = ("f", "V1")
_FLAG_LETTERS = frozenset("abefiLmprsuwx")
_DIGITS = frozenset("0123456789")
_NAME_END = frozenset(")>")
_POSIX_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &_-.")
_POSIX_VALUE = _POSIX_NAME | {"/"}
# Escapes that compile to several nodes: a grapheme cluster, a line ending.
_ESCAPE_SIZE = {"X": 7, "R": 7}
_HUGE = 10**12  # any size past the limit; keeps the arithmetic small


def expanded_size(pattern: str) -> int:
    """About how many nodes ``regex`` builds for a pattern, its repeat counts multiplied out.

    Each character, escape or set member counts one node; a quantifier with minimum m
    (``{m}``, ``{m,n}``, ``{m,}``, ``*``, ``+``, ``?``) multiplies what it repeats by
    m + 1, plus 2, since the engine unrolls the minimum (not the maximum); capture
    groups and lookarounds add a few. Measured on thousands of random patterns, a
    counted node never took more than 160 bytes (tests/test_patterns.py). The scanner
    follows the syntax of ``regex`` version 0, verbose mode and comments included, so
    that no spelling hides a repeat from it.

    >>> expanded_size("(?:a{300}){300}"), expanded_size("a{1,65535}"), expanded_size("(?:ab|cd){100}")
    (91205, 4, 507)
    >>> expanded_size("(?x) (?:a{10} ) {10}  # the count applies to the group")
    145
    >>> expanded_size("(?|(?x)a{10}) {10}")  # (?x) set in a branch reset group outlives it
    167
    >>> expanded_size("a{" + "9" * 4400 + "}") >= _HUGE
    True
    """
    return _Scanner(pattern).run().size


@dataclass
class _Frame:
    """A group being scanned: the size of its finished alternatives and current one."""

    verbose: bool  # the verbose flag outside, restored when the group closes
    overhead: int = 0
    branches: int = 0
    size: int = 0
    last: int | None = None  # the size of the last item: what a quantifier repeats
    branch_reset: bool = False  # (?|...): its inline flags outlive it


@dataclass
class _Scan:
    size: int
    full_case: bool


class _Scanner:
    """A single pass over a pattern that mirrors how ``regex`` (version 0) parses it:
    where groups, sets, escapes and comments begin and end, and what a quantifier applies to."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0
        self.verbose = False  # (?x) turns it on, for the rest of its group or inside (?x:...)
        self.full_case = False
        self.stack = [_Frame(verbose=False)]

    # --- reading, with verbose mode's whitespace and comments skipped as regex does

    def _skip(self) -> None:
        if not self.verbose:
            return
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace():
                self.pos += 1
            elif text[self.pos] == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def get(self, raw: bool = False) -> str:
        if not raw:
            self._skip()
        if self.pos >= len(self.text):
            return ""
        self.pos += 1
        return self.text[self.pos - 1]

    def peek(self) -> str:
        saved = self.pos
        char = self.get()
        self.pos = saved
        return char

    def match(self, expected: str) -> bool:
        saved = self.pos
        for char in expected:
            if self.get() != char:
                self.pos = saved
                return False
        return True

    def get_while(self, chars: frozenset[str], include: bool = True) -> str:
        found: list[str] = []
        while True:
            saved = self.pos
            char = self.get()
            if not char or (char in chars) != include:
                self.pos = saved
                return "".join(found)
            found.append(char)

    # --- structure

    def run(self) -> _Scan:
        while True:
            char = self.get()
            if not char:
                break
            frame = self.stack[-1]
            if char == "|":
                frame.branches += frame.size + 1
                frame.size, frame.last = 0, None
            elif char == ")" and len(self.stack) > 1:
                self.close()
            elif char == "\\":
                self.item(_ESCAPE_SIZE.get(self.get(raw=True), 1))
            elif char == "(":
                self.paren()
            elif char == "[":
                self.item(self.charset())
            elif char in "?*+{":
                self.quantifier(char)
            else:
                self.item(1)
        while len(self.stack) > 1:  # unbalanced: regex refuses it, but count what is there
            self.close()
        frame = self.stack[0]
        return _Scan(min(frame.branches + frame.size, _HUGE), self.full_case)

    def item(self, size: int) -> None:
        frame = self.stack[-1]
        frame.size = min(frame.size + size, _HUGE)
        frame.last = size

    def open(self, overhead: int, branch_reset: bool = False) -> None:
        self.stack.append(_Frame(self.verbose, overhead=overhead, branch_reset=branch_reset))

    def close(self) -> None:
        frame = self.stack.pop()
        if not frame.branch_reset:  # regex keeps flags set inside (?|...) after it closes
            self.verbose = frame.verbose
        self.item(frame.overhead + frame.branches + frame.size)

    def quantifier(self, char: str) -> None:
        counts = {"?": (0, 1), "*": (0, None), "+": (1, None)}.get(char) or self.counts()
        frame = self.stack[-1]
        if counts is None:
            self.item(1)  # a literal '{', or a fuzzy constraint: its characters count as nodes
            return
        saved = self.pos
        if self.get() not in ("?", "+"):  # lazy or possessive
            self.pos = saved
        if frame.last is None:
            return  # nothing to repeat: regex refuses the pattern
        repeated = frame.last * (counts[0] + 1) + 2
        frame.size = min(frame.size - frame.last + repeated, _HUGE)
        frame.last = None

    def counts(self) -> tuple[int, int | None] | None:
        """The counts of '{m}', '{m,}', '{,n}' or '{m,n}' just after '{', else None."""
        saved = self.pos
        low = self.get_while(_DIGITS)
        counts: tuple[int, int | None] | None = None
        if self.match(","):
            high = self.get_while(_DIGITS)
            counts = (_count(low or "0"), _count(high) if high else None)
        elif low:
            counts = (_count(low), _count(low))
        if counts is None or not self.match("}"):
            self.pos = saved
            return None
        return counts

    def charset(self) -> int:
        """Skip a set after '['; its size is the count of characters in it."""
        start = self.pos
        text = self.text
        self.pos += text.startswith("^", self.pos)
        first = True
        while self.pos < len(text):
            char = text[self.pos]
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            self.pos += 1
            if char == "\\":
                self.pos += 1
            elif char == "[" and text.startswith(":", self.pos):
                self.posix_class()
        return max(self.pos - start - 1, 1)

    def posix_class(self) -> None:
        """After '[' in a set: skip ':name:]' if it is a POSIX class, as regex reads one."""
        saved = self.pos
        text = self.text
        self.pos += 1 + text.startswith("^", self.pos + 1)
        self.pos = _span(text, self.pos, _POSIX_NAME)
        if self.pos < len(text) and text[self.pos] in ":=":
            value_end = _span(text, self.pos + 1, _POSIX_VALUE)
            if text[self.pos + 1 : value_end].strip():
                self.pos = value_end
        if text.startswith(":]", self.pos):
            self.pos += 2
        else:
            self.pos = saved

    def paren(self) -> None:
        """After '(': a group, a comment, inline flags, a conditional, a reference or a call."""
        saved = self.pos
        char = self.get(raw=True)
        if char == "*":
            verb = self.get_while(_NAME_END, include=False)
            if verb[:1].isalpha() and self.match(")"):
                self.item(1)
                return
            self.pos = saved
        if char != "?":
            self.pos = saved
            self.open(overhead=3)  # a capture group
            return
        after_mark = self.pos
        char = self.get(raw=True)
        if char == "#":
            self.comment()
        elif char == "<":
            name = self.pos
            if self.get() not in ("=", "!"):  # a named group; else a lookbehind
                self.pos = name
                self.get_while(_NAME_END, include=False)
                self.match(">")
                self.open(overhead=3)
            else:
                self.open(overhead=2)
        elif char in ("=", "!", ">", "|"):
            self.open(overhead=2, branch_reset=char == "|")
        elif char == "P":
            kind = self.get()
            self.get_while(_NAME_END, include=False)
            if kind == "<":
                self.match(">")
                self.open(overhead=3)
            else:  # (?P=name) a reference, (?P>name) a call
                self.match(")")
                self.item(3)
        elif char == "(":
            self.conditional()
        elif char == "R" or char in _DIGITS or char == "&" or (char in "+-" and self.peek() in _DIGITS):
            self.get_while(_NAME_END, include=False)
            self.match(")")
            self.item(3)
        else:
            self.pos = after_mark
            self.flags()

    def comment(self) -> None:
        """Skip '(?#...)' up to its ')': it is transparent, even between an item and its quantifier."""
        text = self.text
        while self.pos < len(text) and text[self.pos] != ")":
            self.pos += 2 if text[self.pos] == "\\" else 1
        self.pos += 1

    def conditional(self) -> None:
        """After '(?(': a lookaround condition is a group inside; a named one ends at ')'."""
        saved = self.pos
        self.open(overhead=2)
        if self.get() == "?":
            char = self.get()
            if char == "<":
                char = self.get()
            if char in ("=", "!"):
                self.open(overhead=2)
                return
        self.pos = saved
        self.get_while(_NAME_END, include=False)
        self.match(")")

    def flags(self) -> None:
        """After '(?': flags on, '-' flags off, then ':' opens a group or ')' sets them for the rest of this one."""
        on = self.flag_set()
        off = self.flag_set() if self.match("-") else []
        if any(flag in on for flag in _FULL_CASE_FLAGS):
            self.full_case = True
        verbose = ("x" in on or self.verbose) and "x" not in off
        if self.match(":"):
            self.open(overhead=0)
            self.verbose = verbose
        elif self.match(")"):
            self.verbose = verbose
        else:
            self.open(overhead=2)  # regex refuses it; count the rest as a group

    def flag_set(self) -> list[str]:
        found: list[str] = []
        while True:
            saved = self.pos
            char = self.get()
            if char == "V":
                char += self.get()
                if char in ("V0", "V1"):
                    found.append(char)
                    continue
            elif char in _FLAG_LETTERS:
                found.append(char)
                continue
            self.pos = saved
            return found


def _span(text: str, pos: int, chars: frozenset[str]) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _count(digits: str) -> int:
    """A repeat count; absurd digit strings are just huge (int() refuses over 4,300 digits)."""
    return int(digits) if len(digits) <= 12 else _HUGE


# --- compiling and searching ---------------------------------------------------------


@dataclass(frozen=True)
class Regex:
    """A compiled user regex, within the size bound; searched with a timeout."""

    source: str
    ignore_case: bool
    multiline: bool
    compiled: regex.Pattern[str] = field(repr=False, compare=False)

    def search(self, text: str, *, timeout: float) -> bool:
        """Whether it matches somewhere in text; TimeoutError after ``timeout`` seconds."""
        return self.compiled.search(text, timeout=timeout) is not None


def compile_bounded(source: str, *, ignore_case: bool = False, multiline: bool = False) -> Regex:
    """Compile a user's regex (``regex`` version 0, Python's syntax) within the bounds.

    Raises PatternError saying what is accepted: at most MAX_LENGTH characters, at
    most MAX_SIZE nodes, no full case-folding, valid syntax.

    >>> compile_bounded("open (source )?models?", ignore_case=True).search("Open Models", timeout=1)
    True
    >>> compile_bounded("(?:a{300}){300}")
    Traceback (most recent call last):
    ...
    feedtool.errors.PatternError: '(?:a{300}){300}': expected a regular expression of at most 5,000 nodes \
once its repeat counts are multiplied out (this one has about 91,205); use smaller counts
    """
    if len(source) > MAX_LENGTH:
        raise PatternError(source[:40] + "…", f"a regular expression of at most {MAX_LENGTH} characters")
    scan = _Scanner(source).run()
    if scan.size > MAX_SIZE:
        about = f"{scan.size:,}" if scan.size < _HUGE else "more than a trillion"
        raise PatternError(
            source,
            f"a regular expression of at most {MAX_SIZE:,} nodes once its repeat counts are multiplied out "
            f"(this one has about {about}); use smaller counts",
        )
    if scan.full_case:
        accepted = "a regular expression without (?f) or (?V1): their full case-folding makes sets huge"
        raise PatternError(source, accepted)
    flags = regex.V0 | (regex.IGNORECASE if ignore_case else 0) | (regex.MULTILINE if multiline else 0)
    try:
        compiled = _compile(source, flags)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise PatternError(source, f"a valid regular expression ({exc})") from exc
    return Regex(source, ignore_case, multiline, compiled)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile(source: str, flags: int) -> regex.Pattern[str]:
    try:
        # cache_pattern=False: the module's own cache would keep 500 patterns per process.
        return regex.compile(source, flags, cache_pattern=False)
    finally:
        # Even so, regex remembers each pattern's text (is it locale-sensitive?) until
        # its cache is purged, which an empty cache never is: 0.5 kB per distinct pattern.
        regex.purge()


# --- rules from config.yaml ----------------------------------------------------------


class RuleBudget:
    """The time all the rules of one source's refresh may take together; shared by threads."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent = 0.0
        self._lock = threading.Lock()

    def left(self) -> float:
        """Seconds not yet spent."""
        with self._lock:
            return self.seconds - self._spent

    def spend(self, seconds: float) -> None:
        """Record seconds spent matching."""
        with self._lock:
            self._spent += seconds


@dataclass(frozen=True)
class Rule:
    """A tag or strip regex from config.yaml: where it is written, compiled within the
    size bound, and searched within ``timeout`` seconds per match (and the budget, if any)."""

    where: str  # e.g. shows.x.tags.y.match[0]
    regex: Regex
    timeout: float
    budget: RuleBudget | None = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        return self.regex.source

    def within(self, budget: RuleBudget) -> Rule:
        """This rule, sharing the given budget with the other rules of a refresh."""
        return Rule(self.where, self.regex, self.timeout, budget)

    def search(self, text: str, about: str | None = None) -> bool:
        """Whether the rule matches somewhere in text; RuleTimeoutError naming the rule and
        ``about`` (what the text belongs to, e.g. an episode) when it runs out of time."""
        seconds = self.timeout if self.budget is None else min(self.timeout, self.budget.left())
        started = time.monotonic()
        try:
            if seconds <= 0:
                raise TimeoutError
            return self.regex.search(text, timeout=seconds)
        except TimeoutError as exc:
            if seconds < self.timeout and self.budget is not None:
                limit = self.budget.seconds
                reason = f"ran past the {limit:g} s that the rules of one source may take (fetch.deadline)"
            else:
                reason = f"did not finish within {self.timeout:g} s (server.regex_timeout)"
            raise RuleTimeoutError(self.where, self.source, reason, about or _excerpt(text)) from exc
        finally:
            if self.budget is not None:
                self.budget.spend(time.monotonic() - started)


def compile_rule(source: str, where: str, timeout: float) -> Rule:
    """A config rule, matched as config rules are: case-insensitive, ^ and $ at each line."""
    return Rule(where, compile_bounded(source, ignore_case=True, multiline=True), timeout)


def _excerpt(text: str) -> str:
    return f"a text starting {text[:60]!r}" if len(text) > 60 else f"the text {text!r}"
