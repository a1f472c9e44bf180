"""Pure normalization: durations, dates, titles, HTML, boilerplate, GUIDs, match keys.

Nothing here touches the outside world; every function takes and returns plain values.
Unknown values are ``None``, never 0 or -1.
"""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser.datetimes
import nh3

log = logging.getLogger(__name__)

#: Durations above this are not believed: no episode lasts more than a week.
MAX_DURATION = 7 * 24 * 3600
#: Longer duration texts are not read: int() refuses more than 4,300 digits, and the
#: longest real form ("1 Stunde 23 Minuten und 45 Sekunden") is far shorter.
_MAX_DURATION_TEXT = 100
#: Numbers with more digits than this are not believed (and not read).
_MAX_DIGITS = 15
#: Titles longer than this are cut, with a warning.
MAX_TITLE = 1000
#: Descriptions longer than this (in characters of HTML) are cut, with a warning.
MAX_DESCRIPTION = 200_000
#: Dates outside [MIN_YEAR, MAX_YEAR] are not believed (year 1, year 9999).
MIN_YEAR = 1900
MAX_YEAR = 2199

# --- durations ---------------------------------------------------------------------

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d{1,2})(?:[.,]\d+)?")
_SECONDS = re.compile(r"(\d+)(?:[.,]\d+)?")
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,]\d+)?S)?)?", re.IGNORECASE)
_UNIT_SECONDS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "std": 3600, "stunde": 3600, "stunden": 3600, "uur": 3600, "heure": 3600,
    "heures": 3600, "ora": 3600, "ore": 3600, "hora": 3600, "horas": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuten": 60,
    "minuti": 60, "minutos": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "sek": 1, "sekunden": 1,
}  # fmt: skip
_UNIT_PART = re.compile(r"(\d+)\s*([a-z]+)\.?", re.IGNORECASE)
_UNIT_FILLER = re.compile(r"[\s,]+|and|und|et|e|y", re.IGNORECASE)


def parse_duration(text: str | None) -> int | None:
    """Read a duration in any form seen in the wild as whole seconds, or None.

    >>> [parse_duration(t) for t in ("9 mins.", "1:02:03", "3723", "PT1H2M3S")]
    [540, 3723, 3723, 3723]
    >>> parse_duration("61:08"), parse_duration("1 Std. 5 Min."), parse_duration("soon")
    (3668, 3900, None)
    """
    if text is None:
        return None
    value = text.strip()
    if not value or len(value) > _MAX_DURATION_TEXT:
        return None
    seconds: int | None = None
    if m := _CLOCK.fullmatch(value):
        hours, minutes, secs = (int(g) if g else 0 for g in m.groups())
        seconds = (hours * 60 + minutes) * 60 + secs
    elif m := _SECONDS.fullmatch(value):
        seconds = int(m.group(1))
    elif (m := _ISO_DURATION.fullmatch(value)) and any(m.groups()):
        days, hours, minutes, secs = (int(g) if g else 0 for g in m.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        seconds = _parse_unit_duration(value)
    if seconds is None or seconds <= 0 or seconds > MAX_DURATION:
        return None
    return seconds


def _parse_unit_duration(value: str) -> int | None:
    """'1 hr 5 mins', '1h 2m', '45 Min.' -> seconds; None unless every part is a unit."""
    total = 0
    position = 0
    found = False
    for m in _UNIT_PART.finditer(value):
        if not _only_filler(value[position : m.start()]):
            return None
        unit = _UNIT_SECONDS.get(m.group(2).lower())
        if unit is None:
            return None
        total += int(m.group(1)) * unit
        position = m.end()
        found = True
    if not found or not _only_filler(value[position:]):
        return None
    return total


def _only_filler(text: str) -> bool:
    return _UNIT_FILLER.sub("", text) == ""


def format_clock(seconds: int | None) -> str:
    """Seconds as h:mm:ss for people; '' when unknown.

    >>> format_clock(3723), format_clock(59), format_clock(None)
    ('1:02:03', '0:00:59', '')
    """
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


# --- dates -------------------------------------------------------------------------

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_UNIX = re.compile(r"\d{9,13}")
_RFC822_YEAR = re.compile(r"\d{1,2}[\s-]+[A-Za-z]{3,}[\s-]+(\d{2,4})\b")


def parse_date(text: str | None) -> datetime | None:
    """Read a date in any common form as an aware UTC datetime, or None with a warning.

    Understands RFC 822 (with or without weekday, named or numeric zones), ISO 8601,
    a listing's ``DD/MM/YYYY`` (00:00 UTC that day) and Unix seconds.

    >>> parse_date("Tue, 26 May 2026 10:00:00 PDT").isoformat()
    '2026-05-26T17:00:00+00:00'
    >>> parse_date("26/05/2026").isoformat()
    '2026-05-26T00:00:00+00:00'
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    parsed = _parse_date_forms(value)
    if parsed is None:
        log.warning("unreadable date %r", value[:100])
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is in the year 10000
        parsed = datetime.max.replace(tzinfo=UTC)  # out of range, below
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        log.warning("date out of range, ignored: %r", value[:100])
        return None
    return parsed


def _parse_date_forms(value: str) -> datetime | None:
    if m := _DAY_MONTH_YEAR.fullmatch(value):
        day, month, year = (int(g) for g in m.groups())
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
    if _UNIX.fullmatch(value):
        stamp = int(value)
        if stamp > 10**11:  # milliseconds
            stamp //= 1000
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=stamp)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    else:
        # email.utils reads a four-digit year below 100 ("0001") as 20xx; such a year
        # is garbage, not this century.
        written = _RFC822_YEAR.search(value)
        if written and len(written.group(1)) == 4 and int(written.group(1)) != parsed.year:
            return None
        return parsed
    # feedparser knows many more real-world variants (military zones, asctime, W3DTF,
    # localized month names); it returns a UTC struct_time.
    struct = feedparser.datetimes._parse_date(value)
    if struct is None:
        return None
    try:
        return datetime(
            struct.tm_year, struct.tm_mon, struct.tm_mday, struct.tm_hour, struct.tm_min, struct.tm_sec, tzinfo=UTC
        )
    except ValueError:
        return None


def format_iso(moment: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC ending in Z.

    >>> format_iso(datetime(2026, 5, 26, tzinfo=UTC))
    '2026-05-26T00:00:00Z'
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- text and HTML -----------------------------------------------------------------

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# Characters XML 1.0 forbids: no feed may carry them, whatever upstream sent.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HAS_HTML = re.compile(r"</?(?:[a-z][a-z0-9]*)(?:\s[^<>]*)?/?>|&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.I)

ALLOWED_TAGS = frozenset({"p", "br", "a", "ul", "ol", "li", "em", "strong", "b", "i"})
_ALLOWED_ATTRIBUTES = {"a": {"href"}}
_URL_SCHEMES = {"http", "https", "mailto"}


def clean_text(text: str | None, limit: int = MAX_TITLE) -> str:
    """A title or name as plain text: no HTML, entities decoded, whitespace squashed.

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
        log.warning("text of %d characters cut to %d", len(plain), limit)
        plain = plain[:limit].rstrip()
    return plain


def xml_safe(text: str) -> str:
    r"""Text without the control characters XML cannot carry.

    >>> xml_safe("a\x00b\x0cc\td")
    'abc\td'
    """
    return _NOT_XML.sub("", text)


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


def sanitize_html(markup: str) -> str:
    """Keep a safe subset of HTML: p, br, a[href], lists, emphasis; nothing executable."""
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel=None,
    ).strip()


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


