"""The data that flows through feedtool: frozen dataclasses, nothing else.

Times are aware UTC datetimes, durations whole seconds; ``None`` means unknown.
A show's tag and strip rules are data too (``TagRule``, ``Rules``): tagging and the
update step read them without knowing config.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


def is_empty(value: object) -> bool:
    """Whether a field's value says nothing: None, an empty string, tuple or list.

    Merging never lets an empty value replace a stored one, the store does not write
    empty values, and a show's settings override only where they say something.

    >>> [is_empty(v) for v in (None, "", (), [], 0, False, "x", ("a",))]
    [True, True, True, True, False, False, False, False]
    """
    return value is None or value == "" or value == () or value == []


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True)
class Transcript:
    url: str
    type: str | None = None
    language: str | None = None
    rel: str | None = None


@dataclass(frozen=True)
class ChaptersLink:
    """A ``podcast:chapters`` link to a chapters file."""

    url: str
    type: str | None = None


@dataclass(frozen=True)
class Chapter:
    """One Podlove Simple Chapter, written inline in the feed."""

    start: str
    title: str
    href: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Person:
    name: str
    role: str | None = None
    group: str | None = None
    img: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class Episode:
    """One episode as a source listing describes it, normalized.

    ``extensions`` holds the elements of other namespaces (and RSS's own elements that
    feedtool does not model) that are written back as they came: each one an XML
    string that declares the namespaces it uses (feedtool.sources.rss.extension).

    ``guid`` is upstream's GUID verbatim, or a derived one when ``guid_derived``.
    ``guid_is_permalink`` is upstream's ``isPermaLink`` attribute (``None`` when
    absent). ``description`` and ``content`` are sanitized HTML.
    """

    guid: str
    title: str
    guid_is_permalink: bool | None = None
    guid_derived: bool = False
    link: str | None = None
    published: datetime | None = None
    description: str | None = None
    content: str | None = None
    enclosure: Enclosure | None = None
    duration: int | None = None
    image: str | None = None
    episode: int | None = None
    season: int | None = None
    episode_type: str | None = None
    explicit: bool | None = None
    author: str | None = None
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    transcripts: tuple[Transcript, ...] = ()
    chapters_link: ChaptersLink | None = None
    chapters: tuple[Chapter, ...] = ()
    persons: tuple[Person, ...] = ()
    #: Upstream elements feedtool does not model, as XML, in document order.
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Owner:
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ShowInfo:
    """What a source listing says about the show itself."""

    title: str | None = None
    link: str | None = None
    description: str | None = None
    language: str | None = None
    image: str | None = None
    author: str | None = None
    owner: Owner | None = None
    categories: tuple[tuple[str, ...], ...] = ()
    explicit: bool | None = None
    type: str | None = None
    podcast_guid: str | None = None
    new_feed_url: str | None = None
    episode_count: int | None = None
    #: Upstream channel elements feedtool does not model, as XML, in document order.
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listing:
    """The parsed content of one source: show metadata plus its episodes."""

    show: ShowInfo
    episodes: Sequence[Episode] = ()
    warnings: Sequence[str] = ()
    #: False when a follow-up request (an API page) failed and episodes may be missing:
    #: what was read is stored, and the next refresh reads the source again in full.
    complete: bool = True


@dataclass(frozen=True)
class StoredEpisode:
    """An episode as the store holds it: merged from every source, tagged."""

    id: int
    show_id: str
    data: Episode
    tags: tuple[str, ...]
    first_seen: datetime
    updated: datetime

    @property
    def sort_time(self) -> datetime:
        """The publication date, or when feedtool first saw an undated episode."""
        return self.data.published or self.first_seen


@dataclass(frozen=True)
class SourceState:
    """What the store remembers of a source between refreshes."""

    show_id: str
    kind: str  # the source kind's key in config.yaml, e.g. "rss"
    location: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    status: str | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    permanent_redirect: str | None = None
    new_feed_url: str | None = None
    episode_count: int = 0


@dataclass(frozen=True)
class Show:
    """A show as the store holds it: merged metadata plus bookkeeping."""

    id: str
    info: ShowInfo = field(default_factory=ShowInfo)
    version: int = 0
    changed: datetime | None = None


class Matcher(Protocol):
    """A config rule's compiled pattern: searched within its time bound (feedtool.patterns.Rule)."""

    @property
    def source(self) -> str:
        """The pattern as written in the config."""
        ...

    def search(self, text: str, about: str | None = None) -> bool:
        """Whether the pattern is found in text; ``about`` names the text if time runs out."""
        ...


#: The fields of an episode a tag rule may look at.
TAG_FIELDS = ("title", "description")


@dataclass(frozen=True)
class TagRule:
    """A show's tag: the episodes any of whose ``fields`` match any of ``patterns`` get ``name``."""

    name: str
    patterns: tuple[Matcher, ...]
    fields: tuple[str, ...] = TAG_FIELDS


@dataclass(frozen=True)
class Rules:
    """What a show's config says to do with every episode stored: tag it, strip boilerplate."""

    tags: tuple[TagRule, ...] = ()
    strip: tuple[Matcher, ...] = ()


@dataclass(frozen=True, repr=False)
class Credentials:
    """What a source sends to its own origin (scheme://host:port) and nowhere else:
    HTTP basic auth and extra headers. Its repr names no secret."""

    origin: str
    username: str | None = None
    password: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        basic = "basic auth, " if self.username is not None else ""
        return f"Credentials({self.origin}: {basic}headers [{names}])"

    __str__ = __repr__
