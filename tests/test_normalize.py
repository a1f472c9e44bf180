"""Pure normalization: every duration and date form, text, HTML, boilerplate, identity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedtool import normalize as n

DURATIONS = [
    ("9 mins.", 540),
    ("1 min.", 60),
    ("1 hr 5 mins", 3900),
    ("2 hrs.", 7200),
    ("1h 2m", 3720),
    ("1h30m", 5400),
    ("90m", 5400),
    ("1:02:03", 3723),
    ("01:02:03.500", 3723),
    ("61:08", 3668),
    ("3723", 3723),
    ("3723.9", 3723),
    ("PT1H2M3S", 3723),
    ("PT45M", 2700),
    ("45 Min.", 2700),
    ("1 Std. 5 Min.", 3900),
    (" 00:20 ", 20),
    ("1 hour and 5 minutes", 3900),
    # unknown is None, never 0 or -1
    ("", None),
    ("0", None),
    ("00:00:00", None),
    ("soon", None),
    ("-300", None),
    ("12 parsecs", None),
    ("1:2:3:4", None),
    ("99999999", None),
    (None, None),
    # digit strings beyond Python's int() limit of 4,300 digits raised ValueError
    ("9" * 5000, None),
    ("1:" + "9" * 5000 + ":00", None),
    ("P" + "9" * 5000 + "D", None),
    ("9" * 5000 + " min", None),
    ("\u00b2", None),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS, ids=[repr(t)[:40] for t, _ in DURATIONS])
def test_parse_duration(text: str | None, seconds: int | None) -> None:
    assert n.parse_duration(text) == seconds


NUMBERS = [
    ("12", 12, 12),
    ("\u0661\u0662", 12, 12),  # Arabic-Indic digits are digits, as int() reads them
    ("\u00b2", None, None),  # superscript two: str.isdigit() said yes, int() raised ValueError
    ("\u2460", None, None),  # circled one: the same
    ("9" * 5000, None, None),  # beyond int()'s 4,300 digits
    ("0" * 5000 + "7", 7, 7),
]


@pytest.mark.parametrize(("text", "number", "length"), NUMBERS, ids=[repr(t[:8]) for t, _, _ in NUMBERS])
def test_numbers_of_any_digits(text: str, number: int | None, length: int | None) -> None:
    assert n.parse_positive_int(text) == number
    assert n.parse_length(text) == length


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


DATES = [
    ("Tue, 26 May 2026 10:00:00 +0000", utc(2026, 5, 26, 10)),
    ("26 May 2026 10:00:00 +0200", utc(2026, 5, 26, 8)),
    ("Tue, 26 May 2026 10:00:00 GMT", utc(2026, 5, 26, 10)),
    ("Tue, 26 May 2026 10:00:00 PDT", utc(2026, 5, 26, 17)),
    ("Tue, 26 May 2026 10:00:00 EST", utc(2026, 5, 26, 15)),
    ("Tue, 26 May 2026 10:00 UT", utc(2026, 5, 26, 10)),
    ("Tue, 26 May 26 10:00:00 -0500", utc(2026, 5, 26, 15)),
    ("Tuesday, 26-May-26 10:00:00 GMT", utc(2026, 5, 26, 10)),
    ("2026-05-26T10:00:00Z", utc(2026, 5, 26, 10)),
    ("2026-05-26T12:00:00+02:00", utc(2026, 5, 26, 10)),
    ("2026-05-26T10:00:00.123456Z", utc(2026, 5, 26, 10, 0, 0, 123456)),
    ("2026-05-26", utc(2026, 5, 26)),
    ("26/05/2026", utc(2026, 5, 26)),
    ("26.05.2026", utc(2026, 5, 26)),
    ("1779789600", utc(2026, 5, 26, 10)),
    ("1779789600000", utc(2026, 5, 26, 10)),
    ("Mon, 01 Jan 0001 00:00:00 GMT", None),
    ("Fri, 31 Dec 9999 23:59:59 GMT", None),
    # offsets that carry a date past the ends of datetime raised OverflowError
    ("9999-12-31T23:59:59-23:59", None),
    ("0001-01-01T00:00:00+01:00", None),
    ("Fri, 31 Dec 9999 23:59:59 -2359", None),
    ("31/02/2026", None),
    ("last Tuesday", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "moment"), DATES, ids=[t or "empty" for t, _ in DATES])
def test_parse_date(text: str, moment: datetime | None) -> None:
    parsed = n.parse_date(text)
    assert parsed == moment
    if parsed is not None:
        assert parsed.utcoffset() is not None
        assert parsed.utcoffset().total_seconds() == 0


def test_parse_date_warns_when_unreadable(caplog: pytest.LogCaptureFixture) -> None:
    assert n.parse_date("not a date") is None
    assert "unreadable date 'not a date'" in caplog.text


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
)
def test_clean_text(raw: str, clean: str) -> None:
    assert n.clean_text(raw) == clean


def test_clean_text_cuts_huge_titles() -> None:
    assert len(n.clean_text("x" * 1_000_000)) == n.MAX_TITLE


HOSTILE = (
    '<p onclick="steal()" style="color:red">Hi <a href="javascript:alert(1)">a</a> '
    '<a href="https://ok.example/" target="_blank">b</a><img src=x onerror="alert(2)"></p>'
    "<script>alert(3)</script><style>p{}</style><iframe src='https://evil.example'></iframe>"
)


def test_sanitize_keeps_only_the_safe_subset() -> None:
    clean = n.sanitize_html(HOSTILE)
    assert clean == '<p>Hi <a>a</a> <a href="https://ok.example/">b</a></p>'
    for bad in ("script", "onclick", "onerror", "javascript:", "style", "iframe", "alert"):
        assert bad not in clean


def test_plain_text_descriptions_become_paragraphs() -> None:
    assert n.clean_description("One\nTwo & three") == "<p>One</p><p>Two &amp; three</p>"
    assert n.clean_description("Use <b> tags", plain=True) == "<p>Use &lt;b&gt; tags</p>"
    assert n.clean_description("   ") is None


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
)
def test_builtin_boilerplate_is_removed(footer: str) -> None:
    html = f"<p>Real content.</p><p>{footer}</p><p>More content.</p>"
    assert n.clean_description(html) == "<p>Real content.</p><p>More content.</p>"
    assert n.clean_description(f"Real content.\n{footer}\nMore content.", plain=True) == (
        "<p>Real content.</p><p>More content.</p>"
    )


def test_show_patterns_strip_lines_and_break_separated_lines() -> None:
    patterns = n.compile_patterns([r"^Some extra sponsor line.*$"])
    html = "<p>Keep<br>some extra SPONSOR line: mugs<br>Also keep</p><ul><li>Some extra sponsor line</li></ul>"
    assert n.clean_description(html, patterns) == "<p>Keep<br>Also keep</p>"


def test_boilerplate_only_description_becomes_none() -> None:
    footer = "This is a public episode. If you'd like to discuss this with other subscribers or get access"
    assert n.clean_description(f"<p>{footer}</p>") is None


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://cdn.example/e.mp3?utm_source=rss&utm_medium=x", "cdn.example/e.mp3"),
        ("https://CDN.example/e.mp3?token=abc123", "cdn.example/e.mp3"),
        ("https://cdn.example/e.mp3?id=7&token=abc", "cdn.example/e.mp3?id=7"),
        # a redirect service keeps its query: the real URL is in it
        (
            "https://dts.example/redirect.mp3?url=https%3A%2F%2Fa.example%2F1.mp3",
            "dts.example/redirect.mp3?url=https%3A%2F%2Fa.example%2F1.mp3",
        ),
        ("http://cdn.example/e.mp3", "cdn.example/e.mp3"),
    ],
)
def test_enclosure_key_ignores_only_tracking(url: str, key: str) -> None:
    assert n.enclosure_key(url) == key


def test_derived_guids_are_stable_and_ordered() -> None:
    day = utc(2026, 5, 26, 9)
    assert (
        n.derive_guid("s", "https://a.example/1.mp3?t=1", "https://a.example/1", "T", day) == "https://a.example/1.mp3"
    )
    assert n.derive_guid("s", None, " https://a.example/1 ", "T", day) == "https://a.example/1"
    hashed = n.derive_guid("s", None, None, "My Title", day)
    assert hashed.startswith("feedtool:s:")
    assert hashed == n.derive_guid("s", None, None, "my title!", utc(2026, 5, 26, 23))
    assert hashed != n.derive_guid("s", None, None, "My Title", utc(2026, 5, 27))
    assert hashed != n.derive_guid("other", None, None, "My Title", day)


def test_slugify_and_explicit() -> None:
    assert n.slugify("Open Source") == "open-source"
    assert n.slugify("Música_Latina!") == "música-latina"
    assert [n.parse_explicit(v) for v in ("true", "Yes", "explicit", "false", "No", "clean", "?")] == [
        True, True, True, False, False, False, None,
    ]  # fmt: skip
