"""The source kinds, one module each, and the one registry of them.

A kind (``feedtool.sources.base.Kind``) owns its URL handling, defaults, config
options, parse and paging; its parse is a pure function ``parse(data, context) ->
Listing`` that raises ParseError for a body that is not a listing of its kind, naming
what was wrong. Config validation and refresh look kinds up here by their key; adding
a kind is one new module plus one line below.
"""

from __future__ import annotations

from feedtool.sources import listing, radionet, rss
from feedtool.sources.base import Fetch, Kind, Option, Source
from feedtool.sources.common import ParseContext, Parser

#: Every kind by its config.yaml key, in the order error messages list them.
KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        rss.KIND,
        radionet.KIND,
        listing.KIND,
    )
}

__all__ = ["KINDS", "Fetch", "Kind", "Option", "ParseContext", "Parser", "Source"]
