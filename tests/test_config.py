"""config.yaml: the repository's own config, and every kind of mistake reported at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedtool.cli import main
from feedtool.config import load
from feedtool.errors import ConfigError
from feedtool.refresh import refresh
from feedtool.sources import KINDS, radionet

DATA = Path(__file__).parent / "data"

ROOT = Path(__file__).resolve().parents[1]


def test_repository_config_configures_interconnects() -> None:
    config = load(ROOT / "config.yaml")
    show = config.shows["interconnects"]
    assert [(s.kind, s.location) for s in show.sources] == [
        ("rss", "https://api.substack.com/feed/podcast/48206.rss"),
        ("radionet", "https://www.radio.net/podcast/interconnects"),
    ]
    assert show.sources[1].options == {"api": radionet.DEFAULT_API}
    assert [t.name for t in show.tags] == ["open-models"]
    feed = config.feeds["interconnects-open-models"]
    assert feed.show == "interconnects"
    assert feed.filter.tags == ("open-models",)
    assert config.store == (ROOT / "feedtool.sqlite").resolve()


def test_example_config_loads() -> None:
    config = load(ROOT / "examples" / "config.yaml")
    assert {s.kind for show in config.shows.values() for s in show.sources} == set(KINDS)


def test_paths_are_relative_to_the_config_file(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """
        store: data/store.sqlite
        shows:
          s:
            sources:
              - listing: saved/s.txt
        """
    )
    config = load(path)
    assert config.store == path.parent / "data" / "store.sqlite"
    assert config.shows["s"].sources[0].location == str(path.parent / "saved" / "s.txt")


def test_config_path_defaults_to_environment(
    monkeypatch: pytest.MonkeyPatch, write_config: Callable[[str], Path]
) -> None:
    path = write_config("shows: {s: {sources: [{listing: x.txt}]}}")
    monkeypatch.setenv("FEEDTOOL_CONFIG", str(path))
    assert "s" in load().shows
    monkeypatch.delenv("FEEDTOOL_CONFIG")
    monkeypatch.chdir(path.parent)
    assert "s" in load().shows


BAD = """
store: 42
colour: blue
fetch:
  deadline: -1
  max_bytes: lots
shows:
  interconnects:
    sources:
      - rss: https://api.substack.com/feed/podcast/48206.rss
      - rsss: https://example.com/feed
      - rss: htp://nowhere
      - radionet: https://www.radio.net/not-a-podcast
      - {rss: "https://a.example/x.rss", listing: x.txt}
    tags:
      open-models:
        match: ['open (models', 'fine']
        fields: [title, body]
      Bad Tag:
        match: [x]
    strip: ['[unclosed']
    cap: 0
  Bad_Id:
    sources: [{listing: x.txt}]
  empty:
    sources: []
feeds:
  interconnects:
    show: interconnects
  lonely:
    show: nobody
    filter: {tag: open-models, limit: 5000, colour: red}
  no-show:
    title: x
