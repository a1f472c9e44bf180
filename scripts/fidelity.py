"""Fidelity: does what a podcast app reads upstream reach it intact through feedtool?

Each feed is served from a loopback HTTP server, refreshed into a fresh store and
republished by feedtool's web app; gPodder's parser (podcastparser, with an empty
base URL so that GUIDs stay verbatim) reads upstream and our output, and every field
an app uses is compared per episode. Upstream episodes that share a GUID are left
out: no output can keep both. Every difference is listed with its reason; a reason
is one of feedtool's documented, intended normalizations (README, "What feedtool
changes, on purpose"), or UNEXPECTED.

    python scripts/fidelity.py [FEED ...]    # default: ../shared/corpus and tests/data/rss
"""

from __future__ import annotations

import io
import logging
import re
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import podcastparser

from feedtool.lint import lint
from feedtool.testing import servers

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIELDS = (
    "title",
    "guid",
    "published",
    "total_time",
    "enclosure_url",
    "mime_type",
    "file_size",
    "link",
    "episode_art_url",
    "chapters",
    "chapters_json_url",
    "transcript_url",
    "persons",
    "description",
)
UNEXPECTED = "UNEXPECTED"

# The intended normalizations, as the README documents them.
DERIVED_GUID = "a derived GUID where upstream had none"
DATED = "an undated episode is dated when feedtool first saw it"
DURATION = "a duration written as seconds (a form gPodder's parser does not read)"
SANITIZED = "sanitized HTML (no scripts, styles, images; boilerplate removed)"
PERMALINK = 'isPermaLink="false" for a GUID that is not a URL (gPodder then no longer takes it as the link)'
MIME = "a missing enclosure type guessed from the file name"
RELATIVE = "relative URLs resolved against the feed's address"
TITLE = "titles without HTML and entities"
NAMESPACE = "Podcasting 2.0 tags under the namespace's official URI, which podcastparser 0.6 does not know"
DATE_READ = "a date gPodder's parser cannot read, read"
ABSURD_DATE = "an absurd date (year 1, year 9999) not believed: dated when first seen"
BAD_DURATION = "a negative or absurd duration (over a week) left unknown"
ENCLOSURE = "one enclosure: the first audio file, not an image listed before it"


@dataclass(frozen=True)
class Difference:
    feed: str
    episode: str
    field: str
    upstream: Any
    ours: Any
    reason: str


@dataclass
class Report:
    compared: int = 0
    preserved: int = 0
    episodes: int = 0
    feeds: int = 0
    skipped: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    #: lint problems our output has that upstream did not have, per feed
    lint_added: dict[str, list[str]] = field(default_factory=dict)

    def figure(self) -> str:
        return f"fidelity: {self.preserved} of {self.compared} fields preserved"

    @property
    def unexpected(self) -> list[Difference]:
        return [d for d in self.differences if d.reason == UNEXPECTED]


def default_feeds() -> list[Path]:
    feeds = sorted((ROOT / "tests" / "data" / "rss").glob("*.xml"))
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        feeds += sorted((corpus / "podcastparser").glob("*.rss")) + sorted((corpus / "podcast-namespace").glob("*.xml"))
    return feeds


def measure(feeds: Sequence[Path]) -> Report:
    report = Report()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        names = {}
        for index, feed in enumerate(feeds):
            name = f"f{index:03d}-" + re.sub(r"[^a-z0-9]+", "-", feed.stem.lower()).strip("-")
            names[name] = feed
        started = int(time.time())
        site = servers.republish(names, work)  # the feeds, served by a real HTTP server on 127.0.0.1
        results, client, base = site.results, site.client, site.upstream_base
        for name, feed in names.items():
            theirs = _parse(feed.read_bytes())
            if theirs is None or results[name].status == "failed":
                report.skipped.append(f"{feed.name}: not a feed both parsers read")
                continue
            body = client.get(f"/feeds/{name}.rss").data
            ours = _parse(body)
            assert ours is not None, name
            report.feeds += 1
            upstream_rules = {(p.rule, p.severity) for p in lint(feed.read_bytes())}
            if not upstream_rules & {("xml", "error"), ("rss", "error")}:
                added = [str(p) for p in lint(body) if (p.rule, p.severity) not in upstream_rules]
                if added:
                    report.lint_added[feed.name] = added
            _compare(feed.name, theirs, ours, base, started, report)
    return report


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        parsed: dict[str, Any] = podcastparser.parse("", io.BytesIO(body))
    except Exception:
        return None
    return parsed


def _fields(episode: dict[str, Any]) -> dict[str, Any]:
    enclosure = episode["enclosures"][0] if episode.get("enclosures") else {}
    description = episode.get("description_html") or episode.get("description") or ""
    return {
        "title": episode.get("title"),
        "guid": episode.get("guid"),
        "published": episode.get("published") or 0,
        "total_time": episode.get("total_time") or 0,
        "enclosure_url": enclosure.get("url"),
        "mime_type": enclosure.get("mime_type"),
        "file_size": enclosure.get("file_size"),
        "link": episode.get("link") or "",
        "episode_art_url": episode.get("episode_art_url"),
        "chapters": [
            (c.get("start"), c.get("title"), c.get("href"), c.get("image")) for c in episode.get("chapters", [])
        ],
        "chapters_json_url": episode.get("chapters_json_url"),
        "transcript_url": episode.get("transcript_url"),
        "persons": [(p.get("name"), p.get("role"), p.get("href")) for p in episode.get("persons", [])],
        "description": _words(description),
    }


