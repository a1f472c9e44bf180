"""``feedtool add``: the link a user has -> the sources of a new show -> a block in config.yaml.

A link is a feed (sniffed from its body), a website (its ``<link rel="alternate">``
to an RSS or Atom feed, as feed readers discover it), an Apple Podcasts show (the feed
URL from Apple's lookup API) or a radio.net podcast page (a ``radionet`` source, plus
the show's own RSS feed where the page names one). ``discover`` fetches through a
``Retriever`` and reads each source through its kind, as a refresh does; everything
else here is pure: sniffing, link discovery, choosing the id, and editing the config.

The config is edited, never rewritten: ruamel.yaml's round-trip parser finds the
``shows`` mapping and the layout of the shows in it, the new show is emitted in that
layout, and its lines are spliced in after the last show, so every other byte of the
file (comments, quoting, order, blank lines) stays as it was.
"""

from __future__ import annotations

import io
import json
import re
import stat
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from feedtool.config import SourceConfig, is_id
from feedtool.errors import ConfigEditError, DiscoveryError, FetchError, ParseError
from feedtool.fetch import Response, Retriever
from feedtool.files import replace_atomically
from feedtool.model import Episode, Listing
from feedtool.sources import KINDS, ParseContext, radionet
from feedtool.sources.common import feed_links, resolve_url

#: Apple's public lookup API; ``feedtool add --apple-lookup`` (or $FEEDTOOL_APPLE_LOOKUP) points elsewhere.
APPLE_LOOKUP = "https://itunes.apple.com/lookup"
#: The root elements of the feeds feedtool reads: RSS 2.0, Atom, RSS 1.0 (rdf:RDF).
FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
#: Show ids are at most this long (feedtool.config's id rule).
MAX_ID = 64
#: The id of a show whose title gives no letters or digits.
FALLBACK_ID = "show"

_APPLE_HOSTS = frozenset({"podcasts.apple.com", "itunes.apple.com"})
_APPLE_ID = re.compile(r"/id(\d+)(?:/|$)")
# The XML prolog before the root element: declaration, processing instructions, comments, DOCTYPE.
_PROLOG = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)*", re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")  # YAML's line breaks; str.splitlines knows more
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
# Letters that NFKD does not take apart into ASCII, spelled as people do in URLs.
_LETTERS = str.maketrans(
    {"æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i", "&": " and "}
)

#: Finds the show's own RSS feed named in a radio.net page: (page, its URL) -> the feed's URL, or None.
OwnFeed = Callable[[bytes, str], "str | None"]


@dataclass(frozen=True)
class NewSource:
    """A source of the new show, as it is written in the config."""

    kind: str
    location: str
    #: Options written beside the location (the kind's defaults are not written).
    options: Mapping[str, str] = field(default_factory=dict)

    def entry(self) -> dict[str, str]:
        """The source's mapping in the config's ``sources`` list."""
        return {self.kind: self.location, **self.options}


@dataclass(frozen=True)
class Found:
    """A source and what reading it gave."""

    source: NewSource
    listing: Listing


@dataclass(frozen=True)
class Discovery:
    """What a link led to: the sources of one show, read, and how they were found."""

    url: str  # the link the user gave
    how: str  # for people: "a feed", "the feed link of the page", ...
    found: tuple[Found, ...]
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str | None:
        """The show's title: the first source's that has one."""
        return next((f.listing.show.title for f in self.found if f.listing.show.title), None)

    @property
    def sources(self) -> tuple[NewSource, ...]:
        return tuple(f.source for f in self.found)


def newest(episodes: Sequence[Episode]) -> Episode | None:
    """The most recent episode by date (undated ones only when none is dated)."""
    dated = [(e.published, index, e) for index, e in enumerate(episodes) if e.published is not None]
    if dated:
        return max(dated, key=lambda item: (item[0], -item[1]))[2]
    return episodes[0] if episodes else None


# --- discovery ---------------------------------------------------------------------


def discover(
    url: str,
    retriever: Retriever,
    *,
    show_id: str = "new-show",
    lookup: str = APPLE_LOOKUP,
    radionet_api: str | None = None,
    own_feed: OwnFeed = radionet.feed_url,
) -> Discovery:
    """Resolve a link into the sources of a show, each fetched and read as a refresh reads it.

    ``show_id`` is only what derived GUIDs are made of while previewing; ``lookup``
    is Apple's lookup API; ``radionet_api`` is written as a radio.net source's ``api``;
    ``own_feed`` finds the show's own feed in a radio.net page.
    """
    reader = _Reader(retriever, show_id)
    if (urlsplit(url).hostname or "").lower() in _APPLE_HOSTS:
        return _from_apple(url, reader, lookup)
    if radionet.is_page_url(url):
        return _from_radionet(url, reader, radionet_api, own_feed)
    return _from_link(url, reader)