"""

EXPECTED_PROBLEMS = [
    "store: expected a non-empty string, got a number",
    "colour: unknown key",
    "fetch.deadline: expected a number from 0.1 to 3600, got -1",
    "fetch.max_bytes: expected a size in bytes",
    "shows.interconnects.sources[1]: unknown source kind 'rsss'",
    "shows.interconnects.sources[2].rss: bad URL 'htp://nowhere'",
    "shows.interconnects.sources[3].radionet: 'https://www.radio.net/not-a-podcast' is not a podcast page",
    "shows.interconnects.sources[4]: one kind per source, got rss, listing",
    "shows.interconnects.tags.open-models.match[0]: bad regex 'open (models'",
    "shows.interconnects.tags.open-models.fields[1]: unknown field 'body'",
    "shows.interconnects.tags.Bad Tag: bad id 'Bad Tag'",
    "shows.interconnects.strip[0]: bad regex '[unclosed'",
    "shows.interconnects.cap: expected a whole number from 1 to 10000000, got 0",
    "shows.Bad_Id: bad id 'Bad_Id'",
    "shows.empty.sources: missing",
    "feeds.interconnects: duplicate id: 'interconnects' is already a show",
    "feeds.lonely.show: unknown show 'nobody'",
    "feeds.lonely.filter.colour: unknown filter parameter (expected one of: tag, exclude_tag, q, since,",
    "feeds.lonely.filter.limit: '5000': expected a whole number from 1 to 1000",
    "feeds.no-show.show: missing",
]


def test_bad_config_lists_every_problem_with_its_location(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError) as info:
        load(write_config(BAD))
    message = str(info.value)
    for problem in EXPECTED_PROBLEMS:
        assert problem in message
    assert len(info.value.problems) == len(EXPECTED_PROBLEMS)


def test_every_invalid_filter_value_is_reported(write_config: Callable[[str], Path]) -> None:
    """Regression: only the first invalid value of a named feed's filter was reported."""
    path = write_config(
        """
        shows: {s: {sources: [{listing: s.txt}]}}
        feeds:
          f:
            show: s
            filter: {limit: 0, since: soon, sort: up, max_duration: long, colour: red}
        """
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    assert sorted(p.split(":")[0] for p in info.value.problems) == [
        "feeds.f.filter.colour",
        "feeds.f.filter.limit",
        "feeds.f.filter.max_duration",
        "feeds.f.filter.since",
        "feeds.f.filter.sort",
    ]


FEED_TAG = """
shows:
  quiet-lab:
    sources: [{{rss: full.xml}}]
    tags: {{open-models: {{match: [open]}}}}
feeds:
  f: {{show: quiet-lab, filter: {{{param}: {tag}}}}}
"""


@pytest.mark.parametrize("param", ["tag", "exclude_tag"])
def test_a_feed_tag_no_rule_defines_and_no_episode_carries_is_a_config_error(
    write_config: Callable[[str], Path], param: str
) -> None:
    """Regression: `filter: {tag: <typo>}` was accepted and served an empty feed."""
    (write_config("").parent / "full.xml").write_bytes((DATA / "rss" / "full.xml").read_bytes())
    with pytest.raises(ConfigError) as info:
        load(write_config(FEED_TAG.format(param=param, tag="open-modles")))
    assert list(info.value.problems) == [
        f"feeds.f.filter.{param}: 'open-modles': expected a tag of this show: open-models"
    ]


def test_a_feed_may_filter_on_a_tag_stored_episodes_carry(write_config: Callable[[str], Path]) -> None:
    """Upstream categories become tags: once stored, a named feed may filter on them."""
    path = write_config(FEED_TAG.format(param="tag", tag="open-models"))
    (path.parent / "full.xml").write_bytes((DATA / "rss" / "full.xml").read_bytes())
    assert refresh(load(path)).ok
    path = write_config(FEED_TAG.format(param="tag", tag="licensing"))
    assert load(path).feeds["f"].filter.tags == ("licensing",)


def test_an_unreadable_store_does_not_make_the_config_invalid(
    write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged or locked store cannot say which tags episodes carry: the named feed's
    tag is then not checked (a warning says so) rather than stopping a server's start."""
    path = write_config(FEED_TAG.format(param="tag", tag="licensing"))
    (path.parent / "feedtool.sqlite").write_bytes(b"not a database" * 100)
    assert load(path).feeds["f"].filter.tags == ("licensing",)
    assert "so named feeds' tags are not checked" in caplog.text


def test_bad_config_exits_with_code_2(write_config: Callable[[str], Path], runner: CliRunner) -> None:
    path = write_config(BAD)
    result = runner.invoke(main, ["--config", str(path), "refresh"])
    assert result.exit_code == 2
    assert "shows.interconnects.sources[1]: unknown source kind 'rsss'" in result.output


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("shows:\n  a: {sources: [{listing: x}]}\n  a: {sources: [{listing: y}]}\n", "line 3: duplicate key 'a'"),
        ("shows: [", "not valid YAML"),
        ("", "shows: missing"),
        ("- just\n- a list\n", "expected a mapping, got a list"),
        ("store: x.sqlite\n", "shows: missing"),
        (
            "shows:\n  a:\n    sources:\n      - listing: x\n      - listing: x\n",
            "shows.a.sources[1]: duplicate source",
        ),
    ],
    ids=["duplicate-key", "yaml-syntax", "empty", "not-a-mapping", "no-shows", "duplicate-source"],
)
def test_structural_mistakes(write_config: Callable[[str], Path], text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load(write_config(text))


def test_a_yaml_error_names_the_file(write_config: Callable[[str], Path]) -> None:
    """Regression (issue 13): PyYAML's message placed the error in "<unicode string>"."""
    path = write_config("shows:\n  a: {sources: [\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert "<unicode string>" not in str(info.value)
    assert f'in "{path}", line ' in str(info.value)


def test_missing_config_file_is_a_usage_error(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["--config", str(tmp_path / "nope.yaml"), "refresh"])
    assert result.exit_code == 2
    assert "cannot read the file" in result.output


def test_rules_digest_follows_the_rules(write_config: Callable[[str], Path]) -> None:
    base = "shows:\n  s:\n    sources: [{listing: x}]\n    tags: {t: {match: ['%s']}}\n"
    first = load(write_config(base % "a")).shows["s"].rules_digest
    assert load(write_config(base % "a")).shows["s"].rules_digest == first
    assert load(write_config(base % "b")).shows["s"].rules_digest != first


# --- characters a feed cannot carry (issue 9, item 12) -------------------------------

#: Every key that takes a string, with a good value, as written in the template below.
STRING_KEYS = {
    "store": ("store", "x.sqlite"),
    "base_url": ("base_url", "https://feeds.example"),
    "user_agent": ("fetch.user_agent", "ua"),
    "title": ("shows.s.title", "T"),
    "description": ("shows.s.description", "D"),
    "language": ("shows.s.language", "en"),
    "author": ("shows.s.author", "A"),
    "link": ("shows.s.link", "https://s.example"),
    "image": ("shows.s.image", "https://s.example/a.jpg"),
    "category": ("shows.s.categories[0]", "News"),
    "rss": ("shows.s.sources[0].rss", "https://s.example/feed.rss"),
    "listing": ("shows.s.sources[1].listing", "x.txt"),
    "radionet": ("shows.s.sources[2].radionet", "https://www.radio.net/podcast/s"),
    "api": ("shows.s.sources[2].api", "https://api.example"),
    "feed_show": ("feeds.f.show", "s"),
    "feed_title": ("feeds.f.title", "FT"),
    "feed_description": ("feeds.f.description", "FD"),
    "q": ("feeds.f.filter.q", "w"),
    "tag": ("feeds.f.filter.tag", "t"),
    "filter_title": ("feeds.f.filter.filter_title", "x"),
    "since": ("feeds.f.filter.since", "2026-01-01"),
}
TEMPLATE = """
store: "{store}"
base_url: "{base_url}"
fetch: {{user_agent: "{user_agent}"}}
shows:
  s:
    title: "{title}"
    description: "{description}"
    language: "{language}"
    author: "{author}"
    link: "{link}"
    image: "{image}"
    categories: ["{category}"]
    tags: {{t: {{match: [x]}}}}
    sources:
      - rss: "{rss}"
      - listing: "{listing}"
      - {{radionet: "{radionet}", api: "{api}"}}
feeds:
  f:
    show: "{feed_show}"
    title: "{feed_title}"
    description: "{feed_description}"
    filter: {{q: "{q}", tag: "{tag}", filter_title: "{filter_title}", since: "{since}"}}
"""
#: YAML escapes of characters XML forbids or that are control characters, and their code points.
BAD_CHARACTERS = {
    r"\x01": 0x01,
    r"\0": 0x00,
    r"\v": 0x0B,
    r"\e": 0x1B,
    r"\x7f": 0x7F,
    r"\N": 0x85,
    r"\uFFFE": 0xFFFE,
    r"\uFFFF": 0xFFFF,
    r"\uD800": 0xD800,
}


def _config_text(**changes: str) -> str:
    return TEMPLATE.format(**({key: good for key, (_, good) in STRING_KEYS.items()} | changes))


def test_the_template_is_valid(write_config: Callable[[str], Path]) -> None:
    config = load(write_config(_config_text(description=r"tab\there,\nnew line, \U0001F600")))
    assert config.shows["s"].overrides.description == "tab\there,\nnew line, \U0001f600"


@pytest.mark.parametrize("escape", BAD_CHARACTERS)
@pytest.mark.parametrize("key", STRING_KEYS)
def test_characters_feeds_cannot_carry_are_config_errors(
    write_config: Callable[[str], Path], key: str, escape: str
) -> None:
    """Regression: a title with U+0001 passed, then feeds answered 500 and OPML broke."""
    where, good = STRING_KEYS[key]
    with pytest.raises(ConfigError) as info:
        load(write_config(_config_text(**{key: good + escape})))
    code = BAD_CHARACTERS[escape]
    [problem] = info.value.problems
    assert problem.startswith(f"{where}: contains ")
    assert problem.endswith(f" U+{code:04X} at position {len(good) + 1}") or (
        key == "filter_title" and f" U+{code:04X} at position {len(good) + 1}; a regex cannot match it" in problem
    )


def test_a_control_character_in_a_title_stops_export(write_config: Callable[[str], Path], runner: CliRunner) -> None:
    path = write_config(_config_text(title=r"t \x01"))
    result = runner.invoke(
        main, ["--config", str(path), "export", "--out", str(path.parent / "out"), "--base-url", "https://x.example"]
    )
    assert result.exit_code == 2
    assert "shows.s.title: contains the control character U+0001 at position 3" in result.output


TOO_LONG = "not valid YAML: a number of 5,000 characters is too long"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("fetch: {max_bytes: " + "9" * 5000 + "}\nshows: {s: {sources: [{listing: x}]}}\n", f"{TOO_LONG}\n"),
        (
            "fetch: {max_bytes: '" + "9" * 5000 + "MB'}\nshows: {s: {sources: [{listing: x}]}}\n",
            "fetch.max_bytes: expected a size in bytes",
        ),
        ("shows: {s: {sources: [{listing: x}], cap: " + "9" * 5000 + "}}\n", f"{TOO_LONG}\n"),
    ],
    ids=["integer", "size", "cap"],
)
def test_numbers_of_thousands_of_digits_are_config_errors(
    write_config: Callable[[str], Path], text: str, where: str
) -> None:
    """Regression: int() refuses more than 4,300 digits, and the error was a traceback."""
    with pytest.raises(ConfigError) as info:
        load(write_config(text))
    [problem] = info.value.problems
    assert problem.startswith(where)
    if where.startswith(TOO_LONG):  # YAML's own error names the line and column
        assert "line 1, column " in problem


