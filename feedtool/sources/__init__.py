"""One parser per kind of source listing: fetched bytes in, a normalized Listing out.

Each parser is a pure function ``parse(data, context) -> Listing`` and raises
ParseError for a body that is not a listing of its kind, naming what was wrong.
"""

from __future__ import annotations

from feedtool.model import SourceKind
from feedtool.sources import listing, radionet, rss
from feedtool.sources.common import ParseContext, Parser

PARSERS: dict[SourceKind, Parser] = {
    SourceKind.RSS: rss.parse,
    SourceKind.RADIONET: radionet.parse_page,
    SourceKind.LISTING: listing.parse,
}

__all__ = ["PARSERS", "ParseContext", "Parser"]
