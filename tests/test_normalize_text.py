"""normalize.text: clean titles, safe HTML, boilerplate, HTML as plain text."""

from __future__ import annotations

import logging

import pytest

from feedtool.errors import RuleTimeoutError
from feedtool.normalize.text import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    clean_description,
    clean_text,
    compile_patterns,
    sanitize_html,
    strip_boilerplate,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Q&amp;A:  <b>open</b>\n weights ", "Q&A: open weights"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("&lt;b&gt;Bold&lt;/b&gt; move", "Bold move"),
        ("a < b and c > d", "a < b and c > d"),
        ("<script>x</script>Title", "x Title"),
        ("", ""),
    ],
    ids=["entities-and-tags", "escaped-twice", "escaped-tags", "bare-angles", "script", "empty"],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_huge_titles_and_descriptions_are_cut_and_the_caller_told(caplog: pytest.LogCaptureFixture) -> None:
    warnings: list[str] = []
    with caplog.at_level(logging.DEBUG):
        assert len(clean_text("x" * 1_000_000, warn=warnings.append)) == MAX_TITLE
        assert len(clean_text("x" * 1_000_000)) == MAX_TITLE
        description = clean_description("x" * (MAX_DESCRIPTION + 1), warn=warnings.append)
    assert description == f"<p>{'x' * MAX_DESCRIPTION}</p>"
    assert warnings == [
        f"text of 1000000 characters cut to {MAX_TITLE}",
        f"description of {MAX_DESCRIPTION + 1} characters cut to {MAX_DESCRIPTION}",
    ]
    assert caplog.records == []  # normalize does not log: the caller warns once


HOSTILE = (
    '<p onclick="steal()" style="color:red">Hi <a href="javascript:alert(1)">a</a> '
    '<a href="https://ok.example/" target="_blank">b</a><img src=x onerror="alert(2)"></p>'
    "<script>alert(3)</script><style>p{}</style><iframe src='https://evil.example'></iframe>"
)


def test_sanitize_keeps_only_the_safe_subset() -> None:
    clean = sanitize_html(HOSTILE)
    assert clean == '<p>Hi <a>a</a> <a href="https://ok.example/">b</a></p>'
    for bad in ("script", "onclick", "onerror", "javascript:", "style", "iframe", "alert"):
        assert bad not in clean


def test_plain_text_descriptions_become_paragraphs() -> None:
    assert clean_description("One\nTwo & three") == "<p>One</p><p>Two &amp; three</p>"
    assert clean_description("Use <b> tags", plain=True) == "<p>Use &lt;b&gt; tags</p>"
    assert clean_description("   ") is None


@pytest.mark.parametrize(
    "footer",
    [
        "This is a public episode. If you'd like to discuss this with other subscribers or get access to "
        "bonus episodes, visit www.interconnects.ai/subscribe",
        "This is a public episode. If you would like to discuss this with other subscribers or get access "
        "to bonus episodes, visit <a href='https://x.example'>x.example</a>",
        "Interconnects AI is a reader-supported publication. Consider becoming a subscriber.",
        "Interconnects AI is a reader-supported publication. To receive new posts and support my work, "
        "consider becoming a subscriber.",
        "Get full access to Some Newsletter at some.substack.com/subscribe",
    ],
    ids=["public-episode", "public-episode-link", "reader-supported", "reader-supported-long", "full-access"],
)
def test_builtin_boilerplate_is_removed(footer: str) -> None:
    html = f"<p>Real content.</p><p>{footer}</p><p>More content.</p>"
    assert clean_description(html) == "<p>Real content.</p><p>More content.</p>"
    assert clean_description(f"Real content.\n{footer}\nMore content.", plain=True) == (
        "<p>Real content.</p><p>More content.</p>"
    )


def test_show_patterns_strip_lines_and_break_separated_lines() -> None:
    patterns = compile_patterns([r"^Some extra sponsor line.*$"])
    html = "<p>Keep<br>some extra SPONSOR line: mugs<br>Also keep</p><ul><li>Some extra sponsor line</li></ul>"
    assert clean_description(html, patterns) == "<p>Keep<br>Also keep</p>"


def test_a_strip_rule_that_runs_out_of_time_names_itself_and_the_text() -> None:
    rules = compile_patterns(["^Sponsor", "^(a|aa)+$"], "shows.s.strip", timeout=0.1)
    with pytest.raises(RuleTimeoutError) as info:
        clean_description(f"<p>Talk</p><p>{'a' * 60}!</p>", rules)
    assert info.value.where == "shows.s.strip[1]"
    notes = "Talk\n" + "a" * 55
    assert info.value.about == f"the notes starting {notes!r}…"  # parsers do not know the title
    with pytest.raises(RuleTimeoutError, match="on the notes of episode 'x'"):
        strip_boilerplate(f"<p>{'a' * 60}!</p>", rules, "the notes of episode 'x'")


def test_boilerplate_only_description_becomes_none() -> None:
    footer = "This is a public episode. If you'd like to discuss this with other subscribers or get access"
    assert clean_description(f"<p>{footer}</p>") is None
