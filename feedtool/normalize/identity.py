"""Identity: what makes two records the same, and names that stay stable.

Owns GUIDs derived for episodes that have none, the keys under which enclosures and
titles of different sources match, the tracking parameters stripped from URLs, and
slugs (tag names).
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
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


#: The UUIDv5 namespace of feedtool's Atom entry ids (uuid5 of the URL namespace and
#: "https://feedtool/atom-entry-id"): fixed forever, or every id changes.
ATOM_ENTRY_NAMESPACE = uuid.UUID("a36200f3-dc5d-5240-837c-0f01a70463cb")

# What an Atom id may be kept as written: ASCII in canonical form, so that the W3C
# validator reads it as a full URI (RFC 4287 4.2.6) and no reader normalizes it into
# another id. Lower-case scheme and host, no default port, a path, upper-case
# percent escapes that do not stand for unreserved characters, no dot segments.
_HTTP_IRI = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::(?!80/|443/)[0-9]{1,5})?"
    r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%(?![46][1-9A-F]|[57][0-9A]|3[0-9]|2[DE]|5F|7E)[0-9A-F]{2})*"
)
# RFC 8141 URNs (urn:uuid:..., urn:isbn:...) and RFC 4151 tag URIs.
_URN = re.compile(r"urn:[a-z0-9][a-z0-9-]{0,31}:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})+")
_TAG = re.compile(
    r"tag:(?:[a-z0-9.-]+|[A-Za-z0-9.!#$&'*+/=?^_`{|}~-]+@[a-z0-9.-]+),\d{4}(?:-\d{2}(?:-\d{2})?)?:"
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})*"
)


def is_atom_id(value: str) -> bool:
    """Whether a GUID is already an IRI an Atom id may be: http(s), urn: or tag:, canonical.

    >>> [is_atom_id(v) for v in ("https://e.example/1", "show-0001", "https://E.example/1", "urn:uuid:1-2")]
    [True, False, False, True]
    >>> [is_atom_id(v) for v in ("https://e.example", "https://e.example/a b", "feedtool:s:1")]
    [False, False, False]
    """
    if "/./" in value or "/../" in value or value.endswith(("/.", "/..")):
        return False
    return any(p.fullmatch(value) for p in (_HTTP_IRI, _URN, _TAG))


def atom_id(show_id: str, guid: str) -> str:
    """An episode's Atom id: its GUID when that is an IRI, else a UUIDv5 URN of show and GUID.

    Stable across refreshes and renders: a stored GUID never changes.

    >>> atom_id("show", "https://e.example/1")
    'https://e.example/1'
    >>> atom_id("show", "show-0001") == atom_id("show", "show-0001") != atom_id("other", "show-0001")
    True
    >>> atom_id("show", "show-0001").startswith("urn:uuid:")
    True
    """
    if is_atom_id(guid):
        return guid
    name = f"{show_id}\n{guid}"
    return f"urn:uuid:{uuid.uuid5(ATOM_ENTRY_NAMESPACE, name)}"


_SLUG_JUNK = re.compile(r"[\W_]+")


def slugify(text: str) -> str:
    """A tag name: lower case, words joined by hyphens.

    >>> slugify("  Technology & AI / Open Models ")
    'technology-ai-open-models'
    """
    return _SLUG_JUNK.sub("-", text.casefold()).strip("-")
