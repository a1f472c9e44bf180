"""feedtool add: each kind of link against loopback servers, the errors that change nothing,
the id, and the config edited in place (every other byte kept, accepted by check and refresh)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from feedtool.add import (
    FALLBACK_ID,
    MAX_ID,
    NewSource,
    append_show,
    apple_id,
    discover,
    feed_from_lookup,
    newest,
    slugify,
    sniff_root,
    unique_id,
    write_config,
)
from feedtool.cli import main
from feedtool.config import FetchConfig, is_id, load, parse
from feedtool.errors import ConfigEditError, DiscoveryError, FetchError
from feedtool.fetch import Fetcher
from feedtool.testing.feeds import feed, item
from feedtool.testing.servers import Reply, Request, Upstream

DATA = Path(__file__).parent / "data"
CASES = sorted(p for p in (DATA / "add").glob("*.yaml") if not p.name.endswith(".expected.yaml"))

#: The config the command adds to: comments at every level, a named feed, an odd layout of comments.
CONFIG = """\
# My shows.   Comments keep their    spacing.
store: feedtool.sqlite      # relative to this file
fetch:
  retries: 1                # the loopback upstream answers at once
  user_agent: feedtool-test/1.0 (add)

shows:
  # A saved listing, read without the network.
  quiet-lab:                      # the id
    title: "Quiet Lab"            # double quotes stay
    sources:
      - listing: quietlab.txt     # relative path
      # - rss: https://example.org/disabled.rss
    tags:
      open-models:
        match: ['\\bopen[- ]weights?\\b']   # single quotes stay

# Named feeds.
feeds:
  quiet-lab-open:                 # a named feed
    show: quiet-lab
    filter: {tag: open-models}
# the end
"""

OWLS = [
    item(3, title="Episode 3: Moths", guid="owl-3", published=datetime(2026, 5, 26, 10, tzinfo=UTC),
         enclosure="http://cdn.nightowls.example/3.mp3", duration=1800),
    item(2, title="Episode 2: Stars", guid="owl-2", published=datetime(2026, 5, 19, 10, tzinfo=UTC),
         enclosure="http://cdn.nightowls.example/2.mp3", duration=1500),
    item(1, title="Episode 1: Owls", guid="owl-1", published=datetime(2026, 5, 12, 10, tzinfo=UTC),
         enclosure="http://cdn.nightowls.example/1.mp3", duration=1200),
]  # fmt: skip
OWL_TITLES = ["Episode 3: Moths", "Episode 2: Stars", "Episode 1: Owls"]
OWLS_FEED = feed(OWLS, title="Night Owls")
RADIONET_PAGE = "http://www.radio.net/podcast/night-owls"
RADIONET_API = "http://api.radio.example"
OWN_FEED = "http://feeds.nightowls.example/podcast.rss"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "quietlab.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def proxied(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment in which the loopback upstream is the HTTP proxy for every host but
    127.0.0.1: http://www.radio.net/... is answered by the route of that whole URL."""
    env = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env |= {"HTTP_PROXY": upstream.base, "http_proxy": upstream.base}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    upstream.serve(RADIONET_PAGE, (DATA / "add" / "radionet-page.html").read_bytes(), content_type="text/html")
    upstream.serve(
        f"{RADIONET_API}/podcasts/episodes/by-podcast-ids",
        (DATA / "add" / "radionet-api.json").read_bytes(),
        content_type="application/json",
    )
    return env