RULES = """
server: {regex_timeout: 0.2}
shows:
  s:
    sources: [{listing: x}]
    tags:
      t: {match: ['^sponsor', '(?:a{300}){300}']}
    strip: ['(?:\\w{100}){3000}', '(?f)[\\w-]']
"""


def test_rules_are_bounded_like_query_regexes(write_config: Callable[[str], Path]) -> None:
    """Issue 9: tag and strip rules get the size bound of query regexes, named by location."""
    with pytest.raises(ConfigError) as info:
        load(write_config(RULES))
    assert info.value.problems == (
        "shows.s.tags.t.match[1]: bad regex '(?:a{300}){300}': expected a regular expression of at most 5,000 "
        "nodes once its repeat counts are multiplied out (this one has about 91,205); use smaller counts",
        "shows.s.strip[0]: bad regex '(?:\\\\w{100}){3000}': expected a regular expression of at most 5,000 "
        "nodes once its repeat counts are multiplied out (this one has about 309,105); use smaller counts",
        "shows.s.strip[1]: bad regex '(?f)[\\\\w-]': expected a regular expression without (?f) or (?V1): "
        "their full case-folding makes sets huge",
    )


def test_rules_match_as_before_within_the_time_bound(write_config: Callable[[str], Path]) -> None:
    text = "server: {regex_timeout: 0.2}\nshows:\n  s:\n    sources: [{listing: x}]\n    strip: ['^sponsor']\n"
    rule = load(write_config(text)).shows["s"].strip[0]
    assert (rule.where, rule.source, rule.timeout) == ("shows.s.strip[0]", "^sponsor", 0.2)
    assert rule.search("Episode 1\nSPONSOR: mugs") is True  # case-insensitive, ^ at each line, as with re


