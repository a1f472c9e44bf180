"""Will podcast apps accept this feed? A linter for RSS podcast feeds, ours or anyone's.

Rules come from Apple Podcasts' feed requirements, the RSS Advisory Board's Best
Practices Profile and the Podcasting 2.0 namespace's documentation
(https://podcastindex.org/namespace/1.0). An *error* is something an app or directory rejects or gets
wrong (Apple refuses the feed, an app downloads an episode twice); a *warning* is
something they recommend. Pure: bytes in, problems out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from lxml import etree

from feedtool import namespaces

Severity = Literal["error", "warning"]

MAX_DESCRIPTION_BYTES = 4000

#: Apple Podcasts categories and their subcategories.
APPLE_CATEGORIES: dict[str, frozenset[str]] = {
    name: frozenset(subs)
    for name, subs in {
        "Arts": ["Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"],
        "Business": ["Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"],
        "Comedy": ["Comedy Interviews", "Improv", "Stand-Up"],
        "Education": ["Courses", "How To", "Language Learning", "Self-Improvement"],
        "Fiction": ["Comedy Fiction", "Drama", "Science Fiction"],
        "Government": [],
        "History": [],
        "Health & Fitness": ["Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"],
        "Kids & Family": ["Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"],
        "Leisure": ["Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies", "Home & Garden",
                    "Video Games"],
        "Music": ["Music Commentary", "Music History", "Music Interviews"],
        "News": ["Business News", "Daily News", "Entertainment News", "News Commentary", "Politics", "Sports News",
                 "Tech News"],
        "Religion & Spirituality": ["Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion",
                                    "Spirituality"],
        "Science": ["Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics", "Natural Sciences",
                    "Nature", "Physics", "Social Sciences"],
        "Society & Culture": ["Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"],
        "Sports": ["Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey", "Rugby",
                   "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness", "Wrestling"],
        "Technology": [],
        "True Crime": [],
        "TV & Film": ["After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"],
    }.items()
}  # fmt: skip

#: Enclosure types Apple Podcasts plays; other audio and video types work in some apps.
APPLE_TYPES = frozenset(
    {
        "audio/mpeg",
        "audio/x-m4a",
        "audio/mp4",
        "audio/m4a",
        "video/mp4",
        "video/quicktime",
        "video/x-m4v",
        "application/pdf",
    }
)

#: podcast:transcript types the namespace lists; apps skip a transcript of another type.
TRANSCRIPT_TYPES = frozenset(
    {"text/vtt", "application/x-subrip", "application/srt", "application/json", "text/html", "text/plain"}
)
CHAPTERS_TYPE = "application/json+chapters"
MAX_FUNDING_TEXT = 128

#: The Podcast Taxonomy Project's podcast:person groups and their roles (compared in lower case).
PERSON_ROLES: dict[str, frozenset[str]] = {
    group: frozenset(role.lower() for role in roles)
    for group, roles in {
        "creative direction": ["Director", "Assistant Director", "Executive Producer", "Senior Producer", "Producer",
                               "Associate Producer", "Development Producer", "Creative Director"],
        "cast": ["Host", "Co-Host", "Guest Host", "Guest", "Voice Actor", "Narrator", "Announcer", "Reporter"],
        "writing": ["Author", "Editorial Director", "Co-Writer", "Writer", "Songwriter", "Guest Writer", "Story Editor",
                    "Managing Editor", "Script Editor", "Script Coordinator", "Researcher", "Editor", "Fact Checker",
                    "Translator", "Transcriber", "Logger"],
        "audio production": ["Studio Coordinator", "Technical Director", "Technical Manager", "Audio Engineer",
                             "Remote Recording Engineer", "Post Production Engineer"],
        "audio post-production": ["Audio Editor", "Sound Designer", "Foley Artist", "Composer", "Theme Music",
                                  "Music Production", "Music Contributor"],
        "administration": ["Production Coordinator", "Booking Coordinator", "Production Assistant", "Content Manager",
                           "Marketing Manager", "Sales Representative", "Sales Manager"],
        "visuals": ["Graphic Designer", "Cover Art Designer"],
        "community": ["Social Media Manager"],
        "misc.": ["Consultant", "Intern"],
        "video production": ["Camera Operator", "Lighting Designer", "Camera Grip", "Assistant Camera"],
        "video post-production": ["Editor", "Assistant Editor"],
    }.items()
}  # fmt: skip

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-([0-9a-fA-F])[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(?P<year>\d+) \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|UT|GMT|[ECMP][SD]T|[A-IK-Z])"
)
_DURATION = re.compile(r"\d+|\d{1,2}:\d{2}|\d+:\d{2}:\d{2}")
_TAG_IN_TEXT = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


@dataclass(frozen=True)
class Problem:
    severity: Severity
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message} [{self.rule}]"


def lint(data: bytes) -> list[Problem]:
    """Every problem of a feed, in document order."""
    return list(_check(data))


def _check(data: bytes) -> Iterator[Problem]:
    declared = _DECLARED_ENCODING.match(data[:1024])
    if declared and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        yield Problem("error", "utf-8", "feed", f"declared encoding is {declared.group(1).decode()}, not UTF-8")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Problem("error", "utf-8", "feed", f"not valid UTF-8 at byte {exc.start}")
    if data.lstrip()[:1] in (b"{", b"["):
        yield Problem("error", "rss", "feed", "this is JSON (a JSON Feed?), not XML: lint checks RSS 2.0 feeds only")
        return
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        yield Problem("error", "xml", "feed", f"not well-formed XML: {exc}")
        return
    if root.tag != "rss" or root.get("version") != "2.0":
        yield Problem(
            "error",
            "rss",
            "feed",
            f'the root is <{etree.QName(root).localname}>, not <rss version="2.0">: podcast directories need RSS 2.0',
        )
        return
    yield from _namespaces(root)
    _use_meant_namespaces(root)
    channel = root.find("channel")
    if channel is None:
        yield Problem("error", "rss", "feed", "no <channel>")
        return
    yield from _channel(channel)
    guids: dict[str, str] = {}
    enclosures: dict[str, str] = {}
    for number, item in enumerate(channel.iterfind("item"), start=1):
        yield from _item(item, number, guids, enclosures)


def _namespaces(root: etree._Element) -> Iterator[Problem]:
    seen: set[tuple[str | None, str]] = set()
    for element in root.iter():
        for prefix, uri in element.nsmap.items():
            if (prefix, uri) in seen:
                continue
            seen.add((prefix, uri))
            meant = namespaces.meant(uri)
            if meant is not None and uri != meant:
                yield Problem(
                    "error",
                    "namespace",
                    "feed",
                    f"namespace {prefix or '(default)'} is {uri!r}; apps expect exactly {meant!r}",
                )


def _use_meant_namespaces(root: etree._Element) -> None:
    """Move elements from a misspelt podcast namespace to the one meant, so the checks see them.

    Without this a miscased iTunes URI makes every itunes: element look missing, which hides the real problems.
    """
    for element in root.iter(etree.Element):
        name = etree.QName(element)
        if name.namespace is not None:
            meant = namespaces.meant(name.namespace)
            if meant is not None and meant != name.namespace:
                element.tag = f"{{{meant}}}{name.localname}"


def _markup(parent: etree._Element, path: str) -> str | None:
    """A message if the element at path holds child elements (HTML): apps show only the text before them."""
    element = parent.find(path)
    if element is None or len(element) == 0:
        return None
    shown = (element.text or "").strip()
    return (
        f"<{path}> holds HTML markup (<{etree.QName(element[0]).localname}>): apps show only {shown!r};"
        " escape it or use plain text"
    )


def _text(parent: etree._Element, path: str) -> str | None:
    element = parent.find(path, {"itunes": namespaces.ITUNES, "atom": namespaces.ATOM})
    if element is None:
        return None
    return (element.text or "").strip()


def _channel(channel: etree._Element) -> Iterator[Problem]:
    where = "channel"
    markup = _markup(channel, "title")
    if markup is not None:
        yield Problem("error", "channel-title", where, markup)
    elif not _text(channel, "title"):
        yield Problem("error", "channel-title", where, "no <title>")
    description = _text(channel, "description") or _text(channel, "itunes:summary")
    if not description:
        yield Problem("error", "channel-description", where, "no <description>")
    elif len(description.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
        yield Problem(
            "error",
            "channel-description",
            where,
            f"<description> is {len(description.encode())} bytes; at most {MAX_DESCRIPTION_BYTES}",
        )
    image = channel.find(f"{{{namespaces.ITUNES}}}image")
    href = (image.get("href") or "").strip() if image is not None else ""
    if not href:
        yield Problem("error", "channel-image", where, "no <itunes:image href=...>")
    elif not urlsplit(href).path.lower().endswith((".jpg", ".jpeg", ".png")):
        yield Problem("error", "channel-image", where, f"<itunes:image> {href!r} must end in .jpg or .png")
    language = _text(channel, "language")
    if not language:
        yield Problem("error", "channel-language", where, "no <language>")
    elif not _LANGUAGE.fullmatch(language):
        yield Problem("warning", "channel-language", where, f"<language> {language!r} is not a language code")
    yield from _categories(channel)
    explicit = _text(channel, "itunes:explicit")
    if explicit is None:
        yield Problem("error", "channel-explicit", where, "no <itunes:explicit>")
    elif explicit not in ("true", "false"):
        yield Problem("error", "channel-explicit", where, f"<itunes:explicit> is {explicit!r}; use true or false")
    if not any(link.get("rel") == "self" for link in channel.iterfind(f"{{{namespaces.ATOM}}}link")):
        yield Problem("warning", "self-link", where, 'no <atom:link rel="self"> naming the feed\'s own URL')
    yield from _podcast_guid(channel)
    for locked in _podcast(channel, "locked"):
        if (locked.text or "").strip() not in ("yes", "no"):
            yield Problem("error", "podcast-locked", where, f"<podcast:locked> is {locked.text!r}; use yes or no")
    for funding in _podcast(channel, "funding"):
        if not _attribute(funding, "url"):
            yield Problem("error", "podcast-funding", where, "<podcast:funding> without url")
        if len((funding.text or "").strip()) > MAX_FUNDING_TEXT:
            yield Problem(
                "warning", "podcast-funding", where, f"<podcast:funding> text is over {MAX_FUNDING_TEXT} characters"
            )
    yield from _podcast_shared(channel, where)


def _categories(channel: etree._Element) -> Iterator[Problem]:
    categories = channel.findall(f"{{{namespaces.ITUNES}}}category")
    if not categories:
        yield Problem("error", "channel-category", "channel", "no <itunes:category>")
    for category in categories:
        name = category.get("text") or ""
        if name not in APPLE_CATEGORIES:
            yield Problem("error", "channel-category", "channel", f"{name!r} is not an Apple Podcasts category")
            continue
        for sub in category.iterfind(f"{{{namespaces.ITUNES}}}category"):
            if (sub.get("text") or "") not in APPLE_CATEGORIES[name]:
                yield Problem(
                    "error", "channel-category", "channel", f"{sub.get('text')!r} is not a subcategory of {name!r}"
                )


def _item(item: etree._Element, number: int, guids: dict[str, str], enclosures: dict[str, str]) -> Iterator[Problem]:
    title = _text(item, "title")
    where = f"item {number}" + (f" {title[:60]!r}" if title else "")
    markup = _markup(item, "title")
    if markup is not None:
        yield Problem("error", "item-title-html", where, markup)
    elif not title:
        yield Problem("error", "item-title", where, "no <title>")
    elif _TAG_IN_TEXT.search(title):
        yield Problem("warning", "item-title-html", where, "the title holds HTML tags or entities")
    yield from _enclosure(item, where, enclosures)
    guid = item.find("guid")
    value = (guid.text or "").strip() if guid is not None else ""
    if guid is None or not value:
        yield Problem("error", "item-guid", where, "no <guid>: apps cannot tell this episode from others")
    else:
        if value in guids:
            yield Problem("error", "item-guid", where, f"GUID {value!r} repeats {guids[value]}")
        guids.setdefault(value, where)
        is_url = value.startswith(("http://", "https://"))
        if not is_url and (guid.get("isPermaLink") or "true").strip() != "false":
            yield Problem("error", "item-guid", where, f'GUID {value!r} is not a URL: it needs isPermaLink="false"')
    published = _text(item, "pubDate")
    if published is None:
        yield Problem("warning", "item-pubdate", where, "no <pubDate>")
    else:
        match = _RFC822.fullmatch(published)
        if match is None:
            yield Problem("error", "item-pubdate", where, f"<pubDate> {published!r} is not an RFC 822 date")
        elif len(match.group("year")) != 4:
            yield Problem("error", "item-pubdate", where, f"<pubDate> {published!r} needs a four-digit year")
    duration = _text(item, "itunes:duration")
    if duration is not None and not _DURATION.fullmatch(duration):
        yield Problem(
            "error", "item-duration", where, f"<itunes:duration> {duration!r}: use seconds, MM:SS or HH:MM:SS"
        )
    for tag in ("episode", "season"):
        number_text = _text(item, f"itunes:{tag}")
        if number_text is not None and not (_is_number(number_text) and int(number_text) > 0):
            yield Problem("error", f"item-{tag}", where, f"<itunes:{tag}> {number_text!r} is not a positive integer")
    yield from _podcast_item(item, where)
    yield from _podcast_shared(item, where)


def _enclosure(item: etree._Element, where: str, enclosures: dict[str, str]) -> Iterator[Problem]:
    enclosure = item.find("enclosure")
    if enclosure is None:
        yield Problem("error", "item-enclosure", where, "no <enclosure>: nothing to play")
        return
    url = (enclosure.get("url") or "").strip()
    kind = (enclosure.get("type") or "").strip().lower()
    length = (enclosure.get("length") or "").strip()
    if not url:
        yield Problem("error", "item-enclosure", where, "<enclosure> without url")
    elif url in enclosures:
        yield Problem("error", "item-enclosure", where, f"enclosure URL repeats {enclosures[url]}")
    else:
        enclosures[url] = where
    if not kind:
        yield Problem("error", "item-enclosure", where, "<enclosure> without type")
    elif not kind.startswith(("audio/", "video/")) and kind not in APPLE_TYPES:
        yield Problem("error", "item-enclosure", where, f"<enclosure> type {kind!r} is not audio or video")
    elif kind not in APPLE_TYPES:
        yield Problem("warning", "item-enclosure", where, f"<enclosure> type {kind!r} does not play in Apple Podcasts")
    if not _is_number(length):
        yield Problem("error", "item-enclosure", where, f"<enclosure> length {length!r} is not a number of bytes")


def _podcast(parent: etree._Element, name: str) -> list[etree._Element]:
    return parent.findall(f"{{{namespaces.PODCAST}}}{name}")


def _attribute(element: etree._Element, name: str) -> str:
    return (element.get(name) or "").strip()


def _podcast_guid(channel: etree._Element) -> Iterator[Problem]:
    for guid in _podcast(channel, "guid"):
        value = (guid.text or "").strip()
        match = _UUID.fullmatch(value)
        if match is None:
            # Podcast Index and the apps that look podcasts up by guid find nothing.
            yield Problem("error", "podcast-guid", "channel", f"<podcast:guid> {value!r} is not a UUID")
        elif match.group(1) != "5":
            yield Problem(
                "warning",
                "podcast-guid",
                "channel",
                f"<podcast:guid> {value!r} is a version {match.group(1)} UUID"
                "; the namespace asks for a UUIDv5 of the feed URL",
            )


def _podcast_item(item: etree._Element, where: str) -> Iterator[Problem]:
    for transcript in _podcast(item, "transcript"):
        kind = _attribute(transcript, "type")
        if not _attribute(transcript, "url"):
            yield Problem("error", "podcast-transcript", where, "<podcast:transcript> without url")
        if not kind:
            yield Problem("error", "podcast-transcript", where, "<podcast:transcript> without type")
        elif kind.lower() not in TRANSCRIPT_TYPES:
            yield Problem(
                "error",
                "podcast-transcript",
                where,
                f"<podcast:transcript> type {kind!r} is none of {', '.join(sorted(TRANSCRIPT_TYPES))}",
            )
    for chapters in _podcast(item, "chapters"):
        kind = _attribute(chapters, "type")
        if not _attribute(chapters, "url"):
            yield Problem("error", "podcast-chapters", where, "<podcast:chapters> without url")
        if not kind:
            yield Problem("error", "podcast-chapters", where, "<podcast:chapters> without type")
        elif kind.lower() != CHAPTERS_TYPE:
            yield Problem(
                "warning", "podcast-chapters", where, f"<podcast:chapters> type {kind!r}, not {CHAPTERS_TYPE}"
            )
    alternates = _podcast(item, "alternateEnclosure")
    defaults = [a for a in alternates if _attribute(a, "default").lower() == "true"]
    if len(defaults) > 1:
        yield Problem(
            "error",
            "podcast-alternate-enclosure",
            where,
            f'{len(defaults)} <podcast:alternateEnclosure default="true">: at most one is the default',
        )
    for number, alternate in enumerate(alternates, start=1):
        if not _attribute(alternate, "type"):
            yield Problem(
                "error", "podcast-alternate-enclosure", where, f"<podcast:alternateEnclosure> {number} without type"
            )
        sources = _podcast(alternate, "source")
        if not any(_attribute(source, "uri") for source in sources):
            yield Problem(
                "error",
                "podcast-alternate-enclosure",
                where,
                f"<podcast:alternateEnclosure> {number} has no <podcast:source uri=...>: nothing to play",
            )


def _podcast_shared(parent: etree._Element, where: str) -> Iterator[Problem]:
    """The tags a channel and an item may both carry: value, person."""
    for value in _podcast(parent, "value"):
        yield from _value(value, where)
    for person in _podcast(parent, "person"):
        group = _attribute(person, "group").lower() or "cast"
        role = _attribute(person, "role").lower() or "host"
        if group not in PERSON_ROLES:
            yield Problem(
                "warning", "podcast-person", where, f"<podcast:person> group {group!r} is not in the taxonomy"
            )
        elif role not in PERSON_ROLES[group]:
            yield Problem(
                "warning", "podcast-person", where, f"<podcast:person> role {role!r} is not a role of group {group!r}"
            )


def _value(value: etree._Element, where: str) -> Iterator[Problem]:
    for attribute in ("type", "method"):
        if not _attribute(value, attribute):
            yield Problem("error", "podcast-value", where, f"<podcast:value> without {attribute}")
    # Apps pay each recipient split / (sum of splits): the splits are shares, whole numbers.
    groups = [value, *value.iterfind(f"{{{namespaces.PODCAST}}}valueTimeSplit")]
    total = 0
    for group in groups:
        for recipient in _podcast(group, "valueRecipient"):
            name = _attribute(recipient, "name") or _attribute(recipient, "address")[:20]
            for attribute in ("type", "address", "split"):
                if not _attribute(recipient, attribute):
                    yield Problem(
                        "error", "podcast-value", where, f"<podcast:valueRecipient> {name!r} without {attribute}"
                    )
            split = _attribute(recipient, "split")
            if split and not _is_number(split):
                yield Problem(
                    "error",
                    "podcast-value",
                    where,
                    f"<podcast:valueRecipient> {name!r} split {split!r} is not a whole number",
                )
            elif split and group is value:
                total += int(split)
    if total == 0 and not value.findall(f"{{{namespaces.PODCAST}}}valueTimeSplit"):
        yield Problem("error", "podcast-value", where, "<podcast:value> splits add up to 0: nobody is paid")


def _is_number(text: str) -> bool:
    """Whether text is a whole number in ASCII digits, short enough to read.

    >>> _is_number("12"), _is_number("²"), _is_number("9" * 5000)
    (True, False, False)
    """
    return text.isascii() and text.isdigit() and len(text) <= 20
