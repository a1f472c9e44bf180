"""Issue 12 acceptance, written blind: a loopback radio.net (both page formats, a shell,
the episode API) built by tests/radionet_blind_site.py, read through `feedtool refresh`
and checked through `feedtool episodes --json` and the show's JSON Feed."""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from radionet_blind_site import (
    PODCAST_ID,
    SHOW_NAME,
    awkward_cuts,
    flight_page,
    json_ld,
    make_broadcast,
    make_episodes,
    new_flight,
    old_page,
    published,
    row_boundary,
    serve_api,
    shell_flight,
)

from feedtool.cli import main
from feedtool.testing.servers import Upstream

TOTAL = 130  # more than two API pages of 50
ON_PAGE = 12
HTML = "text/html; charset=utf-8"


def expected_description(text: str) -> str:
    """README: plain-text descriptions become paragraphs (each non-empty line a <p>)."""
    lines = (line.strip() for line in text.splitlines())
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines if line)


def expected(episode: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": episode["title"],
        "description": expected_description(episode["description"]),
        "duration": episode["duration"],
        "published": published(episode["publishDate"]),
        "enclosure_url": episode["url"],
        "enclosure_type": episode["contentFormat"],
        "image": episode["parentLogo1200x1200"],
    }


def got(item: dict[str, Any]) -> dict[str, Any]:
    enclosure = item["enclosure"] or {}
    return {
        "title": item["title"],
        "description": item["description"],
        "duration": item["duration"],
        "published": item["published"],
        "enclosure_url": enclosure.get("url"),
        "enclosure_type": enclosure.get("type"),
        "image": item["image"],
    }


PageMaker = Callable[[dict[str, Any], list[dict[str, Any]], bool], str]


def _new(broadcast: dict[str, Any], episodes: list[dict[str, Any]], hints: bool) -> str:
    flight = new_flight(broadcast, episodes[:ON_PAGE], TOTAL, hints=hints)
    return flight_page(flight, awkward_cuts(flight.stream(), episodes), ld=json_ld(broadcast))


def _new_without_json_ld(broadcast: dict[str, Any], episodes: list[dict[str, Any]], hints: bool) -> str:
    flight = new_flight(broadcast, episodes[:ON_PAGE], TOTAL, hints=hints)
    return flight_page(flight, awkward_cuts(flight.stream(), episodes))


def _new_with_binary_push(broadcast: dict[str, Any], episodes: list[dict[str, Any]], hints: bool) -> str:
    flight = new_flight(broadcast, episodes[:ON_PAGE], TOTAL, hints=hints)
    cuts = awkward_cuts(flight.stream(), episodes)
    return flight_page(flight, cuts, binary_at=row_boundary(flight), ld=json_ld(broadcast))


def _old(broadcast: dict[str, Any], episodes: list[dict[str, Any]], hints: bool) -> str:
    return old_page(broadcast, episodes[:10], TOTAL)


def _shell(broadcast: dict[str, Any], episodes: list[dict[str, Any]], hints: bool) -> str:
    return flight_page(shell_flight(hints=hints))


def _kinds(*names: str) -> list[Any]:
    """Each new-format page kind with React's id-less hint rows (as real pages have them)
    and without them (to show what else works)."""
    params = []
    for name in names:
        params.append(pytest.param(name, True, id=f"{name}-hint-rows"))
        params.append(pytest.param(name, False, id=f"{name}-no-hint-rows"))
    return params


PAGES: dict[str, PageMaker] = {
    "old-next-data": _old,
    "new-flight": _new,
    "new-flight-no-json-ld": _new_without_json_ld,
    "new-flight-binary-push": _new_with_binary_push,
}


@pytest.fixture
def episodes() -> list[dict[str, Any]]:
    return make_episodes(TOTAL)


def _config(write_config: Callable[[str], Path], upstream: Upstream) -> Path:
    return write_config(
        f"""\
        store: feedtool.sqlite
        fetch: {{retries: 1, deadline: 60}}
        shows:
          blind:
            sources:
              - radionet: {upstream.url("/podcast/" + PODCAST_ID)}
                api: {upstream.base}
        """
    )


def _refresh(runner: CliRunner, config: Path) -> tuple[int, str]:
    result = runner.invoke(main, ["--config", str(config), "refresh"])
    return result.exit_code, result.output


def _stored(runner: CliRunner, config: Path) -> list[dict[str, Any]]:
    result = runner.invoke(main, ["--config", str(config), "episodes", "blind", "--json"])
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.output)
    return items


def _source_line(output: str) -> str:
    lines = [line for line in output.splitlines() if "radionet" in line]
    assert len(lines) == 1, output
    return lines[0]