@pytest.mark.parametrize("location", ["127.0.0.1:8765/show.rss", "example.org/feed", "localhost:8000"])
def test_a_source_without_a_scheme_is_a_config_error_suggesting_http(
    write_config: Callable[[str], Path], location: str
) -> None:
    """Regression: a URL without http:// was read as a local file and failed at every refresh."""
    path = write_config(f"shows: {{s: {{sources: [{{rss: '{location}'}}]}}}}")
    with pytest.raises(ConfigError) as info:
        load(path)
    [problem] = info.value.problems
    assert problem.startswith(f"shows.s.sources[0].rss: '{location}' has no scheme")
    assert f"write 'http://{location}'" in problem
    assert "local paths are relative to the config file" in problem


def test_a_local_file_whose_name_looks_like_a_host_is_still_a_file(write_config: Callable[[str], Path]) -> None:
    path = write_config("shows: {s: {sources: [{rss: example.org/feed}, {rss: full.xml}]}}")
    (path.parent / "example.org").mkdir()
    (path.parent / "example.org" / "feed").write_text("")
    sources = load(path).shows["s"].sources
    assert [s.location for s in sources] == [str(path.parent / "example.org" / "feed"), str(path.parent / "full.xml")]


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("shows.s.tags.ai.match[0]", 'shows: {s: {sources: [{listing: s.txt}], tags: {ai: {match: ["\\bAI\\b"]}}}}'),
        ("shows.s.strip[0]", 'shows: {s: {sources: [{listing: s.txt}], strip: ["\\bAds\\b"]}}'),
        (
            "feeds.f.filter.filter_title",
            'shows: {s: {sources: [{listing: s.txt}]}}\nfeeds: {f: {show: s, filter: {filter_title: "\\bAI\\b"}}}',
        ),
    ],
)
def test_a_control_character_in_a_regex_says_to_use_single_quotes(
    write_config: Callable[[str], Path], where: str, text: str
) -> None:
    """Regression: "\\bAI\\b" in double quotes is a backspace, a rule that never matches, accepted."""
    with pytest.raises(ConfigError) as info:
        load(write_config(text))
    [problem] = info.value.problems
    assert problem.startswith(f"{where}: contains the control character U+0008 at position 1")
    assert "write regexes in single quotes" in problem


