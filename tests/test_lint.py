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


def add_channel(tags: str) -> bytes:
    return feed(channel=CHANNEL + tags)


def add_item(tags: str) -> bytes:
    return feed(items=ITEM.replace("</item>", f"{tags}</item>"))


GUID = "<podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>"
VALUE = (
    '<podcast:value type="lightning" method="keysend" suggested="0.00000005000">'
    '<podcast:valueRecipient name="Host" type="node" address="02d5c1bf8b94" split="90"/>'
    '<podcast:valueRecipient name="App" type="node" address="03ae9f91a0cb" split="10" fee="true"/>'
    "</podcast:value>"
)
TRANSCRIPT = '<podcast:transcript url="https://show.example/1.vtt" type="text/vtt"/>'
CHAPTERS = '<podcast:chapters url="https://show.example/1.json" type="application/json+chapters"/>'
ALTERNATE = (
    '<podcast:alternateEnclosure type="audio/opus" length="1000" default="true">'
    '<podcast:source uri="https://cdn.example/1.opus"/><podcast:source uri="ipfs://QmX"/>'
    "</podcast:alternateEnclosure>"
)
FUNDING = '<podcast:funding url="https://show.example/support">Support the show</podcast:funding>'
PERSON = '<podcast:person role="guest" group="cast">Grace</podcast:person>'

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
    ("podcast-guid", add_channel("<podcast:guid>show-0001</podcast:guid>"), "error"),
    ("podcast-guid", add_channel("<podcast:guid>{917393e3-1b1e-5cef-ace4-edaa54e1f810}</podcast:guid>"), "error"),
    ("podcast-guid", add_channel(GUID.replace("-5cef-", "-4cef-")), "warning"),
    ("podcast-value", add_item(VALUE.replace('split="90"', 'split="0.9"')), "error"),
    ("podcast-value", add_item(VALUE.replace('split="90"', 'split="0"').replace('split="10"', 'split="0"')), "error"),
    ("podcast-value", add_item(VALUE.replace(' method="keysend"', "")), "error"),
    ("podcast-value", add_channel(VALUE.replace('type="lightning" ', "")), "error"),
    ("podcast-value", add_item(VALUE.replace(' address="02d5c1bf8b94"', "")), "error"),
    ("podcast-transcript", add_item(TRANSCRIPT.replace("text/vtt", "text/srt")), "error"),
    ("podcast-transcript", add_item(TRANSCRIPT.replace('url="https://show.example/1.vtt" ', "")), "error"),
    ("podcast-transcript", add_item(TRANSCRIPT.replace(' type="text/vtt"', "")), "error"),
    ("podcast-chapters", add_item(CHAPTERS.replace('url="https://show.example/1.json" ', "")), "error"),
    ("podcast-chapters", add_item(CHAPTERS.replace(' type="application/json+chapters"', "")), "error"),
    ("podcast-chapters", add_item(CHAPTERS.replace("application/json+chapters", "application/json")), "warning"),
    ("podcast-alternate-enclosure", add_item(ALTERNATE + ALTERNATE.replace("opus", "aac")), "error"),
    ("podcast-alternate-enclosure", add_item(ALTERNATE.replace(' type="audio/opus"', "")), "error"),
    (
        "podcast-alternate-enclosure",
        add_item(
            ALTERNATE.replace(
                '<podcast:source uri="https://cdn.example/1.opus"/><podcast:source uri="ipfs://QmX"/>', ""
            )
        ),
        "error",
    ),
    ("podcast-locked", add_channel("<podcast:locked>true</podcast:locked>"), "error"),
    ("podcast-funding", add_channel(FUNDING.replace(' url="https://show.example/support"', "")), "error"),
    ("podcast-funding", add_channel(FUNDING.replace("Support the show", "x" * 129)), "warning"),
    ("podcast-person", add_item(PERSON.replace('role="guest"', 'role="sidekick"')), "warning"),
    ("podcast-person", add_channel(PERSON.replace('group="cast"', 'group="crew"')), "warning"),
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
    ("podcast-guid", add_channel(GUID)),
    ("podcast-value", add_item(VALUE)),
    ("podcast-value", add_channel(VALUE.replace('split="90"', 'split="0"'))),  # someone is still paid
    ("podcast-transcript", add_item(TRANSCRIPT + TRANSCRIPT.replace("text/vtt", "application/x-subrip"))),
    ("podcast-transcript", add_item(TRANSCRIPT.replace("text/vtt", "application/json"))),
    ("podcast-chapters", add_item(CHAPTERS)),
    ("podcast-alternate-enclosure", add_item(ALTERNATE + ALTERNATE.replace(' default="true"', ""))),
    ("podcast-locked", add_channel('<podcast:locked owner="ada@show.example">yes</podcast:locked>')),
    ("podcast-funding", add_channel(FUNDING)),
    ("podcast-person", add_item(PERSON + "<podcast:person>Ada</podcast:person>")),  # host in cast, by default
    (
        "podcast-person",
        add_channel(
            PERSON.replace('role="guest"', 'role="Audio Editor"').replace(
                'group="cast"', 'group="Audio Post-Production"'
            )
        ),
    ),
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


def test_a_miscased_itunes_namespace_is_named_once_and_its_elements_are_still_checked() -> None:
    miscased = NAMESPACES.replace("itunes.com/dtds/podcast", "itunes.com/DTDs/Podcast")
    problems = lint(feed(namespaces=miscased, items=ITEM.replace("3723", "an hour")))
    assert [p.rule for p in problems] == ["namespace", "item-duration"]
    assert "itunes.com/DTDs/Podcast" in problems[0].message


def test_html_elements_in_a_title_are_flagged_with_what_apps_show() -> None:
    problems = lint(replace_item("<title>Episode one</title>", "<title>Ep <i>1</i></title>"))
    assert [(p.rule, p.severity) for p in problems] == [("item-title-html", "error")]
    assert "'Ep'" in problems[0].message


def test_html_elements_in_the_channel_title_are_flagged() -> None:
    problems = lint(replace_channel("<title>A Show</title>", "<title>A <b>Show</b></title>"))
    assert [p.rule for p in problems] == ["channel-title"]


def test_a_json_feed_is_told_that_lint_checks_rss() -> None:
    problems = lint(b'{"version": "https://jsonfeed.org/version/1.1", "title": "A Show", "items": []}')
    assert len(problems) == 1
    assert problems[0].rule == "rss"
    assert "JSON" in problems[0].message
    assert "RSS" in problems[0].message