def _words(markup: str) -> str:
    text = re.sub(r"<[^>]+>", " ", markup)
    import html

    return " ".join(html.unescape(text).split())


def _compare(
    feed: str, upstream: dict[str, Any], ours: dict[str, Any], base: str, started: int, report: Report
) -> None:
    counts = Counter(e.get("guid") for e in upstream["episodes"])
    ours_by_guid = {e["guid"]: e for e in ours["episodes"]}
    ours_by_enclosure = {e["enclosures"][0]["url"]: e for e in ours["episodes"] if e.get("enclosures")}
    ours_by_title = {e["title"]: e for e in ours["episodes"]}
    for episode in upstream["episodes"]:
        if counts[episode.get("guid")] > 1:
            continue  # upstream episodes that share a GUID: no output can keep both
        up = _fields(episode)
        match = (
            ours_by_guid.get(up["guid"])
            or ours_by_enclosure.get(up["enclosure_url"] or "")
            or ours_by_title.get(up["title"] or "")
        )
        report.episodes += 1
        if match is None:
            report.compared += len(FIELDS)
            report.differences.append(Difference(feed, up["title"], "episode", up["guid"], None, UNEXPECTED))
            continue
        mine = _fields(match)
        for name in FIELDS:
            report.compared += 1
            if up[name] == mine[name]:
                report.preserved += 1
            else:
                reason = _reason(name, up, mine, base, started)
                report.differences.append(Difference(feed, str(up["title"]), name, up[name], mine[name], reason))


def _reason(name: str, up: dict[str, Any], mine: dict[str, Any], base: str, started: int) -> str:
    """Which documented normalization explains a difference, or UNEXPECTED."""
    a, b = up[name], mine[name]
    if name == "guid" and (
        b.startswith("feedtool:") or b in (up["link"], _no_query(up["enclosure_url"]), _no_query(mine["enclosure_url"]))
    ):
        return DERIVED_GUID
    if name == "published" and a == 0 and b >= started:
        return DATED
    if name == "published" and b >= started and (a < -2208988800 or a > 7258118400 or a == 978307200):
        # before 1900 or after 2199; 978307200 is how email.utils misreads year 0001
        return ABSURD_DATE
    if name == "total_time" and b == 0 and (a < 0 or a > 7 * 86400):
        return BAD_DURATION
    picked_audio = up["enclosure_url"] != mine["enclosure_url"] and str(up["mime_type"]).startswith("image/")
    if name in ("enclosure_url", "mime_type", "file_size") and picked_audio:
        return ENCLOSURE
    if name == "published" and a == 0 and b > 0:
        return DATE_READ
    if name == "total_time" and b > 0 and a != b:
        return DURATION
    if name == "link" and a == up["guid"] and b == "" and not str(a).startswith(("http://", "https://")):
        return PERMALINK
    if name == "mime_type" and a == "application/octet-stream" and b:
        return MIME
    if isinstance(b, str) and b.startswith(base) and isinstance(a, str) and b.endswith(a.lstrip("./")):
        return RELATIVE
    if name in ("enclosure_url", "episode_art_url", "chapters_json_url") and isinstance(b, str) and b.startswith(base):
        return RELATIVE
    if name == "title" and (_words(a or "") == b or urllib.parse.unquote(a or "") == b):
        return TITLE
    if name in ("chapters_json_url", "transcript_url", "persons") and not b:
        return NAMESPACE
    if name == "description":
        return SANITIZED
    return UNEXPECTED


def _no_query(url: str | None) -> str | None:
    return url.split("?", 1)[0] if url else None


def main(argv: Sequence[str]) -> int:
    logging.disable(logging.CRITICAL)  # both parsers complain about every slip of the corpus
    feeds = [Path(a) for a in argv] or default_feeds()
    report = measure(feeds)
    print(report.figure())
    print(f"{report.feeds} feeds, {report.episodes} episodes; {len(report.skipped)} feeds skipped")
    reasons = Counter(d.reason for d in report.differences)
    for reason, count in reasons.most_common():
        print(f"\n{count} × {reason}:")
        for d in (d for d in report.differences if d.reason == reason):
            print(f"  {d.feed} / {d.episode!r} / {d.field}: {str(d.upstream)[:80]!r} -> {str(d.ours)[:80]!r}")
    for skipped in report.skipped:
        print(f"skipped: {skipped}")
    for feed, problems in report.lint_added.items():
        print(f"lint problems feedtool added to {feed}: {problems}")
    return 1 if report.unexpected or report.lint_added else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