def test_the_same_regex_in_single_quotes_is_accepted(write_config: Callable[[str], Path]) -> None:
    config = load(write_config(r"shows: {s: {sources: [{listing: s.txt}], tags: {ai: {match: ['\bAI\b']}}}}"))
    assert [p.source for p in config.shows["s"].tags[0].patterns] == [r"\bAI\b"]


# --- secrets (issue 14) -------------------------------------------------------------

PAID_SHOW = """\
shows:
  paid:
    sources:
      - rss: {location}
{extra}
    tags:
      end: {{match: 'finale$'}}
"""


def _secret_config(tmp_path: Path, location: str = "https://feeds.example.com/feed.rss", extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(PAID_SHOW.format(location=location, extra=extra))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return str(caught.value)


def test_env_reference_in_a_whole_value_and_inside_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FT_TOKEN", "tok-71c2e9")
    monkeypatch.setenv("FT_PASS", "pw-0b6d4f")
    path = _secret_config(
        tmp_path,
        "'https://feeds.example.com/feed.rss?token=${FT_TOKEN}'",
        "        username: alice\n        password: ${FT_PASS}",
    )
    config = load(path)
    source = config.shows["paid"].sources[0]
    assert source.location == "https://feeds.example.com/feed.rss?token=tok-71c2e9"
    assert source.credentials is not None
    assert (source.credentials.username, source.credentials.password) == ("alice", "pw-0b6d4f")
    assert source.credentials.origin == "https://feeds.example.com:443"
    assert {"tok-71c2e9", "pw-0b6d4f"} <= config.secrets
    # a regex's $ (not followed by { or $) stays as written
    assert config.shows["paid"].tags[0].patterns[0].source == "finale$"
    for text in (repr(source), str(source), repr(config)):
        assert "pw-0b6d4f" not in text


def test_double_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    path = _secret_config(tmp_path, extra="        headers: {X-Price: 'cost $$5 ${not-a-name}'}")
    credentials = load(path).shows["paid"].sources[0].credentials
    assert credentials is not None
    assert credentials.headers == (("X-Price", "cost $5 ${not-a-name}"),)


def test_a_missing_variable_names_the_key_not_a_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FT_MISSING", raising=False)
    path = _secret_config(tmp_path, extra="        username: alice\n        password: ${FT_MISSING}")
    assert "shows.paid.sources[0].password: environment variable FT_MISSING is not set" in _problems(path)


def test_an_invalid_url_from_a_secret_is_reported_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FT_TOKEN", "tok-71c2e9")
    text = _problems(_secret_config(tmp_path, "'ftp://feeds.example.com/${FT_TOKEN}'"))
    assert "shows.paid.sources[0].rss: bad URL" in text
    assert "tok-71c2e9" not in text


def test_file_form_reads_a_secret_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pass").write_text("pw-file-8a1c\n")
    path = _secret_config(tmp_path, extra="        username: alice\n        password_file: secrets/pass")
    config = load(path)
    credentials = config.shows["paid"].sources[0].credentials
    assert credentials is not None
    assert credentials.password == "pw-file-8a1c"  # noqa: S105 - one trailing newline stripped
    assert "pw-file-8a1c" in config.secrets


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "        username: alice\n        password_file: nowhere",
            "shows.paid.sources[0].password_file: cannot read {tmp}/nowhere: No such file or directory",
        ),
        (
            "        username: alice\n        password: x\n        password_file: nowhere",
            "shows.paid.sources[0].password: give password or password_file, not both",
        ),
        ("        username: alice", "shows.paid.sources[0].password: missing: basic auth takes both"),
        ("        password: pw-4c1a", "shows.paid.sources[0].username: missing: basic auth takes both"),
        ("        headers: {Host: evil.example}", "shows.paid.sources[0].headers.Host: feedtool sets this header"),
        ("        headers: {'Bad Name': x}", "shows.paid.sources[0].headers.Bad Name: bad header name"),
        ('        headers: {X-A: "a\\r\\nX-B: b"}', "shows.paid.sources[0].headers.X-A: contains a line break"),
        ("        headers: {X-A: a, x-a: b}", "shows.paid.sources[0].headers.x-a: duplicate header"),
        ("        headers: {X-A: 5}", "shows.paid.sources[0].headers.X-A: expected a non-empty string"),
        ("        headers: []", "shows.paid.sources[0].headers: expected a mapping"),
    ],
    ids=["missing-file", "both", "no-password", "no-username", "host", "name", "crlf", "duplicate", "number", "list"],
)
def test_bad_credentials(tmp_path: Path, extra: str, message: str) -> None:
    assert message.format(tmp=tmp_path) in _problems(_secret_config(tmp_path, extra=extra))