class _Reader:
    """Fetches through the retriever and reads sources through their kinds."""

    def __init__(self, retriever: Retriever, show_id: str) -> None:
        self.retriever = retriever
        self.show_id = show_id

    def get(self, url: str) -> Response:
        try:
            return self.retriever.get(url)
        except FetchError as exc:
            raise FetchError(f"{url}: {exc}") from exc

    def read(self, source: NewSource, response: Response) -> Listing:
        """The source's listing from its fetched body, paged as in a refresh."""
        kind = KINDS[source.kind]
        defaults = {o.name: o.default for o in kind.options if o.default is not None}
        configured = SourceConfig(source.kind, source.location, {**defaults, **source.options})
        context = ParseContext(show_id=self.show_id, location=response.url, charset=response.charset)
        try:
            return kind.read(response.body, context, configured, lambda page: self.get(page).body)
        except ParseError as exc:
            raise ParseError(f"{source.location}: {exc}") from exc

    def feed(self, url: str, named_by: str | None = None) -> tuple[NewSource, Listing, list[str]]:
        """A URL that must be a feed: its source (at its permanent address) and listing."""
        response = self.get(url)
        if sniff_root(response.body) not in FEED_ROOTS:
            what = f"{named_by} names it as its feed, but it" if named_by else "it"
            raise DiscoveryError(url, f"{what} is not an RSS or Atom feed: {describe(response.body)}")
        source, notes = _at_its_address(url, response)
        return source, self.read(source, response), notes


def _at_its_address(url: str, response: Response) -> tuple[NewSource, list[str]]:
    """An RSS source at the feed's permanent address: a 301 or 308 is followed, for good."""
    if response.permanent_redirect and response.permanent_redirect != url:
        moved = response.permanent_redirect
        return NewSource("rss", moved), [f"{url} has moved permanently to {moved}: using the new address"]
    return NewSource("rss", url), []


def _from_link(url: str, reader: _Reader) -> Discovery:
    response = reader.get(url)
    if sniff_root(response.body) in FEED_ROOTS:
        source, notes = _at_its_address(url, response)
        return Discovery(url, "a feed", (Found(source, reader.read(source, response)),), tuple(notes))
    links = feed_links(response.body, response.url)
    if not links:
        if _HTML.search(response.body[:65536]):
            raise DiscoveryError(
                url,
                'the page names no feed (no <link rel="alternate"> of type application/rss+xml or '
                "application/atom+xml); give the feed's own URL",
            )
        raise DiscoveryError(url, f"neither a feed nor a web page: {describe(response.body)}")
    source, listing, notes = reader.feed(links[0], named_by=f"the page {url}")
    return Discovery(url, f"the feed link of the page {url}", (Found(source, listing),), tuple(notes))


def _from_apple(url: str, reader: _Reader, lookup: str) -> Discovery:
    show = apple_id(url)
    if show is None:
        raise DiscoveryError(url, "an Apple Podcasts link without a show id: expected .../podcast/<name>/id<number>")
    query = urlencode({"id": show, "entity": "podcast"})
    answer = reader.get(f"{lookup}{'&' if '?' in lookup else '?'}{query}")
    feed_url, name = feed_from_lookup(answer.body, show)
    source, listing, notes = reader.feed(feed_url, named_by=f"Apple Podcasts ({name or 'id ' + show})")
    return Discovery(url, f"Apple Podcasts' directory (id {show})", (Found(source, listing),), tuple(notes))