def feedtool(config: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a user or cron runs it."""
    return subprocess.run(
        [sys.executable, "-m", "feedtool", "--config", str(config), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def appended(before: str, after: str) -> str:
    """The text inserted into ``before`` to make ``after``; fails unless every other
    character (every comment among them) is where it was."""
    start = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), len(before))
    end = len(after) - (len(before) - start)
    assert start <= end, "the new text is shorter"
    assert after[:start] + after[end:] == before, "something besides one inserted block changed"
    return after[start:end]


def inserted(before: str, after: str, block: str) -> bool:
    """Whether ``after`` is ``before`` with ``block`` inserted somewhere, and nothing else changed."""
    at = after.find(block)
    while at >= 0:
        if after[:at] + after[at + len(block) :] == before:
            return True
        at = after.find(block, at + 1)
    return False


def accepted(config: Path, show: str, env: Mapping[str, str] | None = None) -> list[str]:
    """Check and refresh the config in real processes; the stored episode titles of ``show``."""
    checked = feedtool(config, "check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    refreshed = feedtool(config, "refresh", env=env)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    listed = feedtool(config, "episodes", show, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    return [e["title"] for e in json.loads(listed.stdout)]


def add(config: Path, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "add", *args], env=dict(env or {}))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


# --- every kind of link, end to end ------------------------------------------------


def test_a_feed_url_is_sniffed_from_its_body(config: Path, upstream: Upstream) -> None:
    # Neither the path nor the Content-Type says "feed": the body does.
    upstream.serve("/shows/night-owls", OWLS_FEED, content_type="application/octet-stream")
    code, output = add(config, upstream.url("/shows/night-owls"))
    assert code == 0, output
    assert "found Night Owls: a feed" in output
    assert f"rss {upstream.url('/shows/night-owls')}: 3 episodes, newest 2026-05-26 'Episode 3: Moths'" in output
    block = appended(CONFIG, config.read_text(encoding="utf-8"))
    assert block == f"  night-owls:\n    sources:\n      - rss: {upstream.url('/shows/night-owls')}\n"
    # The preview fetched as a refresh does: the configured User-Agent, once.
    assert [r.headers["User-Agent"] for r in upstream.requests()] == ["feedtool-test/1.0 (add)"]
    assert accepted(config, "night-owls") == OWL_TITLES


def test_a_website_gives_its_rss_link_resolved_against_its_base(config: Path, upstream: Upstream) -> None:
    page = b"""<!DOCTYPE html><html><head><title>Night Owls</title><base href="/podcast/">
    <!-- <link rel="alternate" type="application/rss+xml" href="/commented-out.rss"> -->
    <link rel="alternate" type="application/atom+xml" href="feed.atom">
    <link rel="Alternate" type="application/rss+xml; charset=utf-8" href="feed.rss">
    <link rel="alternate" type="application/rss+xml" href="other.rss">
    </head><body><a href="/elsewhere.rss">RSS</a></body></html>"""
    upstream.serve("/", page, content_type="text/html")
    upstream.serve("/podcast/feed.rss", OWLS_FEED, content_type="text/html")  # a wrong type does not matter
    code, output = add(config, upstream.url("/"))
    assert code == 0, output
    assert f"found Night Owls: the feed link of the page {upstream.url('/')}" in output
    block = appended(CONFIG, config.read_text(encoding="utf-8"))
    assert block == f"  night-owls:\n    sources:\n      - rss: {upstream.url('/podcast/feed.rss')}\n"
    assert [r.path for r in upstream.requests()] == ["/", "/podcast/feed.rss"]
    assert accepted(config, "night-owls") == OWL_TITLES


@pytest.mark.parametrize(
    "link",
    [
        "https://podcasts.apple.com/gb/podcast/night-owls/id1234567890?i=1000650000000",
        "https://podcasts.apple.com/podcast/id1234567890",
    ],
    ids=["episode-link", "no-country-no-name"],
)
def test_an_apple_podcasts_link_gives_the_feed_apple_lists(config: Path, upstream: Upstream, link: str) -> None:
    upstream.serve("/owls.rss", OWLS_FEED)

    def lookup(request: Request) -> Reply:
        if request.args != {"id": "1234567890", "entity": "podcast"}:
            return Reply(b"unexpected query", 400)
        answer = {"resultCount": 1, "results": [{"collectionName": "Night Owls", "feedUrl": upstream.url("/owls.rss")}]}
        return Reply(json.dumps(answer).encode(), 200, {"Content-Type": "text/javascript"})

    upstream.route("/lookup", lookup)
    code, output = add(config, link, env={"FEEDTOOL_APPLE_LOOKUP": upstream.url("/lookup")})
    assert code == 0, output
    assert "found Night Owls: Apple Podcasts' directory (id 1234567890)" in output
    block = appended(CONFIG, config.read_text(encoding="utf-8"))
    assert block == f"  night-owls:\n    sources:\n      - rss: {upstream.url('/owls.rss')}\n"
    assert accepted(config, "night-owls") == OWL_TITLES


def test_a_radionet_page_becomes_a_radionet_source(config: Path, upstream: Upstream, proxied: dict[str, str]) -> None:
    code, output = add(config, RADIONET_PAGE + "?utm_source=share", "--radionet-api", RADIONET_API)
    assert code == 0, output
    assert "found Night Owls: a radio.net page" in output
    assert f"radionet {RADIONET_PAGE}: 3 episodes, newest 2026-05-26 'Episode 3: Moths'" in output
    block = appended(CONFIG, config.read_text(encoding="utf-8"))
    assert block == f"  night-owls:\n    sources:\n      - radionet: {RADIONET_PAGE}\n        api: {RADIONET_API}\n"
    assert accepted(config, "night-owls", env=proxied) == OWL_TITLES


def test_a_radionet_page_naming_the_shows_feed_gives_both_sources_in_one_show(
    config: Path, upstream: Upstream, proxied: dict[str, str]
) -> None:
    # The fixture page names the show's feed in a <link rel="alternate">: radionet.feed_url finds it.
    upstream.serve(OWN_FEED, OWLS_FEED)
    code, output = add(config, RADIONET_PAGE, "--radionet-api", RADIONET_API)
    assert code == 0, output
    assert "found Night Owls: a radio.net page and the show's own feed it names" in output
    assert appended(CONFIG, config.read_text(encoding="utf-8")) == (
        f"  night-owls:\n    sources:\n      - rss: {OWN_FEED}\n"
        f"      - radionet: {RADIONET_PAGE}\n        api: {RADIONET_API}\n"
    )
    # One show: the same three episodes in both sources are stored once.
    assert accepted(config, "night-owls", env=proxied) == OWL_TITLES


def test_a_radionet_page_whose_named_feed_is_broken_is_added_alone(
    config: Path, upstream: Upstream, proxied: dict[str, str]
) -> None:
    upstream.serve(OWN_FEED, b"<html>gone</html>", content_type="text/html")
    fetcher = Fetcher(load(config).fetch)
    try:
        found = discover(RADIONET_PAGE, fetcher, radionet_api=RADIONET_API, own_feed=lambda page, url: OWN_FEED)
    finally:
        fetcher.close()
    assert found.sources == (NewSource("radionet", RADIONET_PAGE, {"api": RADIONET_API}),)
    assert len(found.notes) == 1
    assert "the page names the show's own feed, but it cannot be read" in found.notes[0]
    assert "not an RSS or Atom feed: an HTML page" in found.notes[0]


def test_a_title_taken_as_an_id_gets_a_number(config: Path, upstream: Upstream) -> None:
    upstream.serve("/a.rss", feed(OWLS, title="Quiet Lab"))
    upstream.serve("/b.rss", feed(OWLS, title="Quiet Lab Open"))
    assert add(config, upstream.url("/a.rss"))[0] == 0
    assert add(config, upstream.url("/b.rss"))[0] == 0  # quiet-lab-open is a named feed's
    shows = list(load(config).shows)
    assert shows == ["quiet-lab", "quiet-lab-2", "quiet-lab-open-2"]
    assert appended(CONFIG, config.read_text(encoding="utf-8")) == (
        f"  quiet-lab-2:\n    sources:\n      - rss: {upstream.url('/a.rss')}\n"
        f"  quiet-lab-open-2:\n    sources:\n      - rss: {upstream.url('/b.rss')}\n"
    )


def test_dry_run_prints_the_yaml_and_changes_nothing(config: Path, upstream: Upstream) -> None:
    upstream.serve("/f.rss", OWLS_FEED)
    before = config.read_bytes()
    stamp = config.stat().st_mtime_ns
    code, output = add(config, upstream.url("/f.rss"), "--dry-run", "--id", "owls")
    assert code == 0, output
    assert f"would add to {config} (dry run: nothing changed):\n  owls:\n    sources:\n      - rss: " in output
    assert config.read_bytes() == before
    assert config.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml", "quietlab.txt"]


def test_the_file_keeps_its_mode_and_symlinks_stay(config: Path, upstream: Upstream) -> None:
    upstream.serve("/f.rss", OWLS_FEED)
    config.chmod(0o640)
    link = config.with_name("link.yaml")
    link.symlink_to(config.name)
    code, output = add(link, upstream.url("/f.rss"))
    assert code == 0, output
    assert link.is_symlink()
    assert config.stat().st_mode & 0o777 == 0o640
    assert "night-owls" in load(config).shows
    assert not [p for p in config.parent.iterdir() if p.name.endswith(".tmp")]


# --- errors: clear, and nothing changes ----------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ErrorCase = Callable[[Upstream], list[str]]


def _unreachable(up: Upstream) -> list[str]:
    return [f"http://127.0.0.1:{_closed_port()}/feed.rss"]


def _not_found(up: Upstream) -> list[str]:
    return [up.url("/missing.rss")]


def _page_without_feed(up: Upstream) -> list[str]:
    up.serve("/", b"<!DOCTYPE html><html><head><title>x</title></head><body>no feed</x>", content_type="text/html")
    return [up.url("/")]


def _feed_link_to_a_page(up: Upstream) -> list[str]:
    up.serve("/", b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed"></head></html>')
    up.serve("/feed", b"<html><body>Subscribe!</body></html>", content_type="text/html")
    return [up.url("/")]


def _json(up: Upstream) -> list[str]:
    up.serve("/api", b'{"episodes": []}', content_type="application/json")
    return [up.url("/api")]


def _broken_feed(up: Upstream) -> list[str]:
    up.serve("/feed.rss", b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item>')
    return [up.url("/feed.rss")]


def _apple(answer: object) -> ErrorCase:
    def setup(up: Upstream) -> list[str]:
        up.serve("/lookup", json.dumps(answer).encode(), content_type="text/javascript")
        return ["https://podcasts.apple.com/us/podcast/x/id42", "--apple-lookup", up.url("/lookup")]

    return setup


def _too_large(up: Upstream) -> list[str]:
    up.serve("/big.rss", feed([item(n, description="x" * 1000) for n in range(200)]))
    return [up.url("/big.rss")]


def _control_character_in_the_link(up: Upstream) -> list[str]:
    # A fragment is not sent, so the feed is fetched; but config.yaml cannot hold U+000B.
    up.serve("/", b'<html><link rel="alternate" type="application/rss+xml" href="/f.rss#a\x0bb"></html>')
    up.serve("/f.rss", OWLS_FEED)
    return [up.url("/")]


def _already_a_source(up: Upstream) -> list[str]:
    return [up.url("/f.rss")]


def _offline(*args: str) -> ErrorCase:
    return lambda up: list(args)


ERRORS: list[tuple[str, ErrorCase, int, str]] = [
    ("unreachable", _unreachable, 1, "connection failed"),
    ("http-404", _not_found, 1, "/missing.rss: HTTP 404 Not Found; nothing changed"),
    ("page-without-feed", _page_without_feed, 1, 'the page names no feed (no <link rel="alternate">'),
    ("link-to-a-page", _feed_link_to_a_page, 1, "/feed: the page http://127.0.0.1:"),
    ("json", _json, 1, "neither a feed nor a web page: JSON"),
    ("broken-feed", _broken_feed, 1, "/feed.rss: not well-formed XML: Premature end of data"),
    ("apple-unknown", _apple({"resultCount": 0, "results": []}), 1, "no such show in Apple Podcasts' directory"),
    ("apple-no-feed", _apple({"resultCount": 1, "results": [{"collectionName": "Only On Apple"}]}), 1,
     "Apple Podcasts lists 'Only On Apple' without an http(s) feed URL"),
    ("apple-no-id", _offline("https://podcasts.apple.com/us/podcast/x"), 1, "an Apple Podcasts link without a show id"),
    ("too-large", _too_large, 1, "larger than the limit of 100,000 bytes"),
    ("config-invalid-after", _control_character_in_the_link, 2,
     "would be invalid with the show added, so nothing changed:\n  shows.night-owls.sources[0].rss: contains "
     "the control character U+000B"),
    ("id-is-a-show", _offline("http://127.0.0.1:9/f.rss", "--id", "quiet-lab"), 2, "'quiet-lab' is already a show"),
    ("id-is-a-named-feed", _offline("http://127.0.0.1:9/f.rss", "--id", "quiet-lab-open"), 2,
     "'quiet-lab-open' is already a named feed (both would be /feeds/quiet-lab-open.rss)"),
    ("id-invalid", _offline("http://127.0.0.1:9/f.rss", "--id", "Night_Owls"), 2,
     "--id 'Night_Owls' is not a show id: use a-z, 0-9 and '-'"),
    ("no-scheme", _offline("example.org/feed.rss"), 2, "expected an http:// or https:// URL, such as https://example.org"),
    ("already-a-source", _already_a_source, 2, "is already a source of the show 'quiet-lab'"),
]  # fmt: skip


@pytest.mark.parametrize(("setup", "code", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_are_clear_and_change_nothing(
    config: Path, upstream: Upstream, setup: ErrorCase, code: int, message: str
) -> None:
    text = CONFIG.replace("  retries: 1 ", "  max_bytes: 100000\n  retries: 1 ")
    if setup is _already_a_source:
        upstream.serve("/f.rss", OWLS_FEED)
        text = text.replace("      # - rss: https://example.org/disabled.rss", f"      - rss: {upstream.url('/f.rss')}")
    config.write_text(text, encoding="utf-8")
    before = config.read_bytes()
    exit_code, output = add(config, *setup(upstream))
    assert exit_code == code, output
    assert message in output
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml", "quietlab.txt"]


def test_ids_in_use_are_refused_before_anything_is_fetched(config: Path, upstream: Upstream) -> None:
    upstream.serve("/f.rss", OWLS_FEED)
    assert add(config, upstream.url("/f.rss"), "--id", "quiet-lab")[0] == 2
    assert upstream.requests() == []


def test_a_missing_config_points_at_init(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    code, output = add(missing, "https://example.org/feed.rss")
    assert code == 2
    assert f"{missing} does not exist: write one with `feedtool init {missing}` first" in output
    assert not missing.exists()


def test_an_invalid_config_is_named_and_left_alone(config: Path) -> None:
    config.write_text(CONFIG.replace("listing:", "listng:"), encoding="utf-8")
    before = config.read_bytes()
    code, output = add(config, "https://example.org/feed.rss")
    assert code == 2
    assert "shows.quiet-lab.sources[0]: unknown source kind 'listng'" in output
    assert config.read_bytes() == before


def test_a_config_changed_meanwhile_is_not_overwritten(config: Path) -> None:
    before = config.read_bytes()
    config.write_text(CONFIG + "# edited by hand meanwhile\n", encoding="utf-8")
    with pytest.raises(ConfigEditError, match="changed while the show was being added"):
        write_config(config, before, "shows: {}\n")
    assert config.read_text(encoding="utf-8").endswith("# edited by hand meanwhile\n")


# --- the config's text -------------------------------------------------------------

NEW = (
    NewSource("rss", "https://feeds.example/new.rss"),
    NewSource("radionet", "https://www.radio.net/podcast/new", {"api": "http://api.radio.example"}),
)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_layouts(case: Path) -> None:
    """Each case file says what it covers; the expected file is it with the show appended."""
    before = case.read_bytes().decode("utf-8")
    expected = case.with_suffix(".expected.yaml").read_bytes().decode("utf-8")
    addition = append_show(before, "new-show", NEW)
    assert addition.text == expected
    assert inserted(before, addition.text, addition.added)
    config = parse(addition.text, case)
    assert config.shows["new-show"].sources[1].options == {"api": "http://api.radio.example"}


def test_crlf_line_breaks_are_kept() -> None:
    before = "# c\r\nshows:\r\n  a:\r\n    sources:\r\n      - rss: https://a.example/f.rss\r\n"
    addition = append_show(before, "b", NEW[:1])
    assert addition.added == "  b:\r\n    sources:\r\n      - rss: https://feeds.example/new.rss\r\n"
    assert inserted(before, addition.text, addition.added)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("shows: {}\n", "shows: {b: {sources: [{rss: https://feeds.example/new.rss}]}}\n"),
        ("shows: {a: {sources: [{rss: 'https://a.example'}]},}\n",
         "shows: {a: {sources: [{rss: 'https://a.example'}]}, b: {sources: [{rss: https://feeds.example/new.rss}]}}\n"),
        ("shows: ~  # none yet\n", "shows:   # none yet\n  b:\n    sources:\n      - rss: https://feeds.example/new.rss\n"),
    ],
    ids=["empty-flow", "trailing-comma", "explicit-null"],
)  # fmt: skip
def test_edge_layouts(before: str, after: str) -> None:
    assert append_show(before, "b", NEW[:1]).text == after


def test_urls_that_need_quotes_are_quoted() -> None:
    odd = NewSource("rss", "https://a.example/f.rss?x=1 #not-a-comment")
    addition = append_show("shows:\n", "b", [odd])
    assert addition.added == "  b:\n    sources:\n      - rss: 'https://a.example/f.rss?x=1 #not-a-comment'\n"
    flow = append_show("shows: {}\n", "b", [odd]).text
    assert flow == "shows: {b: {sources: [{rss: 'https://a.example/f.rss?x=1 #not-a-comment'}]}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("store: x\n", "the config has no 'shows'"),
        ("shows: [a]\n", "'shows' is not a mapping of shows"),
        ("- a\n", "the config is not a mapping of keys"),
    ],
)
def test_configs_without_a_shows_mapping_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigEditError, match=message):
        append_show(text, "b", NEW[:1])


# --- the pure parts of discovery ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "root"),
    [
        (b'<?xml version="1.0"?><rss version="2.0">', "rss"),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c --><?xml-stylesheet href="x"?><feed xmlns="a">', "feed"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "rdf"),
        (b"\xff\xfe" + '<?xml version="1.0" encoding="utf-16"?><rss>'.encode("utf-16-le"), "rss"),
        (b'<!DOCTYPE rss [<!ENTITY a "b">]><rss>', "rss"),
        (b'junk before\n<?xml version="1.0"?><rss>', "rss"),
        (b"<!doctype html><html><head>", "html"),
        (b'{"feed": 1}', None),
        (b"", None),
    ],
    ids=["rss", "atom-bom-prolog", "rdf", "utf-16", "doctype", "junk-first", "html", "json", "empty"],
)  # fmt: skip
def test_sniff_root(body: bytes, root: str | None) -> None:
    assert sniff_root(body) == root


@pytest.mark.parametrize(
    ("url", "show"),
    [
        ("https://podcasts.apple.com/us/podcast/the-show/id1234567890", "1234567890"),
        ("https://podcasts.apple.com/de/podcast/die-show/id42?i=1000600000000", "42"),
        ("https://podcasts.apple.com/podcast/id42", "42"),
        ("https://podcasts.apple.com/us/podcast/id42", "42"),
        ("https://itunes.apple.com/us/podcast/old-link/id42?mt=2", "42"),
        ("https://PODCASTS.apple.com/us/podcast/x/id42/", "42"),
        ("https://podcasts.apple.com/us/podcast/x", None),
        ("https://podcasts.apple.com/us/podcast/x/idea", None),
        ("https://apple.com.example/podcast/id42", None),
    ],
)
def test_apple_id(url: str, show: str | None) -> None:
    assert apple_id(url) == show


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"<html>", "Apple's lookup API did not answer JSON"),
        (b'{"resultCount": 0, "results": []}', "no such show"),
        (b"[]", "no such show"),
        (b'{"resultCount": 1, "results": [{"collectionName": "X", "feedUrl": "ftp://x/f"}]}', "lists 'X' without"),
    ],
)
def test_lookup_answers_without_a_feed(answer: bytes, error: str) -> None:
    with pytest.raises(DiscoveryError, match=error):
        feed_from_lookup(answer, "42")


def test_lookup_answer_with_a_feed() -> None:
    answer = {"resultCount": 2, "results": [{"wrapperType": "x"}, {"collectionName": "N", "feedUrl": " https://f/ "}]}
    assert feed_from_lookup(json.dumps(answer).encode(), "42") == ("https://f/", "N")


def test_newest_is_by_date_and_the_first_of_undated() -> None:
    from feedtool.testing.feeds import episode

    assert newest([episode(1), episode(3), episode(2)]) == episode(3)
    assert newest([episode(1, published=None), episode(2, published=None)]) == episode(1, published=None)
    assert newest([]) is None


def test_discovery_fetches_through_any_retriever(config: Path, upstream: Upstream) -> None:
    """The retriever is the boundary: a Fetcher of the config's bounds here."""
    upstream.serve("/f.rss", OWLS_FEED)
    fetcher = Fetcher(FetchConfig(retries=1, max_bytes=100))
    try:
        with pytest.raises(FetchError, match="larger than the limit of 100 bytes"):
            discover(upstream.url("/f.rss"), fetcher)
    finally:
        fetcher.close()


def test_a_permanent_redirect_is_followed_for_good(config: Path, upstream: Upstream) -> None:
    upstream.route("/old.rss", lambda request: Reply(b"", 301, {"Location": upstream.url("/new.rss")}))
    upstream.serve("/new.rss", OWLS_FEED)
    code, output = add(config, upstream.url("/old.rss"))
    assert code == 0, output
    assert f"note: {upstream.url('/old.rss')} has moved permanently to {upstream.url('/new.rss')}" in output
    assert f"- rss: {upstream.url('/new.rss')}\n" in appended(CONFIG, config.read_text(encoding="utf-8"))


# --- the id ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Interconnects", "interconnects"),
        ("The Quiet Lab: Episode Notes!", "the-quiet-lab-episode-notes"),
        ("Ærø & Åland — Ça va?", "aero-and-aland-ca-va"),
        ("Straße der Ölmühle", "strasse-der-olmuhle"),
        ("Łódź Ø Þing", "lodz-o-thing"),
        ("ｆｕｌｌｗｉｄｔｈ ２０２６", "fullwidth-2026"),
        ("日本語のポッドキャスト", ""),
        ("  --  ", ""),
        ("", ""),
        (None, ""),
        ("a" * 70 + " b", "a" * 64),
        ("a" * 63 + " b", "a" * 63),
    ],
)
def test_slugify(title: str | None, slug: str) -> None:
    assert slugify(title) == slug