def _compare(stored: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    by_url = {item["enclosure"]["url"]: item for item in stored if item["enclosure"]}
    assert len(stored) == len(wanted), [item["title"] for item in stored]
    assert len(by_url) == len(stored), "an episode stored twice, or without its audio"
    missing = [e["title"] for e in wanted if e["url"] not in by_url]
    assert not missing
    for episode in wanted:
        assert got(by_url[episode["url"]]) == expected(episode), episode["title"]


@pytest.mark.parametrize(
    ("kind", "hints"),
    [
        pytest.param("old-next-data", False, id="old-next-data"),
        *_kinds("new-flight", "new-flight-no-json-ld", "new-flight-binary-push"),
    ],
)
def test_every_api_episode_is_stored_exactly_with_the_show_title(
    kind: str,
    hints: bool,
    upstream: Upstream,
    episodes: list[dict[str, Any]],
    write_config: Callable[[str], Path],
    runner: CliRunner,
    client_for: Callable[[Path], FlaskClient],
) -> None:
    broadcast = make_broadcast()
    upstream.serve(f"/podcast/{PODCAST_ID}", PAGES[kind](broadcast, episodes, hints), content_type=HTML)
    serve_api(upstream, episodes)
    config = _config(write_config, upstream)

    code, output = _refresh(runner, config)

    assert code == 0, output
    assert "warning" not in _source_line(output), output
    _compare(_stored(runner, config), episodes)
    feed = client_for(config).get("/feeds/blind.json").get_json()
    assert feed["title"] == SHOW_NAME
    offsets = sorted(
        int(request.args.get("offset", "0"))
        for request, _ in upstream.log
        if request.path == "/podcasts/episodes/by-podcast-ids"
    )
    assert len(offsets) >= 3  # paged to the end
    assert offsets[-1] + 50 >= TOTAL


@pytest.mark.parametrize("hints", [True, False], ids=["hint-rows", "no-hint-rows"])
def test_a_shell_page_still_gives_every_episode_with_one_warning(
    hints: bool,
    upstream: Upstream,
    episodes: list[dict[str, Any]],
    write_config: Callable[[str], Path],
    runner: CliRunner,
) -> None:
    broadcast = make_broadcast()
    upstream.serve(f"/podcast/{PODCAST_ID}", _shell(broadcast, episodes, hints), content_type=HTML)
    serve_api(upstream, episodes)
    config = _config(write_config, upstream)

    code, output = _refresh(runner, config)

    assert code == 0, output
    assert _source_line(output).endswith("; 1 warning"), output
    _compare(_stored(runner, config), episodes)


@pytest.mark.parametrize("hints", [pytest.param(True, id="hint-rows"), pytest.param(False, id="no-hint-rows")])
def test_with_the_api_down_the_new_page_gives_its_episodes_in_full(
    hints: bool,
    upstream: Upstream,
    episodes: list[dict[str, Any]],
    write_config: Callable[[str], Path],
    runner: CliRunner,
) -> None:
    broadcast = make_broadcast()
    flight = new_flight(broadcast, episodes[:ON_PAGE], TOTAL, hints=hints)
    page = flight_page(flight, awkward_cuts(flight.stream(), episodes), ld=json_ld(broadcast))
    upstream.serve(f"/podcast/{PODCAST_ID}", page, content_type=HTML)
    serve_api(upstream, episodes, status=503)
    config = _config(write_config, upstream)

    code, output = _refresh(runner, config)

    assert code == 0, output
    assert _source_line(output).endswith("; 1 warning"), output
    on_page = episodes[:ON_PAGE]
    assert any(len(e["description"]) >= 1024 for e in on_page)  # text rows are exercised
    _compare(_stored(runner, config), on_page)


def test_the_generated_page_is_what_the_test_claims() -> None:
    """The pushes decode (as JSON, as a browser reads the JS literals) and join back to
    the stream, a text row and a title are cut across pushes, and the escapes are there."""
    episodes = make_episodes(TOTAL)
    flight = new_flight(make_broadcast(), episodes[:ON_PAGE], TOTAL)
    stream = flight.stream()
    page = flight_page(flight, awkward_cuts(stream, episodes), binary_at=row_boundary(flight))
    pushes = [json.loads(args) for args in re.findall(r"\.push\((\[.*?\])\)(?:;|</script>)", page)]
    assert pushes[0] == [0]
    assert pushes[1][0] == 2
    assert [p[0] for p in pushes].count(3) == 1
    chunks = [p[1] for p in pushes if p[0] == 1]
    assert "".join(chunks) == stream
    assert len(chunks) > 10
    for escape in ("\\u003c", "\\u2028", "\\u0026", '\\"', "\\\\"):
        assert escape in page
    assert "<" not in "".join(re.findall(r"push\((.*?)\)</script>", page))
    ends = list(itertools.accumulate(len(c) for c in chunks))
    text_rows = [m.start() for m in re.finditer(r"[0-9a-f]+:T[0-9a-f]+,", stream)]
    assert len(text_rows) >= 2
    assert any(stream.index(",", at) < end < stream.index(",", at) + 1024 for at in text_rows for end in ends)
    title = json.dumps(episodes[0]["title"], ensure_ascii=False)[1:-1]
    title_at = stream.index(title)
    assert any(title_at < end < title_at + len(title) for end in ends)
    assert '"$$5 off: episode ' in stream  # '$' escaped in JSON
    assert re.search(r":T[0-9a-f]+,\$20 tip jar", stream)  # raw in a text row
    assert re.search(r'"description":"\$[0-9a-f]+"', stream)