def _from_radionet(url: str, reader: _Reader, api: str | None, own_feed: OwnFeed) -> Discovery:
    parts = urlsplit(url)
    # The page itself, without tracking queries or fragments, as config.yaml would name it.
    location = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    response = reader.get(location)
    source = NewSource("radionet", location, {"api": api} if api and api != radionet.DEFAULT_API else {})
    found = [Found(source, reader.read(source, response))]
    notes: list[str] = []
    how = "a radio.net page"
    named = own_feed(response.body, response.url)
    if named:
        try:
            feed, listing, moved = reader.feed(named, named_by=f"the radio.net page {location}")
        except (FetchError, ParseError, DiscoveryError) as exc:
            # The radio.net source stands alone; a broken feed link of radio.net's is not the user's error.
            notes.append(f"the page names the show's own feed, but it cannot be read ({exc}); adding the page alone")
        else:
            # The feed first: its GUIDs are the show's own, and a show's first source decides GUIDs.
            found.insert(0, Found(feed, listing))
            notes.extend(moved)
            how = "a radio.net page and the show's own feed it names"
    return Discovery(url, how, tuple(found), tuple(notes))


def apple_id(url: str) -> str | None:
    """The show id in an Apple Podcasts URL, with or without country and name.

    >>> apple_id("https://podcasts.apple.com/us/podcast/the-show/id1234567890?i=1000650000000")
    '1234567890'
    >>> apple_id("https://podcasts.apple.com/podcast/id42"), apple_id("https://example.org/id42")
    ('42', None)
    """
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _APPLE_HOSTS:
        return None
    match = _APPLE_ID.search(parts.path)
    return match.group(1) if match else None


def feed_from_lookup(body: bytes, show: str) -> tuple[str, str | None]:
    """The feed URL and name of a show in an answer of Apple's lookup API."""
    subject = f"Apple Podcasts id {show}"
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise DiscoveryError(subject, f"Apple's lookup API did not answer JSON: {exc}") from exc
    results = document.get("results") if isinstance(document, dict) else None
    shows = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
    if not shows:
        raise DiscoveryError(subject, "no such show in Apple Podcasts' directory (the lookup API found nothing)")
    name = next((r["collectionName"] for r in shows if isinstance(r.get("collectionName"), str)), None)
    for result in shows:
        feed = resolve_url("", result.get("feedUrl") if isinstance(result.get("feedUrl"), str) else None)
        if feed:
            return feed, name
    raise DiscoveryError(
        subject,
        f"Apple Podcasts lists {name or 'the show'!r} without an http(s) feed URL: it publishes no feed to read",
    )


def sniff_root(body: bytes) -> str | None:
    """The lower-cased local name of a document's root element, read past its prolog.

    >>> sniff_root(b'<?xml version="1.0"?>\\n<!-- hi --><rss version="2.0">'), sniff_root(b"<rdf:RDF>")
    ('rss', 'rdf')
    >>> sniff_root(b"<!DOCTYPE html><html>"), sniff_root(b'{"a": 1}'), sniff_root(b"")
    ('html', None, None)
    """
    text = _head(body)
    start = _PROLOG.match(text)
    root = _ROOT.match(text, start.end() if start else 0)
    if root is None:
        # Text before the XML declaration, a slip the RSS parser repairs.
        declaration = text.find("<?xml")
        if declaration <= 0:
            return None
        start = _PROLOG.match(text, declaration)
        root = _ROOT.match(text, start.end() if start else declaration)
        if root is None:
            return None
    return root.group(1).rpartition(":")[2].lower()


def _head(body: bytes) -> str:
    """The start of a body as text, enough to read markup names (which are ASCII)."""
    head = body[:65536]
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace")
    return head.decode("latin-1")


def describe(body: bytes) -> str:
    """What a body that is not a feed is, in a few words.

    >>> describe(b"<html><body>x"), describe(b"  "), describe(b'{"a": 1}'), describe(b"<opml>")
    ('an HTML page', 'empty', 'JSON', 'XML whose root element is <opml>')
    """
    root = sniff_root(body)
    if not body.strip():
        return "empty"
    if root == "html" or _HTML.search(body[:65536]):
        return "an HTML page"
    if root is not None:
        return f"XML whose root element is <{root}>"
    if body.lstrip()[:1] in (b"{", b"["):
        return "JSON"
    return f"it starts with {body.lstrip()[:40]!r}"


# --- the id ------------------------------------------------------------------------


def slugify(title: str | None) -> str:
    """A show id from a title: a-z, 0-9 and '-', at most MAX_ID characters; '' when nothing is left.

    >>> slugify("Ærø & Åland: Ça va? (2026)"), slugify("日本語"), slugify(None)
    ('aero-and-aland-ca-va-2026', '', '')
    """
    text = unicodedata.normalize("NFKD", (title or "").casefold().translate(_LETTERS))
    ascii_only = "".join(c for c in text if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:MAX_ID].rstrip("-")