@pytest.mark.parametrize(
    ("title", "taken", "chosen"),
    [
        ("Quiet Lab", set(), "quiet-lab"),
        ("Quiet Lab", {"quiet-lab"}, "quiet-lab-2"),
        ("Quiet Lab", {"quiet-lab", "quiet-lab-2", "quiet-lab-3"}, "quiet-lab-4"),
        ("日本語", set(), FALLBACK_ID),
        ("", {FALLBACK_ID}, f"{FALLBACK_ID}-2"),
        ("a" * 64, {"a" * 64}, "a" * 62 + "-2"),
        ("a" * 62 + "-b", {"a" * 62 + "-b"}, "a" * 62 + "-2"),
    ],
)
def test_unique_id(title: str, taken: set[str], chosen: str) -> None:
    assert unique_id(title, taken) == chosen


@given(st.one_of(st.none(), st.text()), st.sets(st.text(alphabet="abc-2", min_size=1, max_size=6), max_size=20))
def test_unique_id_is_always_a_free_valid_id(title: str | None, taken: set[str]) -> None:
    taken |= {slugify(title) or FALLBACK_ID, f"{slugify(title) or FALLBACK_ID}-2"}
    chosen = unique_id(title, taken)
    assert is_id(chosen)
    assert len(chosen) <= MAX_ID
    assert chosen not in taken


@given(st.text())
def test_a_slug_is_empty_or_an_id_and_stable(title: str) -> None:
    slug = slugify(title)
    assert slug == "" or is_id(slug)
    assert slugify(slug) == slug