def strip_boilerplate(markup: str, patterns: Sequence[re.Pattern[str]] = ()) -> str:
    """Drop every paragraph, list item or line whose text matches a built-in pattern
    or one of the given ones.

    >>> pats = compile_patterns([r"^Sponsor:"])
    >>> strip_boilerplate("<p>Talk</p><p>Sponsor: ACME</p><p>End<br>Sponsor: X</p>", pats)
    '<p>Talk</p><p>End</p>'
    """
    lowered = markup.lower()
    candidates = [*(p for p, needle in _BUILTIN if needle in lowered), *patterns]
    if not candidates:
        return markup
    # One pass over the whole text first, each block starting a line: most
    # descriptions hold no boilerplate, and looking block by block costs 20 times more.
    text = html_to_text_lines(markup)
    patterns = [p for p in candidates if p.search(text)]
    if not patterns:
        return markup
    parts = _BLOCK_BOUNDARY.split(markup)
    changed = False
    for index in range(0, len(parts), 2):
        text = html_to_text(parts[index])
        if text and any(p.search(text) for p in patterns):
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


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile boilerplate or tag patterns the way feedtool applies them."""
    return tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in patterns)


_BUILTIN = tuple((re.compile(p, re.IGNORECASE | re.MULTILINE), needle) for p, needle in BUILTIN_BOILERPLATE)


def clean_description(raw: str | None, patterns: Sequence[re.Pattern[str]] = (), *, plain: bool = False) -> str | None:
    """A description as safe HTML without boilerplate, or None.

    ``plain`` says the source gives plain text (markup-like text stays text);
    otherwise HTML is recognized by its tags and entities.

    >>> clean_description("Use <b> for bold", plain=True)
    '<p>Use &lt;b&gt; for bold</p>'
    """
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_DESCRIPTION:
        log.warning("description of %d characters cut to %d", len(raw), MAX_DESCRIPTION)
        raw = raw[:MAX_DESCRIPTION]
    raw = xml_safe(raw)
    # Again after sanitizing: it decodes references, and '&#1;' becomes U+0001.
    markup = text_to_html(raw) if plain or not is_html(raw) else xml_safe(sanitize_html(raw))
    markup = strip_boilerplate(markup, patterns)
    return markup or None


# --- numbers and flags -------------------------------------------------------------


def parse_positive_int(text: str | None) -> int | None:
    """An episode or season number: a positive integer, else None.

    >>> parse_positive_int(" 12 "), parse_positive_int("0"), parse_positive_int("x")
    (12, None, None)
    """
    number = _whole_number(text)
    return number if number is not None and 0 < number < 10**9 else None


def parse_length(text: str | None) -> int | None:
    """An enclosure length in bytes; None when absent, zero, negative or not a number.

    >>> parse_length("1234"), parse_length("0"), parse_length(""), parse_length("12.5MB")
    (1234, None, None, None)
    """
    number = _whole_number(text)
    return number if number is not None and 0 < number < 10**13 else None


def _whole_number(text: str | None) -> int | None:
    """Decimal digits (any script's, as int() reads them) as a number, else None.

    isdecimal, not isdigit: isdigit also accepts '²' and '①', which int() refuses.
    """
    if text is None:
        return None
    value = text.strip()
    digits = value.lstrip("0")
    if not value.isdecimal() or len(digits) > _MAX_DIGITS:
        return None
    return int(digits or "0")


def parse_explicit(text: str | None) -> bool | None:
    """iTunes explicit flag in any of its spellings: true/yes/explicit, false/no/clean.

    >>> parse_explicit("Yes"), parse_explicit("clean"), parse_explicit("maybe")
    (True, False, None)
    """
    if text is None:
        return None
    value = text.strip().lower()
    if value in {"true", "yes", "explicit", "1"}:
        return True
    if value in {"false", "no", "clean", "0"}:
        return False
    return None


# --- identity ----------------------------------------------------------------------

_TRACKING_PARAM = re.compile(
    r"utm_[a-z_]*|fbclid|gclid|dclid|msclkid|mc_[ce]id|_hsenc|_hsmi|token|access_token"
    r"|auth|sig|signature|expires|exp|ts|timestamp|updated|nonce|cb|_",
    re.IGNORECASE,
)


def strip_tracking(url: str) -> str:
    """A URL without its tracking parameters; the rest of the query stays.

    Redirect services carry the real URL in the query, so it is never dropped whole.

    >>> strip_tracking("https://a.example/e.mp3?utm_source=x&id=7&token=abc")
    'https://a.example/e.mp3?id=7'
    """
    if "?" not in url:
        return url.strip()
    parts = urlsplit(url.strip())
    if not parts.query:
        return url.strip()
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAM.fullmatch(k)]
    return urlunsplit(parts._replace(query=urlencode(kept)))


@functools.lru_cache(maxsize=8192)
def enclosure_key(url: str | None) -> str | None:
    """The key under which enclosures of different sources count as the same file.

    >>> enclosure_key("HTTPS://Cdn.example/ep1.mp3?utm_medium=rss")
    'cdn.example/ep1.mp3'
    """
    if not url:
        return None
    parts = urlsplit(strip_tracking(url))
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{parts.path}{query}"


_NOT_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """The key under which titles of different sources count as the same.

    >>> title_key("My bets on Open Models, mid-2026!") == title_key("my bets on open models mid 2026")
    True
    """
    return _NOT_WORD.sub(" ", title.casefold()).strip()


def derive_guid(
    show_id: str,
    enclosure_url: str | None,
    link: str | None,
    title: str,
    published: datetime | None,
) -> str:
    """A stable GUID for an episode whose source gives none.

    In order: the enclosure URL without its query, the link, else a hash of the show,
    title and publication day.

    >>> derive_guid("s", "https://cdn.example/e1.mp3?t=9", None, "E1", None)
    'https://cdn.example/e1.mp3'
    >>> guid = derive_guid("s", None, None, "E1", datetime(2026, 5, 26, 9, tzinfo=UTC))
    >>> guid == derive_guid("s", None, None, "e1!", datetime(2026, 5, 26, 23, tzinfo=UTC))
    True
    """
    if enclosure_url:
        parts = urlsplit(enclosure_url.strip())
        return urlunsplit(parts._replace(query="", fragment=""))
    if link:
        return link.strip()
    day = published.astimezone(UTC).date().isoformat() if published else ""
    digest = hashlib.sha256(f"{show_id}\n{title_key(title)}\n{day}".encode()).hexdigest()
    return f"feedtool:{show_id}:{digest[:32]}"


_SLUG_JUNK = re.compile(r"[\W_]+")


def slugify(text: str) -> str:
    """A tag name: lower case, words joined by hyphens.

    >>> slugify("  Technology & AI / Open Models ")
    'technology-ai-open-models'
    """
    return _SLUG_JUNK.sub("-", text.casefold()).strip("-")
