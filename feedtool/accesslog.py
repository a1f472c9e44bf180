"""A gunicorn logger that keeps access keys out of its access log.

Run gunicorn with ``--logger-class feedtool.accesslog.KeyMaskingLogger``: every
access-log atom (the request line ``%(r)s``, the query ``%(q)s``, the referrer and
request headers) has its ``key=`` values masked, whatever ``--access-logformat`` says.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from feedtool.access import mask_keys


class KeyMaskingLogger(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's logger, with ``key=`` values masked in every access-log atom."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {name: mask_keys(value) if isinstance(value, str) else value for name, value in atoms.items()}
