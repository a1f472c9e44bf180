"""Access keys of private shows and feeds: who a ``?key=`` belongs to, and keeping keys out of logs.

A key is compared with every listener's key, each time, through ``hmac.compare_digest``
on SHA-256 digests (equal lengths, so neither a key's length nor a shared prefix
shortens the comparison), with no early exit that would tell which listener matched.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping

#: ``key=<value>`` in a query string or request line, up to the next parameter or space.
_KEY_PARAM = re.compile(r"(?i)(?<![^?&;\s\"'])(key=)[^&;\s\"']*")
MASK = "***"


def listener(keys: Mapping[str, str], given: str | None) -> str | None:
    """The listener whose access key ``given`` is, or None."""
    if not given:
        return None  # nothing to compare: the time taken tells only that no key was sent
    digest = hashlib.sha256((given or "").encode("utf-8", "surrogatepass")).digest()
    found: str | None = None
    for name, key in keys.items():
        # Every key is compared, whatever matched before: the time taken does not say which.
        if hmac.compare_digest(hashlib.sha256(key.encode("utf-8")).digest(), digest):
            found = name
    return found


def mask_keys(text: str) -> str:
    """``text`` with the value of every ``key=`` query parameter masked.

    >>> mask_keys('"GET /feeds/x.rss?tag=a&key=s3cr3t-s3cr3t HTTP/1.1" 200')
    '"GET /feeds/x.rss?tag=a&key=*** HTTP/1.1" 200'
    >>> mask_keys("/feeds/x.rss?monkey=1&KEY=abc")
    '/feeds/x.rss?monkey=1&KEY=***'
    """
    return _KEY_PARAM.sub(rf"\g<1>{MASK}", text)


class KeyMaskingFilter(logging.Filter):
    """Masks ``key=`` values in a log record's message (werkzeug's request lines, for one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_keys(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
