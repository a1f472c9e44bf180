"""The Podcast Index's own parser (npm ``podcast-partytime`` 5, used by Podcast Index and
Podverse) reads each feed of the corpus upstream and as feedtool republishes it, unfiltered and
filtered: every field it reads upstream must read the same from our RSS, but for the documented
differences below (issue 11).

Each feed is served by a loopback HTTP server, refreshed into a fresh store by feedtool and
rendered by its web app; one Node process parses the whole batch. partytime's parse is flattened
to field paths (``value.recipients[0].split``; episodes and live items keyed by their GUID) and
grouped by the field partytime names (``channel.value``, ``item.podcastSoundbites``, ...): one test
per group and mode. partytime fills an absent title, link, description or GUID with "" and an
absent date with 1970-01-01, and adds when it parsed (``lastUpdate``) and which tags it found
(``pc20support``): none of these is a field read upstream.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from feedtool.testing import servers

from figures import record
from partytime.runner import parse, skip_reason

pytestmark = pytest.mark.clients

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
#: The filtered variant: the two newest episodes, a filter that drops episodes.
FILTER = "limit=2"
MODES = ("unfiltered", "filtered")
EPOCH = "1970-01-01T00:00:00.000Z"  # partytime's date where it found none
#: What partytime adds of its own: when it parsed, and a summary of the tags it found.
NOT_READ = ("lastUpdate", "pc20support")


@dataclass(frozen=True)
class Documented:
    """One intended difference: paths it covers, when, and why (README words where it says so)."""

    scope: str  # "channel", "item" or "liveItem"
    pattern: str  # regular expression over the path inside the channel, item or live item
    reason: str
    modes: tuple[str, ...] = MODES
    when: Callable[[Any, Any], bool] | None = None  # (upstream value, ours) -> applies
    readme: str | None = None  # words of README.md that document it


def _relative(up: Any, ours: Any) -> bool:
    return isinstance(up, str) and "://" not in up and isinstance(ours, str) and ours.endswith(up)


DOCUMENTED = (
    Documented("channel", r"lastBuildDate|generator", "what feedtool itself decides (issue 11)"),
    Documented(
        "channel",
        r"pubDate|lastPubDate",
        "upstream's date of its own document: feedtool's lastBuildDate stands for it (partytime reads either)",
    ),
    Documented("channel", r"pubsub\.(self|hub|next)", "links to upstream's own address or its next page (issue 11)"),
    Documented("channel", r"itunesNewFeedUrl", "would move subscribers off feedtool's copy (issue 11)"),
    Documented(
        "channel",
        r"newestItemPubDate|oldestItemPubDate",
        "partytime's summary of the episodes' dates, each compared itself; an undated one is dated when first seen",
        readme="an episode without a date is dated when feedtool first saw it",
    ),
    Documented(
        "channel",
        r"guid",
        "a filtered feed is a podcast of its own, with its own podcast:guid",
        modes=("filtered",),
        readme="a filtered feed is a podcast of its own",
    ),
    Documented(
        "channel",
        r"podcastSeasons\..*",
        "partytime's summary of the seasons of the episodes a filtered feed keeps",
        modes=("filtered",),
    ),
    Documented(
        "channel",
        r"title|image\.title",
        "a filtered feed's title says what it kept",
        modes=("filtered",),
        readme="A filtered feed's title says what it kept",
    ),
    Documented(
        "item",
        r"podcastSoundbites\[\d+\]\.title",
        "partytime titles a soundbite without one after the feed, whose title says what it kept",
        modes=("filtered",),
        readme="A filtered feed's title says what it kept",
    ),
    Documented(
        "item",
        r"enclosure\.(url|type|length)",
        "one enclosure per episode: the first audio file, not an image listed before it",
        when=lambda up, ours: isinstance(up, str | int),
        readme="One enclosure per episode: the first audio file",
    ),
    Documented(
        "channel",
        r"image\.url",
        "relative URLs are resolved",
        when=_relative,
        readme="Relative URLs are resolved against the feed's address",
    ),
    Documented(
        "item",
        r"content",
        "an episode whose only text is content:encoded has it written once, as its description",
        when=lambda up, ours: ours is None,
    ),
    Documented(
        "item",
        r"guid",
        "a relative permalink GUID is resolved, as gPodder reads it",
        when=_relative,
        readme="a relative permalink GUID is resolved",
    ),
    Documented(
        "item",
        r"itunesEpisode",
        "an episode number that is not a positive integer is unknown",
        when=lambda up, ours: isinstance(up, int) and up <= 0 and ours is None,
    ),
    Documented(
        "item",
        r"podcastChapters\.type",
        "a chapters link without a type gets the spec's application/json+chapters (partytime's default: JSON)",
        when=lambda up, ours: up == "application/json" and ours == "application/json+chapters",
    ),
)

#: What partytime reads of a live item (all of it lost today).
LIVE_ITEM = (
    "alternativeEnclosures",
    "author",
    "chat",
    "contentLinks",
    "description",
    "enclosure",
    "end",
    "guid",
    "link",
    "podcastImages",
    "podcastPeople",
    "podcastRemoteItems",
    "start",
    "status",
    "title",
    "value",
)
#: The other groups it reads from the corpus, channel and item.
CHANNEL = (
    "author",
    "categories",
    "description",
    "explicit",
    "guid",
    "itunesBlock",
    "itunesCategory",
    "itunesComplete",
    "itunesType",
    "language",
    "link",
    "owner",
    "subtitle",
    "title",
    "type",
    "lastBuildDate",
    "generator",
    "pubDate",
    "lastPubDate",
    "pubsub",
    "itunesNewFeedUrl",
    "locked",
    "podcastOwner",
    "newestItemPubDate",
    "oldestItemPubDate",
)
ITEM = (
    "content",
    "description",
    "duration",
    "enclosure",
    "explicit",
    "guid",
    "image",
    "itunesEpisode",
    "itunesEpisodeType",
    "itunesImage",
    "itunesSeason",
    "keywords",
    "link",
    "podcastChapters",
    "podcastPeople",
    "podcastTranscripts",
    "pubDate",
    "subtitle",
    "summary",
    "title",
)

#: Field groups that only pass-through of extension and RSS 2.0 elements keeps (issue 11),
#: with the element behind each.
PASSED_THROUGH = {
    **{
        f"channel.{name}": tag
        for name, tag in {
            "chat": "podcast:chat",
            "copyright": "copyright",
            "image": "the channel <image> (width, height, title, link)",
            "itunesImage": "itunes:image beside <image>",
            "license": "podcast:license",
            "managingEditor": "managingEditor",
            "webmaster": "webMaster",
            "medium": "podcast:medium",
            "podcastBlocked": "podcast:block",
            "podcastBlockedPlatforms": "podcast:block id=",
            "podcastFunding": "podcast:funding",
            "podcastId": "podcast:id",
            "podcastImages": "podcast:images",
            "podcastLocation": "podcast:location",
            "podcastPeople": "channel podcast:person",
            "podcastPublisher": "podcast:publisher",
            "podcastRemoteItems": "podcast:remoteItem",
            "podcastSeasons": "podcast:season names",
            "podcastSocial": "podcast:social",
            "podcastTxt": "podcast:txt",
            "podroll": "podcast:podroll",
            "summary": "itunes:summary",
            "trailers": "podcast:trailer",
            "ttl": "ttl",
            "value": "podcast:value",
        }.items()
    },
    **{
        f"item.{name}": tag
        for name, tag in {
            "alternativeEnclosures": "podcast:alternateEnclosure",
            "author": "item author",
            "chat": "podcast:chat",
            "license": "podcast:license",
            "podcastEpisode": "podcast:episode",
            "podcastImages": "podcast:images",
            "podcastLocation": "podcast:location",
            "podcastSeason": "podcast:season",
            "podcastSocialInteraction": "podcast:socialInteract",
            "podcastSoundbites": "podcast:soundbite",
            "podcastTxt": "podcast:txt",
            "value": "podcast:value",
        }.items()
    },
    **{f"liveItem.{name}": "podcast:liveItem" for name in LIVE_ITEM},
}

#: Groups still read differently, each with why; strict, so that a fix flips them loudly.
STILL_LOST: dict[tuple[str, str], str] = {}

#: Every group partytime reads from the corpus and fixtures, with what it covers.
GROUPS = sorted(
    {
        *PASSED_THROUGH,
        *(f"channel.{name}" for name in CHANNEL),
        *(f"item.{name}" for name in ITEM),
    }
)
#: Text partytime keeps as HTML: compared by its words (descriptions are sanitized, README).
TEXT = re.compile(r"(description|content|summary|subtitle)")


@dataclass(frozen=True)
class Diff:
    feed: str
    path: str
    upstream: Any
    ours: Any


@dataclass
class Comparison:
    """Every field partytime reads upstream, per mode and group: kept, documented or lost."""

    feeds: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    compared: dict[tuple[str, str], int] = field(default_factory=dict)
    kept: dict[tuple[str, str], int] = field(default_factory=dict)
    documented: dict[tuple[str, str], list[Diff]] = field(default_factory=dict)
    lost: dict[tuple[str, str], list[Diff]] = field(default_factory=dict)
    #: the groups partytime read from the project's own fixtures
    own_groups: set[str] = field(default_factory=set)

    def total(self, counts: dict[tuple[str, str], int], mode: str) -> int:
        return sum(n for (m, _g), n in counts.items() if m == mode)


def corpus() -> list[Path]:
    """The project's fixtures, then ../shared/corpus where present (read there, never copied)."""
    feeds = sorted((ROOT / "tests" / "data" / "rss").glob("*.xml"))
    if (SHARED / "corpus").is_dir():
        feeds += sorted((SHARED / "corpus" / "podcastparser").glob("*.rss"))
        feeds += sorted((SHARED / "corpus" / "podcast-namespace").glob("*.xml"))
    return feeds


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Each leaf as (path, value), lists by position; the channel's items are left out."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not prefix and key in ("items", "podcastLiveItems"):
                continue  # compared one by one, matched by GUID
            yield from flatten(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from flatten(inner, f"{prefix}[{index}]")
    else:
        yield prefix, value


def _words(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _documented(scope: str, path: str, mode: str, up: Any, ours: Any) -> bool:
    return any(
        d.scope == scope and mode in d.modes and re.fullmatch(d.pattern, path) and (d.when is None or d.when(up, ours))
        for d in DOCUMENTED
    )


def _items(parsed: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [i for i in parsed.get(key) or [] if isinstance(i, dict) and i]


def _match(item: dict[str, Any], ours: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Our item for an upstream one: by GUID, else title, else enclosure URL."""
    for key in ("guid", "title"):
        if item.get(key):
            found = [mine for mine in ours if mine.get(key) == item[key]]
            if found:
                return found[0]
    enclosure = (item.get("enclosure") or {}).get("url")
    return next((m for m in ours if enclosure and (m.get("enclosure") or {}).get("url") == enclosure), None)


def _compare(feed: str, mode: str, upstream: dict[str, Any], ours: dict[str, Any], out: Comparison) -> None:
    scopes: list[tuple[str, str, dict[str, Any], dict[str, Any] | None]] = [("channel", "", upstream, ours)]
    for key, scope in (("items", "item"), ("podcastLiveItems", "liveItem")):
        guids = [i.get("guid") for i in _items(upstream, key)]
        for item in _items(upstream, key):
            if item.get("guid") and guids.count(item["guid"]) > 1:
                continue  # upstream items that share a GUID: no output can keep both
            match = _match(item, _items(ours, key))
            if match is None and mode == "filtered" and scope == "item":
                continue  # the filter's choice; the unfiltered mode checks that every episode is kept
            label = item.get("guid") or (item.get("enclosure") or {}).get("url") or item.get("title")
            scopes.append((scope, f"{key}[{label}].", item, match))
    for scope, prefix, theirs, mine in scopes:
        flat_ours = dict(flatten(mine or {}))
        for path, value in flatten(theirs):
            if value == "" or value == EPOCH or (scope == "channel" and path.startswith(NOT_READ)):
                continue  # partytime's placeholder for an absent field, or no field of the feed
            name = scope + "." + re.split(r"[.\[]", path, maxsplit=1)[0]
            key = (mode, name)
            if feed.startswith("tests/"):
                out.own_groups.add(name)
            out.compared[key] = out.compared.get(key, 0) + 1
            theirs_value, ours_value = value, flat_ours.get(path)
            if TEXT.fullmatch(path):
                theirs_value, ours_value = _words(value), _words(ours_value)
            diff = Diff(feed, prefix + path, value, flat_ours.get(path) if mine is not None else "(item lost)")
            if re.fullmatch(r"(itunesCategory|categories)\[\d+\]", path):
                # Apple allows two levels: feedtool drops a third, and partytime, which skips such a
                # category upstream, reads its two levels from ours; the rest shift by one.
                siblings = {v for p, v in flat_ours.items() if p.startswith(path.split("[")[0] + "[")}
                ours_value = value if value in siblings else None
            if mine is not None and path in flat_ours and theirs_value == ours_value:
                out.kept[key] = out.kept.get(key, 0) + 1
            elif _documented(scope, path, mode, value, flat_ours.get(path)):
                out.documented.setdefault(key, []).append(diff)
            else:
                out.lost.setdefault(key, []).append(diff)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    """Refresh every corpus feed through feedtool, render it, and let partytime read both."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("partytime")
    names = {f"f{i:03d}-" + re.sub(r"[^a-z0-9]+", "-", p.stem.lower()): p for i, p in enumerate(corpus())}
    site = servers.republish(names, work)
    results, client = site.results, site.client
    outputs: dict[tuple[str, str], Path] = {}
    for name in names:
        if results[name].status == "failed":
            continue
        for mode, query in zip(MODES, ("", "?" + FILTER), strict=True):
            response = client.get(f"/feeds/{name}.rss{query}")
            assert response.status_code == 200, (name, mode)
            outputs[name, mode] = work / f"{name}.{mode}.rss"
            outputs[name, mode].write_bytes(response.data)
    parsed = parse([*names.values(), *outputs.values()])  # one Node process for the whole batch
    out = Comparison()
    for name, path in names.items():
        label = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else "shared/" + path.name
        theirs = parsed[path]
        if results[name].status == "failed":
            out.skipped[label] = f"feedtool refuses it: {results[name]}"
        elif not isinstance(theirs, dict) or "error" in theirs:
            out.skipped[label] = "partytime reads no RSS channel from it upstream (Atom, or no channel)"
        else:
            out.feeds.append(label)
            for mode in MODES:
                ours = parsed[outputs[name, mode]]
                assert isinstance(ours, dict), (label, mode, ours)
                assert "error" not in ours, (label, mode, ours)
                _compare(label, mode, theirs, ours, out)
    return out


def _params() -> Iterator[Any]:
    for mode in MODES:
        for name in GROUPS:
            marks = []
            if (mode, name) in STILL_LOST:
                marks.append(pytest.mark.xfail(strict=True, reason=STILL_LOST[mode, name]))
            yield pytest.param(mode, name, marks=marks, id=f"{mode}-{name}")


@pytest.mark.parametrize(("mode", "name"), list(_params()))
def test_every_field_read_upstream_reads_the_same(comparison: Comparison, mode: str, name: str) -> None:
    lost = comparison.lost.get((mode, name), [])
    assert lost == [], "\n".join(f"{d.feed}: {d.path}: {d.upstream!r} became {d.ours!r}" for d in lost[:20])


def test_every_group_is_known(comparison: Comparison) -> None:
    """A field partytime reads that no group names would be compared by no test."""
    seen = {name for _mode, name in comparison.compared}
    assert seen - set(GROUPS) == set()


def test_own_fixtures_cover_every_tag(comparison: Comparison) -> None:
    """The podcasting20-*.xml fixtures make partytime read every Podcasting 2.0 group."""
    podcasting20 = {g for g, tag in PASSED_THROUGH.items() if tag.startswith("podcast:")}
    podcasting20 |= {"channel.guid", "item.podcastChapters", "item.podcastPeople", "item.podcastTranscripts"}
    assert podcasting20 - comparison.own_groups == set()


def test_documented_differences_name_the_readme() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    for difference in DOCUMENTED:
        if difference.readme is not None:
            assert difference.readme in readme, difference.reason


def test_figure(comparison: Comparison) -> None:
    """How much partytime reads the same; printed in the summary (tests/figures.py)."""
    for mode in MODES:
        compared = comparison.total(comparison.compared, mode)
        kept = comparison.total(comparison.kept, mode)
        documented = sum(len(v) for (m, _g), v in comparison.documented.items() if m == mode)
        record(
            f"partytime ({mode})",
            f"partytime: {kept} of {compared} fields kept across {len(comparison.feeds)} feeds "
            f"({documented} documented differences)",
        )
        assert 0 < kept <= compared
    assert len(comparison.feeds) >= 8
    own = [f for f in comparison.feeds if f.startswith("tests/")]
    assert {"tests/data/rss/podcasting20-channel.xml", "tests/data/rss/podcasting20-items.xml"} <= set(own)
    # Only Atom feeds and feeds without a channel are read by feedtool and not by partytime.
    assert all("Atom" in reason for reason in comparison.skipped.values()), comparison.skipped
