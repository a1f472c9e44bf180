"""feedtool lint: one failing and one passing feed per rule, and our own output."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from feedtool.cli import main
from feedtool.lint import lint
from feedtool.testing.servers import Upstream

ITEM = """<item>
  <title>Episode one</title>
  <guid isPermaLink="false">ep-1</guid>
  <pubDate>Tue, 26 May 2026 10:00:00 +0000</pubDate>
  <enclosure url="https://cdn.example/1.mp3" length="1234" type="audio/mpeg"/>
  <itunes:duration>3723</itunes:duration>
  <itunes:episode>1</itunes:episode>
  <itunes:season>1</itunes:season>
</item>"""

CHANNEL = """<title>A Show</title>
<link>https://show.example/</link>
<atom:link href="https://show.example/feed.rss" rel="self" type="application/rss+xml"/>
<description>About the show.</description>
<language>en-us</language>
<itunes:image href="https://show.example/art.jpg"/>
<itunes:category text="Technology"/>
<itunes:category text="Science"><itunes:category text="Physics"/></itunes:category>
<itunes:explicit>false</itunes:explicit>"""

NAMESPACES = (
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:podcast="https://podcastindex.org/namespace/1.0"'
)


def feed(channel: str = CHANNEL, items: str = ITEM, namespaces: str = NAMESPACES, declaration: str = "UTF-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{declaration}"?>\n<rss version="2.0" {namespaces}>'
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


def test_the_valid_feed_is_clean() -> None:
    assert lint(feed()) == []


def replace_channel(old: str, new: str) -> bytes:
    assert old in CHANNEL
    return feed(channel=CHANNEL.replace(old, new))


def replace_item(old: str, new: str) -> bytes:
    assert old in ITEM
    return feed(items=ITEM.replace(old, new))


def second_item(**changes: str) -> bytes:
    other = ITEM.replace("Episode one", "Episode two").replace("ep-1", "ep-2").replace("1.mp3", "2.mp3")
    for old, new in changes.items():
        other = other.replace(old.replace("_", "-"), new)
    return feed(items=ITEM + other)


FAILING = [
    ("channel-title", replace_channel("<title>A Show</title>", ""), "error"),
    ("channel-description", replace_channel("About the show.", ""), "error"),
    ("channel-description", replace_channel("About the show.", "x" * 4001), "error"),
    ("channel-image", replace_channel('<itunes:image href="https://show.example/art.jpg"/>', ""), "error"),
    ("channel-image", replace_channel("art.jpg", "art.webp"), "error"),
    ("channel-language", replace_channel("<language>en-us</language>", ""), "error"),
    ("channel-language", replace_channel("en-us", "English"), "warning"),
    (
        "channel-category",
        replace_channel('<itunes:category text="Technology"/>', '<itunes:category text="Tech"/>'),
        "error",
    ),
    ("channel-category", replace_channel('text="Physics"', 'text="Poetry"'), "error"),
    ("channel-explicit", replace_channel(">false<", ">no<"), "error"),
    ("channel-explicit", replace_channel("<itunes:explicit>false</itunes:explicit>", ""), "error"),
    ("self-link", replace_channel('rel="self"', 'rel="alternate"'), "warning"),
    ("item-title", replace_item("<title>Episode one</title>", ""), "error"),
    ("item-title-html", replace_item("Episode one", "Episode &lt;b&gt;one&lt;/b&gt;"), "warning"),
    (
        "item-enclosure",
        replace_item('<enclosure url="https://cdn.example/1.mp3" length="1234" type="audio/mpeg"/>', ""),
        "error",
    ),
    ("item-enclosure", replace_item('url="https://cdn.example/1.mp3" ', ""), "error"),
    ("item-enclosure", replace_item('length="1234"', 'length="12 MB"'), "error"),
    ("item-enclosure", replace_item('length="1234" ', ""), "error"),
    ("item-enclosure", replace_item("audio/mpeg", "text/html"), "error"),
    ("item-enclosure", replace_item("audio/mpeg", "audio/ogg"), "warning"),
    ("item-enclosure", second_item(**{"2.mp3": "1.mp3"}), "error"),
    ("item-guid", replace_item('<guid isPermaLink="false">ep-1</guid>', ""), "error"),
    ("item-guid", replace_item(' isPermaLink="false"', ""), "error"),
    ("item-guid", second_item(ep_2="ep-1"), "error"),
    ("item-pubdate", replace_item("<pubDate>Tue, 26 May 2026 10:00:00 +0000</pubDate>", ""), "warning"),
    ("item-pubdate", replace_item("Tue, 26 May 2026 10:00:00 +0000", "2026-05-26T10:00:00Z"), "error"),
    ("item-pubdate", replace_item("26 May 2026", "26 May 26"), "error"),
    ("item-duration", replace_item(">3723<", ">1 hour<"), "error"),
    ("item-duration", replace_item(">3723<", ">1:02:03.5<"), "error"),
    ("item-episode", replace_item("<itunes:episode>1<", "<itunes:episode>0<"), "error"),
    ("item-season", replace_item("<itunes:season>1<", "<itunes:season>two<"), "error"),
    ("namespace", feed(namespaces=NAMESPACES.replace("itunes.com/dtds/podcast", "itunes.com/DTDs/Podcast")), "error"),
    (
        "namespace",
        feed(
            namespaces=NAMESPACES.replace(
                "https://podcastindex.org/namespace/1.0",
                "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
            )
        ),
        "error",
    ),
    ("utf-8", feed(declaration="ISO-8859-1"), "error"),
    ("utf-8", feed().replace(b"About the show.", b"Caf\xe9"), "error"),
    ("xml", feed()[:-20], "error"),
    ("rss", b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>', "error"),
]

PASSING = [
    ("channel-image", replace_channel("art.jpg", "art.PNG?v=3")),
    ("channel-description", replace_channel("About the show.", "é" * 2000)),
    ("item-guid", replace_item('<guid isPermaLink="false">ep-1</guid>', "<guid>https://show.example/1</guid>")),
    ("item-pubdate", replace_item("Tue, 26 May 2026 10:00:00 +0000", "26 May 2026 10:00 GMT")),
    ("item-duration", replace_item(">3723<", ">1:02:03<")),
    ("item-duration", replace_item(">3723<", ">62:03<")),
    ("item-enclosure", replace_item('length="1234"', 'length="0"')),
    ("item-enclosure", replace_item("audio/mpeg", "video/mp4")),
    ("channel-category", replace_channel('text="Physics"', 'text="Astronomy"')),
    ("utf-8", feed(declaration="utf-8")),
]


@pytest.mark.parametrize(("rule", "body", "severity"), FAILING, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(FAILING)])
def test_rule_finds_its_problem(rule: str, body: bytes, severity: str) -> None:
    problems = lint(body)
    assert any(p.rule == rule and p.severity == severity for p in problems), problems


@pytest.mark.parametrize(("rule", "body"), PASSING, ids=[f"{r}-{i}" for i, (r, _) in enumerate(PASSING)])
def test_rule_accepts_good_variants(rule: str, body: bytes) -> None:
    assert lint(body) == []


def test_problems_name_the_item(tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(replace_item("audio/mpeg", "text/html"))
    result = runner.invoke(main, ["lint", str(path)])
    assert result.exit_code == 1
    assert (
        "error: item 1 'Episode one': <enclosure> type 'text/html' is not audio or video [item-enclosure]"
        in result.output
    )
    assert result.output.strip().endswith("1 error, 0 warnings")


def test_warnings_alone_exit_0(tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(replace_channel('rel="self"', 'rel="alternate"'))
    result = runner.invoke(main, ["lint", str(path)])
    assert result.exit_code == 0
    assert "0 errors, 1 warning" in result.output


def test_lint_by_url(upstream: Upstream, runner: CliRunner) -> None:
    upstream.serve("/feed.rss", feed())
    result = runner.invoke(main, ["lint", upstream.url("/feed.rss")])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
    result = runner.invoke(main, ["lint", upstream.url("/missing.rss")])
    assert result.exit_code == 1
    assert "HTTP 404 Not Found" in result.output


@pytest.mark.parametrize("number", ["²", "①", "9" * 5000], ids=["superscript", "circled", "5000-digits"])
def test_numbers_python_calls_digits_are_errors_not_crashes(number: str) -> None:
    """Regression (issue 9): str.isdigit() accepts '²' and int() then raised."""
    item = ITEM.replace(">1</itunes:episode>", f">{number}</itunes:episode>").replace('"1234"', f'"{number}"')
    bad = feed(items=item)
    rules = {p.rule for p in lint(bad)}
    assert {"item-episode", "item-enclosure"} <= rules
