"""Source locations and messages as they may be shown: to the public, and to the operator.

A paid feed's URL is a password (Substack, Patreon and Supercast put a token in it),
so no page for people shows more of a source than its kind and host
(``public_location``), and the CLI and the logs show the full URL without its user
info and with secret-looking query values and path segments masked
(``operator_location``). Every string the config marks as a secret (a ``${VAR}`` or
``*_file`` value, a password, a header value) is masked wherever it appears
(``mask_text``); the config registers them with ``remember`` when it is loaded.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import PurePath
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"
#: Query parameter names whose values are credentials, compared lowercased without - and _.
SECRET_PARAMS = frozenset(
    {
        "token", "key", "apikey", "auth", "authorization", "secret", "password", "pass", "passwd", "pwd",
        "sig", "signature", "accesstoken", "authtoken", "apitoken", "clientsecret", "sessionid", "session",
        "credential", "credentials", "jwt", "hash", "code", "xapikey", "privatekey", "accesskey",
        "secretkey", "refreshtoken", "idtoken", "bearer", "xamzsignature", "xamzcredential", "xamzsecuritytoken",
    }
)  # fmt: skip
#: A value that looks generated: a run of 16 letters and digits mixing both (a slug's
#: words are shorter), 24 hex digits, or a UUID.
_RUN = re.compile(r"[A-Za-z0-9]{16,}")
_HEX = re.compile(r"[0-9a-fA-F]{24,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
#: A URL inside free text (an error message): up to whitespace or a closing quote or bracket.
_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>()\[\]{}]+""")
#: A path without its host: requests' "Max retries exceeded with url: /path?query", urllib3's
#: debug line '"GET /path?query HTTP/1.1" 200'.
_PATH_IN_TEXT = re.compile(r"""(?:(?<=url: )|(?<="GET )|(?<="HEAD ))/[^\s'"<>()]*""")
#: Known secrets shorter than this are not masked in free text: "80" or "yes" would
#: mask half a message, and one that short protects nothing anyway.
MIN_SECRET = 6

_known: set[str] = set()
_known_lock = threading.Lock()


def remember(secrets: Iterable[str]) -> None:
    """Mask these strings (the config's secrets) in everything shown from now on."""
    with _known_lock:
        _known.update(s for s in secrets if len(s) >= MIN_SECRET)


def origin(url: str) -> str:
    """A URL's origin, scheme://host:port, lowercased and with the default port filled in.

    >>> origin("HTTPS://Feeds.Example.com/x?y"), origin("http://a.b:8080/")
    ('https://feeds.example.com:443', 'http://a.b:8080')
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    port = port or {"http": 80, "https": 443}.get(scheme)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def url_secrets(url: str) -> set[str]:
    """The parts of a URL that operator_location masks: its password, secret-looking
    query values and path segments (so that they are masked wherever they appear).

    >>> sorted(url_secrets("https://u:pw1234@h/a1b2c3d4e5f6g7h8i9/x?token=tok123&page=2"))
    ['a1b2c3d4e5f6g7h8i9', 'pw1234', 'tok123']
    """
    if "://" not in url:
        return set()
    try:
        parts = urlsplit(url)
        found = {parts.password} if parts.password else set()
    except ValueError:
        return set()
    found.update(segment for segment in parts.path.split("/") if _looks_secret(segment))
    found.update(value for name, value in parse_qsl(parts.query) if _masked_pair(name, value).endswith(MASK))
    return found


class MaskingFormatter(logging.Formatter):
    """A log formatter that masks URLs and known secrets in the whole record, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def public_location(kind: str, location: str) -> str:
    """A source as the public may see it: its kind and host, or a local file's name.

    >>> public_location("rss", "https://u:p@feeds.example.com/x/feed.rss?token=abc")
    'rss feeds.example.com'
    >>> public_location("listing", "/srv/feedtool/saved/listing.json")
    'listing listing.json'
    """
    return f"{kind} {public_name(location)}"


def public_name(location: str) -> str:
    """A location's host, or a local file's name: all of it the public may see.

    >>> public_name("https://feeds.example.com/feed?token=x"), public_name("/srv/x/listing.json")
    ('feeds.example.com', 'listing.json')
    """
    if "://" in location:
        try:
            return urlsplit(location).hostname or "?"
        except ValueError:
            return "?"
    return PurePath(location).name


def operator_location(location: str) -> str:
    """A location for the CLI and logs: no user info, secret-looking parts masked.

    >>> operator_location("https://u:pw@example.com/feed/a1b2c3d4e5f6g7h8i9/rss?token=x&page=2")
    'https://example.com/feed/***/rss?token=***&page=2'
    """
    if "://" not in location:
        return mask_known(location)
    try:
        parts = urlsplit(location)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK  # not a URL we can take apart: show none of it
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    path = "/".join(MASK if _looks_secret(segment) else segment for segment in parts.path.split("/"))
    query = "&".join(_masked_pair(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True))
    fragment = MASK if parts.fragment and _looks_secret(parts.fragment) else parts.fragment
    return mask_known(urlunsplit((parts.scheme, netloc, path, query, fragment)))


def mask_text(text: str) -> str:
    """Free text for the operator (an error message, a log line): URLs in it as
    ``operator_location`` shows them, known secrets masked."""
    text = _URL_IN_TEXT.sub(lambda m: operator_location(m.group()), text)
    text = _PATH_IN_TEXT.sub(lambda m: _masked_path(m.group()), text)
    return mask_known(text)


def public_text(text: str, locations: Iterable[str] = ()) -> str:
    """Free text for the public (an error in /healthz): URLs shown as their host, the
    given local paths as their file names, known secrets masked."""
    for location in sorted(locations, key=len, reverse=True):
        if "://" not in location and location:
            text = text.replace(location, PurePath(location).name)
    text = _URL_IN_TEXT.sub(lambda m: _public_url(m.group()), text)
    text = _PATH_IN_TEXT.sub("/…", text)
    return mask_known(text)


def mask_known(text: str) -> str:
    """Text with every secret the config named (``remember``) replaced by ***."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
        quoted = quote(secret, safe="")
        if quoted != secret and quoted in text:
            text = text.replace(quoted, MASK)
    return text


def _public_url(url: str) -> str:
    return f"{url.split('://', 1)[0]}://{public_name(url)}/…"


def _masked_path(path: str) -> str:
    """A path and query (no host), as operator_location masks them."""
    masked = operator_location(f"http://h{path}")
    return masked[len("http://h") :]


def _masked_pair(name: str, value: str) -> str:
    key = re.sub(r"[-_.]", "", name.lower())
    secret = key in SECRET_PARAMS or key.endswith(("token", "secret", "key", "password", "signature"))
    shown = MASK if value and (secret or _looks_secret(value)) else quote(value, safe="/:@")
    return f"{quote(name, safe='')}={shown}"


def _looks_secret(text: str) -> bool:
    """Whether a path segment or value looks like a generated token.

    >>> segments = ("episode-2024-05-01-the-title", "a1b2c3d4e5f6g7h8", "podcast", "0123456789abcdef01234567")
    >>> [_looks_secret(s) for s in segments]
    [False, True, False, True]
    """
    if _UUID.search(text) or _HEX.search(text):
        return True
    return any(re.search("[A-Za-z]", run) and re.search("[0-9]", run) for run in _RUN.findall(text))
