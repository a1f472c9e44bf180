"""What a source kind is: its name, its merge rank, its options, its parse and its paging.

Each kind module builds one ``Kind`` and the registry in ``feedtool.sources`` lists
it; config validation and refresh ask the kind, never name it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from feedtool.model import Listing
from feedtool.sources.common import ParseContext, Parser

#: Fetches one more URL of a source (a page of its API): the body, or FetchError.
Fetch = Callable[[str], bytes]


class Source(Protocol):
    """A configured source, as a kind sees it (config's SourceConfig is one)."""

    @property
    def location(self) -> str: ...

    @property
    def options(self) -> Mapping[str, str]: ...


#: Completes a parsed listing, e.g. with the pages of an API that the first body names.
Follow = Callable[[Listing, Source, Fetch, ParseContext], Listing]

#: Reads a fetched body into the source's whole listing, for a kind whose listing is not
#: "parse the body, then follow it" (e.g. episodes from an API first, the body the fallback).
Reader = Callable[[bytes, ParseContext, Source, Fetch], Listing]


@dataclass(frozen=True)
class Option:
    """A setting that a source of one kind takes beside its location, in config.yaml."""

    name: str
    label: str  # for messages: "an api URL"
    type: Literal["url", "text"] = "url"
    default: str | None = None


def _any_location(location: str) -> str | None:
    return None


def _as_parsed(listing: Listing, source: Source, fetch: Fetch, context: ParseContext) -> Listing:
    return listing


@dataclass(frozen=True)
class Kind:
    """One kind of source listing, and everything feedtool knows about it.

    ``rank`` is how precise the kind's fields are: when one episode is seen in several
    sources, each field is taken from the highest-ranked source that has it (an RSS
    feed's exact ``itunes:duration`` beats a listing page's "9 mins."). ``check``
    returns what is wrong with a location (an http(s) URL or an absolute path), or None.
    ``reader``, when given, replaces ``parse`` then ``follow`` in ``read``; ``parse``
    still reads a body on its own.
    """

    key: str  # the name used in config.yaml
    rank: int
    parse: Parser
    options: tuple[Option, ...] = ()
    check: Callable[[str], str | None] = _any_location
    follow: Follow = _as_parsed
    reader: Reader | None = None

    def option(self, name: str) -> Option | None:
        """The option of this kind with that name, if any."""
        return next((option for option in self.options if option.name == name), None)

    def read(self, body: bytes, context: ParseContext, source: Source, fetch: Fetch) -> Listing:
        """Parse a fetched body and follow it (paging) into the source's whole listing."""
        if self.reader is not None:
            return self.reader(body, context, source, fetch)
        return self.follow(self.parse(body, context), source, fetch, context)