def test_a_local_file_source_takes_no_credentials(tmp_path: Path) -> None:
    (tmp_path / "saved.xml").write_text("<rss/>")
    path = _secret_config(tmp_path, "saved.xml", "        headers: {X-Api-Key: k-2b7e}")
    assert "shows.paid.sources[0].headers: only a source read over HTTP takes credentials" in _problems(path)


# --- private shows and feeds, access keys (issue 14) -----------------------------------

ALICE_KEY = "alice-key-0123456789abcdef"
BOB_KEY = "bob-key-0123456789abcdef"
PRIVATE = """
server:
  access_keys: {{alice: {alice}, bob: {bob}}}
shows:
  paid:
    private: {show}
    sources: [{{listing: x.txt}}]
  open:
    sources: [{{listing: y.txt}}]
feeds:
  paid-short:
    show: paid
    filter: {{limit: 1}}
{feed}
"""


def _private(show: str = "true", feed: str = "", alice: str = ALICE_KEY, bob: str = BOB_KEY) -> str:
    return PRIVATE.format(show=show, feed=feed, alice=alice, bob=bob)


def test_private_show_and_its_named_feeds_are_private(write_config: Callable[[str], Path]) -> None:
    config = load(write_config(_private()))
    assert config.shows["paid"].private
    assert not config.shows["open"].private
    assert dict(config.server.access_keys) == {"alice": ALICE_KEY, "bob": BOB_KEY}
    for name in ("paid", "paid-short"):
        feed = config.feed(name)
        assert feed is not None, name
        assert feed.private, name
        assert feed.readable_by("alice")
        assert feed.readable_by("bob")
        assert not feed.readable_by(None)
    open_feed = config.feed("open")
    assert open_feed is not None
    assert not open_feed.private
    assert open_feed.readable_by(None)
    assert ALICE_KEY not in repr(config)


