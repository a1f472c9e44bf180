"""QR codes as inline SVG, made on the server (segno: the only module that imports it)."""

from __future__ import annotations

import segno

#: What the code says, for screen readers; never the URL itself (a private one holds a key).
TITLE = "QR code of the feed URL"


def svg(text: str) -> str:
    """A QR code of ``text`` as an inline ``<svg>``: a full QR code (no Micro QR, which
    phone cameras often do not read), dark on white so it also scans on a dark page,
    sized by a viewBox so that CSS sets its width; presentation attributes only, no style=."""
    code = segno.make_qr(text)
    return str(
        code.svg_inline(
            scale=4, border=4, dark="#000", light="#fff", omitsize=True, title=TITLE, svgclass="qr", lineclass=None
        )
    )
