"""The command line: help, exit codes, the episodes table, the installed entry point."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from feedtool import __version__
from feedtool.cli import main
from feedtool.testing.servers import Upstream

DATA = Path(__file__).parent / "data"


@pytest.fixture
def show(write_config: Callable[[str], Path], tmp_path: Path) -> Path:
    (tmp_path / "q.txt").write_bytes((DATA / "listing" / "quietlab.txt").read_bytes())
    return write_config("shows: {quiet-lab: {sources: [{listing: q.txt}]}}")


def test_help_works_without_a_config(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("refresh", "episodes", "serve", "export", "init", "add", "check"):
        assert command in result.output
    for command in ("refresh", "episodes", "serve", "export", "init", "add", "check"):
        sub = runner.invoke(main, [command, "--help"])
        assert sub.exit_code == 0
        assert "Example" in sub.output
    assert runner.invoke(main, ["--version"]).output.strip().endswith(__version__)


def test_episodes_table(runner: CliRunner, show: Path) -> None:
    assert runner.invoke(main, ["--config", str(show), "refresh"]).exit_code == 0
    result = runner.invoke(main, ["--config", str(show), "episodes", "quiet-lab"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "2026-05-26   1:02:00                        Episode 2: Open weights, & why they matter",
        "2026-05-04   0:09:00                        Episode 1: Hello",
        "2026-05-01   0:01:00                        Bonus: a very short one",
    ]


@pytest.mark.parametrize(
    ("flags", "titles"),
    [
        (["--limit", "1"], ["Episode 2: Open weights, & why they matter"]),
        (["--sort", "oldest", "--limit", "1"], ["Bonus: a very short one"]),
        (["--q", "hello"], ["Episode 1: Hello"]),
        (["--since", "2026-05-02", "--until", "2026-05-10"], ["Episode 1: Hello"]),
        (["--min-duration", "5m", "--max-duration", "10m"], ["Episode 1: Hello"]),
        (["--filter-title", "^Bonus"], ["Bonus: a very short one"]),
        (["--filterout", "Episode"], ["Bonus: a very short one"]),
    ],
)
def test_episodes_takes_every_filter(runner: CliRunner, show: Path, flags: list[str], titles: list[str]) -> None:
    runner.invoke(main, ["--config", str(show), "refresh"])
    result = runner.invoke(main, ["--config", str(show), "episodes", "quiet-lab", "--json", *flags])
    assert result.exit_code == 0, result.output
    assert [e["title"] for e in json.loads(result.output)] == titles


def test_episodes_usage_errors(runner: CliRunner, show: Path) -> None:
    result = runner.invoke(main, ["--config", str(show), "episodes", "nope"])
    assert result.exit_code == 2
    assert "unknown show 'nope'" in result.output
    result = runner.invoke(main, ["--config", str(show), "episodes", "quiet-lab", "--since", "soon"])
    assert result.exit_code == 2
    assert "--since 'soon': expected a date YYYY-MM-DD" in result.output


def test_episodes_with_an_unknown_tag_exits_2_naming_the_known_tags(runner: CliRunner, show: Path) -> None:
    """Regression: `episodes SHOW --tag <typo>` printed nothing and exited 0."""
    assert runner.invoke(main, ["--config", str(show), "refresh"]).exit_code == 0
    result = runner.invoke(main, ["--config", str(show), "episodes", "quiet-lab", "--tag", "no-such-tag"])
    assert result.exit_code == 2
    assert "--tag 'no-such-tag': expected a tag of this show: none yet" in result.output


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--until", "9999-12-31T23:59:59-23:59"),
        ("--since", "0001-01-01T00:00:00+01:00"),
        ("--limit", "\u00b2"),
        ("--filter-time", "\u2460"),
        ("--min-duration", "9" * 5000),
        ("--q", " ".join(f"w{n}" for n in range(1000))),
    ],
    ids=["until", "since", "limit", "filter-time", "min-duration", "q"],
)
def test_overflowing_flags_are_usage_errors(runner: CliRunner, show: Path, flag: str, value: str) -> None:
    """Regression (issue 9): these printed a traceback."""
    runner.invoke(main, ["--config", str(show), "refresh"])
    result = runner.invoke(main, ["--config", str(show), "episodes", "quiet-lab", flag, value])
    assert result.exit_code == 2, result.output
    assert f"Error: {flag} " in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["episodes", "export"])
def test_reading_commands_never_create_a_store(runner: CliRunner, show: Path, command: str) -> None:
    """Only `refresh` creates and migrates a store (issue 9)."""
    out = show.parent / "public"
    args = (
        ["episodes", "quiet-lab"]
        if command == "episodes"
        else ["export", "--out", str(out), "--base-url", "https://f.example"]
    )
    result = runner.invoke(main, ["--config", str(show), *args])
    assert result.exit_code == 1
    assert f"no store at {show.parent / 'feedtool.sqlite'}: run `feedtool refresh` first" in result.output
    assert not (show.parent / "feedtool.sqlite").exists()


def test_installed_entry_point(show: Path) -> None:
    """The console script as a user runs it, in a real process."""
    exe = shutil.which("feedtool", path=str(Path(sys.executable).parent)) or shutil.which("feedtool")
    if exe is None:
        pytest.skip("feedtool is not installed as a command")
    env = {**os.environ, "FEEDTOOL_CONFIG": str(show)}
    refreshed = subprocess.run([exe, "refresh"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "quiet-lab listing" in refreshed.stdout
    listed = subprocess.run(
        [exe, "episodes", "quiet-lab", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert len(json.loads(listed.stdout)) == 3


def test_progress_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    from feedtool.cli import Progress
    from feedtool.config import SourceConfig
    from feedtool.refresh import SourceResult

    result = SourceResult("s", SourceConfig("rss", "https://a.example/f.rss"), "failed", error="HTTP 500")
    quiet = Progress(2, enabled=False)
    quiet.show()
    quiet.report(result)
    out, err = capsys.readouterr()
    assert out == "s rss https://a.example/f.rss: failed: HTTP 500\n"
    assert err == ""
    live = Progress(2, enabled=True)
    live.show()
    live.report(result)
    live.clear()
    out, err = capsys.readouterr()
    assert out == "s rss https://a.example/f.rss: failed: HTTP 500\n"
    assert "refreshing: 0 of 2 sources done" in err
    assert "refreshing: 1 of 2 sources done, 1 failed" in err


@pytest.mark.parametrize("how", ["truncated", "corrupt", "locked"])
def test_episodes_on_a_damaged_or_locked_store_exits_1_with_the_message(
    runner: CliRunner, show: Path, damage_store: Callable[[Path, str], None], how: str
) -> None:
    """Acceptance (issue 10): one line saying what is wrong with the store, never a traceback."""
    show.write_text(show.read_text() + "\nserver: {busy_timeout: 0.05}\n")
    assert runner.invoke(main, ["--config", str(show), "refresh"]).exit_code == 0
    damage_store(show.parent / "feedtool.sqlite", how)
    result = runner.invoke(main, ["--config", str(show), "episodes", "quiet-lab"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: cannot read the store {show.parent / 'feedtool.sqlite'}: "), result.output
    assert result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output


RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>My pod</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>An interview with Ada</title><guid>a</guid><pubDate>Tue, 05 May 2026 10:00:00 GMT</pubDate>
<enclosure url="http://127.0.0.1/a.mp3" type="audio/mpeg" length="1"/></item>
<item><title>Solo notes</title><guid>b</guid><pubDate>Mon, 04 May 2026 10:00:00 GMT</pubDate>
<enclosure url="http://127.0.0.1/b.mp3" type="audio/mpeg" length="1"/></item>
</channel></rss>"""