def unique_id(title: str | None, taken: set[str] | frozenset[str]) -> str:
    """The id for a new show titled ``title``: its slug, numbered -2, -3, ... past the ids ``taken``.

    >>> unique_id("Quiet Lab", {"quiet-lab", "quiet-lab-2"}), unique_id("", set())
    ('quiet-lab-3', 'show')
    """
    base = slugify(title) or FALLBACK_ID
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: MAX_ID - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


def check_id(show_id: str, shows: Sequence[str], feeds: Sequence[str]) -> None:
    """Raise ConfigEditError when ``show_id`` is not an id, or already a show's or named feed's."""
    if not is_id(show_id):
        raise ConfigEditError(
            f"{show_id!r} is not a show id: use a-z, 0-9 and '-' (not at either end), at most {MAX_ID} characters"
        )
    if show_id in shows:
        raise ConfigEditError(f"{show_id!r} is already a show; choose another id with --id")
    if show_id in feeds:
        raise ConfigEditError(f"{show_id!r} is already a named feed (both would be /feeds/{show_id}.rss)")


# --- the config's text -------------------------------------------------------------


@dataclass(frozen=True)
class Addition:
    """The config's new text, and the text added to it."""

    text: str
    added: str


@dataclass(frozen=True)
class _Layout:
    column: int  # of the show ids
    mapping: int  # indentation of a show's keys below its id
    sequence: int  # of a list's items below its key
    offset: int  # of a list's dashes below its key
    blank: bool  # a blank line before each show


def append_show(text: str, show_id: str, sources: Sequence[NewSource]) -> Addition:
    """The config text with a show appended to its ``shows``, laid out like the shows
    already there; every other character of ``text`` is kept."""
    try:
        root = YAML(typ="rt").compose(text)
    except YAMLError as exc:
        raise ConfigEditError(f"cannot read the config as YAML: {exc}") from exc
    shows_key, shows = _shows(root)
    entry = {"sources": [source.entry() for source in sources]}
    newline = "\r\n" if "\r\n" in text else "\n"
    if isinstance(shows, MappingNode) and shows.flow_style:
        at, added = _flow_insertion(text, shows, show_id, entry)
    else:
        layout = _layout(text, root, shows_key, shows)
        at = _block_end(text, shows_key, shows, layout.column)
        added = _block(show_id, entry, layout, newline)
        if layout.blank:
            added = newline + added
        if at > 0 and text[at - 1] != "\n":
            added = newline + added  # the file did not end with a line break
        if isinstance(shows, ScalarNode) and shows.end_mark.index > shows.start_mark.index:
            # ``shows: ~`` or ``shows: null``: the block replaces the null.
            start, end = shows.start_mark.index, shows.end_mark.index
            text = text[:start] + text[end:]
            at -= end - start
    result = text[:at] + added + text[at:]
    _check(text, result, show_id, entry)
    return Addition(result, added)


def _shows(root: Node | None) -> tuple[ScalarNode, Node]:
    if not isinstance(root, MappingNode):
        raise ConfigEditError("the config is not a mapping of keys")
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "shows":
            if isinstance(value, MappingNode) or (isinstance(value, ScalarNode) and str(value.tag).endswith(":null")):
                if value.start_mark.index < key.end_mark.index:
                    raise ConfigEditError("'shows' is an alias of another mapping; add the show by hand")
                return key, value
            raise ConfigEditError("'shows' is not a mapping of shows")
    raise ConfigEditError("the config has no 'shows'")


def _layout(text: str, root: MappingNode, shows_key: ScalarNode, shows: Node) -> _Layout:
    """How the file lays out its shows (else its other mappings; else feedtool init's way)."""
    step = _mapping_step(root) or 2
    column = shows_key.start_mark.column + step
    mapping, sequence, offset, blank = step, step + 2, step, False
    if isinstance(shows, MappingNode) and shows.value:
        column = shows.value[0][0].start_mark.column
        bodies = [v for _, v in shows.value if isinstance(v, MappingNode) and not v.flow_style and v.value]
        if bodies:
            mapping = bodies[0].value[0][0].start_mark.column - column
        for body in bodies:
            for key, value in body.value:
                if key.value == "sources" and isinstance(value, SequenceNode) and not value.flow_style and value.value:
                    offset = value.start_mark.column - key.start_mark.column
                    sequence = value.value[0].start_mark.column - key.start_mark.column
                    break
            else:
                continue
            break
        if len(shows.value) > 1:
            lines = text[: shows.value[-1][0].start_mark.index].split("\n")
            blank = len(lines) > 1 and not lines[-2].strip()
    return _Layout(column, max(mapping, 1), max(sequence, offset + 2), max(offset, 0), blank)


