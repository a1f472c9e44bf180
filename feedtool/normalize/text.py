"""Text: titles and names as clean text, descriptions as safe HTML, HTML as plain text.

Owns the characters XML cannot carry, the HTML subset kept (p, br, a[href], lists,
emphasis), the length limits, and the boilerplate (hosting footers, a show's own
patterns) dropped from descriptions. Text cut to a limit is reported through the
caller's ``warn``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable, Sequence

import nh3

from feedtool.model import Matcher
from feedtool.patterns import compile_rule

#: Titles longer than this are cut, with a warning.
MAX_TITLE = 1000
#: Descriptions longer than this (in characters of HTML) are cut, with a warning.
MAX_DESCRIPTION = 200_000

#: How a caller hears of a problem that does not stop it, e.g. ParseContext.warn.
Warn = Callable[[str], None]

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# Characters XML 1.0 forbids: no feed may carry them, whatever upstream sent.
#: Every character XML 1.0 forbids (it allows #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HAS_HTML = re.compile(r"</?(?:[a-z][a-z0-9]*)(?:\s[^<>]*)?/?>|&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.I)

ALLOWED_TAGS = frozenset({"p", "br", "a", "ul", "ol", "li", "em", "strong", "b", "i"})
_ALLOWED_ATTRIBUTES = {"a": {"href"}}
_URL_SCHEMES = {"http", "https", "mailto"}


def clean_text(text: str | None, limit: int = MAX_TITLE, *, warn: Warn | None = None) -> str:
    """A title or name as plain text: no HTML, entities decoded, whitespace squashed.

    Text longer than ``limit`` is cut, and ``warn`` told so.

    >>> clean_text("  Q&amp;A:  <b>open</b>\\n weights ")
    'Q&A: open weights'
    """
    if not text:
        return ""
    plain = _TAG.sub(" ", xml_safe(text))
    for _ in range(3):  # titles escaped twice or thrice upstream ("&amp;amp;") are common
        decoded = html.unescape(plain)
        if decoded == plain:
            break
        plain = _TAG.sub(" ", decoded)
    plain = " ".join(plain.split())
    if len(plain) > limit:
        if warn is not None:
            warn(f"text of {len(plain)} characters cut to {limit}")
        plain = plain[:limit].rstrip()
    return plain


def xml_safe(text: str) -> str:
    r"""Text without the control characters XML cannot carry.

    >>> xml_safe("a\x00b\x0cc\td")
    'abc\td'
    """
    return NOT_XML.sub("", text)


def is_html(text: str) -> bool:
    """Whether text carries HTML markup or entities, rather than plain text.

    >>> is_html("a < b"), is_html("<p>a</p>"), is_html("Q&amp;A")
    (False, True, True)
    """
    return _HAS_HTML.search(text) is not None


def text_to_html(text: str) -> str:
    """Plain text as HTML: each non-empty line a paragraph.

    >>> text_to_html("One & two\\n\\nThree")
    '<p>One &amp; two</p><p>Three</p>'
    """
    lines = (line.strip() for line in text.splitlines())
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines if line)


# Built once: nh3.clean() with these options builds its sanitizer on every call,
# which cost a third of sanitizing 500 bytes of notes.
_SANITIZER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS), attributes=_ALLOWED_ATTRIBUTES, url_schemes=_URL_SCHEMES, link_rel=None
)


def sanitize_html(markup: str) -> str:
    """Keep a safe subset of HTML: p, br, a[href], lists, emphasis; nothing executable."""
    return _SANITIZER.clean(markup).strip()


def html_to_text_lines(markup: str) -> str:
    """Sanitized HTML as plain text with each paragraph, item or line on a line of its own.

    >>> html_to_text_lines("<p>One</p><p>Two<br>Three</p>")
    'One\\nTwo\\nThree'
    """
    text = _TAG.sub(" ", _BLOCK_BOUNDARY.sub("\n", markup))
    if "&" in text:
        text = html.unescape(text)
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if not line.isspace() and line)


def html_to_text(markup: str) -> str:
    """Sanitized HTML as plain text, for searching and tag rules.

    >>> html_to_text("<p>Open&nbsp;models</p><p>and <a href='x'>more</a></p>")
    'Open models and more'
    """
    text = _TAG.sub(" ", markup)
    return " ".join((html.unescape(text) if "&" in text else text).split())  # split: 15x faster than a regex


# Hosting boilerplate, matched against each paragraph or line of a description, each
# with a word it cannot match without (looked for first: a substring test is cheap).
BUILTIN_BOILERPLATE = (
    # Substack's footer on every public podcast episode.
    (
        r"^\s*This is a public episode\. If you(?:['’]d| would) like to discuss this with other subscribers",
        "public episode",
    ),
    # Substack's "<Publication> is a reader-supported publication ..." call to action.
    (r"\bis a reader-supported publication\b", "reader-supported"),
    (r"^\s*Get full access to .{1,200} at \S+/subscribe\b", "full access"),
    # Hosts' ad-choice and privacy lines.
    (r"^\s*Hosted on Acast\. See acast\.com/privacy", "acast"),
    (r"^\s*Learn more about your ad[- ]?choices\. Visit \S*(?:megaphone\.fm|podcastchoices\.com)", "choices"),
    (r"^\s*(?:--- )?Send in a voice message: https?://(?:podcasters\.spotify\.com|anchor\.fm)/", "voice message"),
)

_BLOCK_BOUNDARY = re.compile(r"(</?(?:p|li|ul|ol)>|<br\s*/?>)")
_EMPTY_BLOCK = re.compile(r"<(p|li)>\s*</\1>|<(ul|ol)>\s*</\2>")
_BREAK_RUN = re.compile(r"(?:<br>\s*){2,}")
_EDGE_BREAKS = re.compile(r"^(?:\s*<br>)+|(?:<br>\s*)+$")


def strip_boilerplate(markup: str, patterns: Sequence[Matcher] = (), about: str | None = None) -> str:
    """Drop every paragraph, list item or line whose text matches a built-in pattern
    or one of the given rules. A rule that runs out of time raises RuleTimeoutError
    naming ``about`` (what the markup belongs to), else the start of the notes.

    >>> pats = compile_patterns([r"^Sponsor:"])
    >>> strip_boilerplate("<p>Talk</p><p>Sponsor: ACME</p><p>End<br>Sponsor: X</p>", pats)
    '<p>Talk</p><p>End</p>'
    """
    lowered = markup.lower()
    builtin = [p.search for p, needle in _BUILTIN if needle in lowered]
    if not builtin and not patterns:
        return markup
    # One pass over the whole text first, each block starting a line: most
    # descriptions hold no boilerplate, and looking block by block costs 20 times more.
    text = html_to_text_lines(markup)
    if patterns and about is None:  # parsers do not say whose notes these are
        about = f"the notes starting {text[:60]!r}" + ("…" if len(text) > 60 else "")
    candidates: list[Callable[[str], object]] = [
        *builtin,
        *(functools.partial(rule.search, about=about) for rule in patterns),
    ]
    searches = [search for search in candidates if search(text)]
    if not searches:
        return markup
    parts = _BLOCK_BOUNDARY.split(markup)
    changed = False
    for index in range(0, len(parts), 2):
        text = html_to_text(parts[index])
        if text and any(search(text) for search in searches):
            parts[index] = ""
            changed = True
    if not changed:
        return markup
    result = "".join(parts)
    previous = None
    while previous != result:
        previous = result
        result = _EMPTY_BLOCK.sub("", result)
    result = _BREAK_RUN.sub("<br>", result)
    return _EDGE_BREAKS.sub("", result.replace("<p><br>", "<p>").replace("<br></p>", "</p>"))


def compile_patterns(patterns: Iterable[str], where: str = "strip", timeout: float = 0.5) -> tuple[Matcher, ...]:
    """Compile boilerplate or tag patterns the way config.yaml's rules are applied."""
    return tuple(compile_rule(p, f"{where}[{index}]", timeout) for index, p in enumerate(patterns))


_BUILTIN = tuple((re.compile(p, re.IGNORECASE | re.MULTILINE), needle) for p, needle in BUILTIN_BOILERPLATE)


def clean_description(
    raw: str | None,
    patterns: Sequence[Matcher] = (),
    *,
    plain: bool = False,
    warn: Warn | None = None,
) -> str | None:
    """A description as safe HTML without boilerplate, or None.

    ``plain`` says the source gives plain text (markup-like text stays text);
    otherwise HTML is recognized by its tags and entities. A description longer
    than MAX_DESCRIPTION is cut, and ``warn`` told so.

    >>> clean_description("Use <b> for bold", plain=True)
    '<p>Use &lt;b&gt; for bold</p>'
    """
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_DESCRIPTION:
        if warn is not None:
            warn(f"description of {len(raw)} characters cut to {MAX_DESCRIPTION}")
        raw = raw[:MAX_DESCRIPTION]
    raw = xml_safe(raw)
    # Again after sanitizing: it decodes references, and '&#1;' becomes U+0001.
    markup = text_to_html(raw) if plain or not is_html(raw) else xml_safe(sanitize_html(raw))
    markup = strip_boilerplate(markup, patterns)
    return markup or None