def test_init_then_check_refresh_and_a_filtered_feed(
    runner: CliRunner, tmp_path: Path, upstream: Upstream, app_factory: Callable[[Path], Flask]
) -> None:
    upstream.serve("/feed.rss", RSS)
    path = tmp_path / "mine.yaml"
    result = runner.invoke(main, ["init", str(path), "--feed", upstream.url("/feed.rss"), "--show", "my-pod"])
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.output
    checked = runner.invoke(main, ["--config", str(path), "check"])
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[1:] == [
        f"show my-pod: 1 source (rss {upstream.url('/feed.rss')}); tags: interviews",
        "feed my-pod-interviews: my-pod, tag interviews",
    ]
    assert upstream.requests() == []  # check fetches nothing
    assert runner.invoke(main, ["--config", str(path), "refresh"]).exit_code == 0
    listed = runner.invoke(main, ["--config", str(path), "episodes", "my-pod", "--tag", "interviews", "--json"])
    assert [e["title"] for e in json.loads(listed.output)] == ["An interview with Ada"]
    served = app_factory(path).test_client().get("/feeds/my-pod-interviews.rss")
    assert served.status_code == 200
    assert b"An interview with Ada" in served.data
    assert b"Solo notes" not in served.data


def test_init_without_a_url_writes_a_placeholder_and_the_default_path(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDTOOL_CONFIG", raising=False)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert "replace the placeholder" in result.output
    assert "https://example.org/podcast.rss" in (tmp_path / "config.yaml").read_text(encoding="utf-8")
    assert runner.invoke(main, ["check"]).exit_code == 0


def test_init_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mine\n", encoding="utf-8")
    result = runner.invoke(main, ["--config", str(path), "init", "--feed", "https://example.org/f.rss"])
    assert result.exit_code == 2
    assert "already exists; not overwriting" in result.output
    assert path.read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feed", "example.org/feed"], "--feed 'example.org/feed': expected an http:// or https:// URL"),
        (["--show", "My_Show"], "shows.My_Show: bad id"),
    ],
)
def test_init_rejects_bad_input_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    path = tmp_path / "c.yaml"
    result = runner.invoke(main, ["init", str(path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not path.exists()


def test_check_lists_every_problem(runner: CliRunner, write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """
        shows:
          a: {sources: [{rsss: x}]}
        feeds: {f: {show: nope}}
        """
    )
    result = runner.invoke(main, ["--config", str(path), "check"])
    assert result.exit_code == 2
    assert "shows.a.sources[0]: unknown source kind 'rsss'" in result.output
    assert "feeds.f" in result.output


def test_refresh_lines_carry_an_iso_timestamp_when_not_on_a_terminal(runner: CliRunner, show: Path) -> None:
    """Cron mails and logs: each line says when it happened (issue 13)."""
    result = runner.invoke(main, ["--config", str(show), "refresh"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line), line
    assert "quiet-lab listing" in lines[0]
    assert "1 sources: 1 ok" in lines[1]


@pytest.mark.parametrize("command", ["episodes", "export"])
def test_help_lists_every_filter_flag(runner: CliRunner, command: str) -> None:
    """Regression (issue 13): the RSSHub flags worked but --help hid them."""
    from feedtool.filters import PARAMS

    shown = runner.invoke(main, [command, "--help"], terminal_width=200).output
    for name in PARAMS:
        assert f"--{name.replace('_', '-')}" in shown, name


def test_episodes_of_a_named_feed_are_filtered_like_the_feed(runner: CliRunner, show: Path) -> None:
    """Regression (issue 13): `feedtool episodes NAMED-FEED` said "unknown show"."""
    show.write_text(show.read_text() + "\nfeeds: {short: {show: quiet-lab, filter: {max_duration: 10m}}}\n")
    assert runner.invoke(main, ["--config", str(show), "refresh"]).exit_code == 0
    result = runner.invoke(main, ["--config", str(show), "episodes", "short", "--json"])
    assert result.exit_code == 0, result.output
    assert [e["title"] for e in json.loads(result.output)] == ["Episode 1: Hello", "Bonus: a very short one"]
    narrowed = runner.invoke(main, ["--config", str(show), "episodes", "short", "--json", "--q", "hello"])
    assert [e["title"] for e in json.loads(narrowed.output)] == ["Episode 1: Hello"]
    unknown = runner.invoke(main, ["--config", str(show), "episodes", "nope"])
    assert unknown.exit_code == 2
    assert "(configured: quiet-lab, short)" in unknown.output


def test_export_help_says_its_filter_flags_apply_to_every_feed(runner: CliRunner) -> None:
    """Regression (issue 13): export took filter flags without saying what they do."""
    shown = " ".join(runner.invoke(main, ["export", "--help"]).output.split())
    assert "filter flags apply to every exported feed at once" in shown
