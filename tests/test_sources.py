"""The registry of source kinds: a kind added in one module and one line works through
config and refresh, which name no kind themselves."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedtool import config as config_module
from feedtool import refresh as refresh_module
from feedtool.cli import main
from feedtool.config import load
from feedtool.errors import ConfigError, ParseError
from feedtool.model import Episode, Listing, ShowInfo
from feedtool.sources import KINDS, Fetch, Kind, Option, ParseContext, Source


def _parse_lines(data: bytes, context: ParseContext) -> Listing:
    titles = [line.strip() for line in data.decode().splitlines() if line.strip()]
    if not titles:
        raise ParseError("no lines")
    return Listing(ShowInfo(title="Lines"), [Episode(guid=f"lines:{t}", title=t) for t in titles])


def _follow_lines(first: Listing, source: Source, fetch: Fetch, context: ParseContext) -> Listing:
    more = source.options.get("more")
    if more is None:
        return first
    return Listing(first.show, [*first.episodes, *_parse_lines(fetch(more), context).episodes])


#: A kind of source made for this test: a text file of episode titles, one a line,
#: continued in the file named by its ``more`` option.
LINES = Kind(
    key="lines",
    rank=4,
    parse=_parse_lines,
    options=(Option("more", "a more path", "text"),),
    check=lambda location: None if location.endswith(".txt") else f"{location!r} is not a .txt file",
    follow=_follow_lines,
)


@pytest.fixture
def lines_kind(monkeypatch: pytest.MonkeyPatch) -> Kind:
    """The registry with the test's kind added: the one line a new kind needs."""
    monkeypatch.setitem(KINDS, LINES.key, LINES)
    return LINES


def test_a_registered_kind_is_configured_refreshed_and_followed(
    lines_kind: Kind, write_config: Callable[[str], Path], runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "first.txt").write_text("One\nTwo\n")
    (tmp_path / "second.txt").write_text("Three\n")
    path = write_config(
        f"""
        shows:
          s:
            sources:
              - lines: {tmp_path / "first.txt"}
                more: {tmp_path / "second.txt"}
        """
    )
    source = load(path).shows["s"].sources[0]
    assert (source.kind, source.options) == ("lines", {"more": str(tmp_path / "second.txt")})
    result = runner.invoke(main, ["--config", str(path), "refresh"])
    assert result.exit_code == 0, result.output
    assert "s lines" in result.output
    listed = runner.invoke(main, ["--config", str(path), "episodes", "s", "--json"])
    assert listed.exit_code == 0, listed.output
    assert sorted(e["title"] for e in json.loads(listed.output)) == ["One", "Three", "Two"]


def test_a_registered_kind_checks_its_locations_and_options(
    lines_kind: Kind, write_config: Callable[[str], Path]
) -> None:
    path = write_config(
        """
        shows:
          s:
            sources:
              - lines: /saved/titles.csv
              - rss: https://s.example/feed.rss
                more: /saved/more.txt
              - linez: /saved/titles.txt
        """
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert list(caught.value.problems) == [
        "shows.s.sources[0].lines: '/saved/titles.csv' is not a .txt file",
        "shows.s.sources[1].more: only lines sources take a more path",
        "shows.s.sources[2]: unknown source kind 'linez' (expected one of: rss, radionet, listing, lines)",
    ]


@pytest.mark.parametrize("module", [config_module, refresh_module], ids=["config", "refresh"])
def test_config_and_refresh_name_no_kind(module: object) -> None:
    """They ask the registry: no kind's key as a string, no kind module, no radio.net names."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    names += [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names]
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert [s for s in strings if s in KINDS or "radio" in s.lower()] == []
    assert [n for n in names if any(word in n.lower() for word in ("radio", "slug", "page_through", "parsers"))] == []
    assert [m for m in modules if m.startswith("feedtool.sources.")] == []
    assert {"radionet", "rss"} & set(names) == set()
