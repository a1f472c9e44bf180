"""Identity: what makes two records the same, and names that stay stable.

Owns GUIDs derived for episodes that have none, the keys under which enclosures and
titles of different sources match, the tracking parameters stripped from URLs, and
slugs (tag names).
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