def test_private_to_some_listeners(write_config: Callable[[str], Path]) -> None:
    feed = "  alice-only: {show: paid, private: [alice]}\n"
    config = load(write_config(_private(show="[alice, bob]", feed=feed)))
    only = config.feed("alice-only")
    assert only is not None
    assert only.readable_by("alice")
    assert not only.readable_by("bob")
    short = config.feed("paid-short")
    assert short is not None
    assert short.readers == {"alice", "bob"}


def test_a_named_private_feed_of_a_public_show(write_config: Callable[[str], Path]) -> None:
    config = load(write_config(_private(show="false", feed="  secret: {show: open, private: true}\n")))
    secret, show = config.feed("secret"), config.feed("open")
    assert secret is not None
    assert secret.private
    assert show is not None
    assert not show.private


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_private(show="'yes'"), "shows.paid.private: expected true, false or a list of listener names, got a string"),
        (_private(show="[carol]"), "shows.paid.private: unknown listener 'carol': not in server.access_keys"),
        (
            _private(feed="  leak: {show: paid, private: false}\n"),
            "feeds.leak.private: a named feed cannot make the private show 'paid' public",
        ),
        (
            _private(show="[alice]", feed="  nobody: {show: paid, private: [bob]}\n"),
            "feeds.nobody.private: nobody could read it",
        ),
        (_private(alice="s3cr3t"), "server.access_keys.alice: expected a key of 16 to 256 printable ASCII"),
        (_private(alice="'has a space in it 0123'"), "server.access_keys.alice: expected a key of 16"),
        (_private(bob=ALICE_KEY), "server.access_keys.bob: the same key as listener 'alice'"),
        (
            "shows:\n  paid: {private: true, sources: [{listing: x}]}\n",
            "shows.paid.private: nobody could read it: define server.access_keys",
        ),
    ],
    ids=["not-a-bool", "unknown-listener", "feed-unprivates", "no-common-reader", "short", "space", "same", "no-keys"],
)
def test_private_mistakes_name_the_key_never_a_key_value(
    write_config: Callable[[str], Path], text: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(write_config(text))
    assert problem in str(info.value)
    for secret in (ALICE_KEY, "has a space in it 0123", "s3cr3t"):
        assert secret not in str(info.value)


def test_a_postgresql_store_url_is_kept_as_written_and_its_password_is_a_secret(
    write_config: Callable[[str], Path],
) -> None:
    config = load(write_config("store: postgresql://feedtool:pw-in-the-url@db.example:5432/feeds\nshows: {}\n"))
    assert config.store == "postgresql://feedtool:pw-in-the-url@db.example:5432/feeds"
    assert "pw-in-the-url" in config.secrets
    sqlite = load(write_config("store: data/feeds.sqlite\nshows: {}\n"))
    assert sqlite.store == sqlite.path.parent / "data" / "feeds.sqlite"


def test_the_digest_follows_what_is_served_not_the_stores_location_or_comments(
    write_config: Callable[[str], Path],
) -> None:
    base = (
        "store: {store}\n# {comment}\nshows:\n  s:\n    title: {title}\n    sources: [{{rss: https://x.example/f}}]\n"
    )
    first = load(write_config(base.format(store="a.sqlite", comment="one", title="A"))).digest
    assert load(write_config(base.format(store="postgresql://u@db/x", comment="two", title="A"))).digest == first
    assert load(write_config(base.format(store="a.sqlite", comment="one", title="B"))).digest != first