def _mapping_step(node: Node) -> int | None:
    """The indentation of the first nested block mapping below a key, if any."""
    if isinstance(node, MappingNode) and not node.flow_style:
        for key, value in node.value:
            if isinstance(value, MappingNode) and not value.flow_style and value.value:
                return int(value.value[0][0].start_mark.column - key.start_mark.column)
    return None


def _block_end(text: str, shows_key: ScalarNode, shows: Node, column: int) -> int:
    """Where the new show's lines go: after the last show's lines, with the comments
    indented as shows are or deeper that follow it (a comment at a lesser indentation
    belongs to what comes next)."""
    start = shows.value[-1][0].start_mark.index if isinstance(shows, MappingNode) else shows_key.start_mark.index
    at = text.find("\n", start)
    if at < 0:
        return len(text)
    at += 1
    position = at
    for line in _LINE.findall(text, at):
        content = line.rstrip("\r\n")
        stripped = content.lstrip(" ")
        indent = len(content) - len(stripped)
        position += len(line)
        if not stripped.strip():
            continue
        if indent > column or (stripped.startswith("#") and indent >= column):
            at = position
            continue
        break
    return at


def _block(show_id: str, entry: dict[str, Any], layout: _Layout, newline: str) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=layout.mapping, sequence=layout.sequence, offset=layout.offset)
    yaml.width = 4096  # never fold a long URL or title onto a second line
    out = io.StringIO()
    yaml.dump({show_id: entry}, out)
    return "".join(" " * layout.column + line + newline for line in out.getvalue().splitlines())


def _flow_insertion(text: str, shows: MappingNode, show_id: str, entry: dict[str, Any]) -> tuple[int, str]:
    """After the last show of a flow mapping ``{a: ..., b: ...}``, in flow style too."""
    close = shows.end_mark.index - 1
    if text[close : close + 1] != "}":
        raise ConfigEditError("cannot find the end of 'shows'; add the show by hand")
    before = close
    while before > shows.start_mark.index and text[before - 1] in " \t\r\n":
        before -= 1
    if text[before - 1] == "{":
        separator = ""
    elif "\n" in text[shows.start_mark.index : close]:
        # Shows on lines of their own: the new one on a line of its own, aligned with the last.
        separator = ("" if text[before - 1] == "," else ",") + "\n" + " " * shows.value[-1][0].start_mark.column
    else:
        separator = " " if text[before - 1] == "," else ", "
    return before, f"{separator}{show_id}: {_flow(entry)}"


def _flow(value: Any) -> str:
    """A value in YAML flow style: mappings in braces, lists in brackets, scalars quoted as needed."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    yaml = YAML(typ="rt")
    yaml.default_flow_style = True
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump([value], out)  # inside a flow list, so quoted where a flow context needs it
    return out.getvalue().strip()[1:-1]


def _check(before: str, after: str, show_id: str, entry: dict[str, Any]) -> None:
    """The new text holds what the old one did, plus the show at the end of ``shows``."""
    loader = YAML(typ="safe", pure=True)
    try:
        old, new = loader.load(before), loader.load(after)
    except YAMLError as exc:
        raise ConfigEditError(f"the config would not be YAML after adding the show: {exc}") from exc
    expected = {**old, "shows": {**(old.get("shows") or {}), show_id: entry}}
    if new != expected or list(new["shows"])[-1] != show_id:
        raise ConfigEditError("the show did not land at the end of 'shows' (an unusual layout); add it by hand")


def write_config(path: Path, before: bytes, text: str) -> None:
    """Replace the config file's content atomically, keeping its mode, unless it changed since it was read."""
    target = path.resolve()  # a symlinked config stays a symlink
    try:
        if target.read_bytes() != before:
            raise ConfigEditError(f"{path} changed while the show was being added; nothing written, try again")
        replace_atomically(target, text.encode("utf-8"), stat.S_IMODE(target.stat().st_mode))
    except OSError as exc:
        raise ConfigEditError(f"cannot write {path}: {exc}") from exc
