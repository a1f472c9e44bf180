"""The offline example of the README runs, and serves what the README says."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import feedparser
from click.testing import CliRunner
from flask import Flask

from feedtool.cli import main
from feedtool.lint import lint

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_offline_example(tmp_path: Path, runner: CliRunner, app_factory: Callable[[Path], Flask]) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("*.sqlite*"))
    config = tmp_path / "examples" / "config.yaml"
    result = runner.invoke(main, ["--config", str(config), "refresh"])
    assert result.exit_code == 0, result.output
    client = app_factory(config).test_client()
    merged = feedparser.parse(client.get("/feeds/quiet-lab.rss").data)
    assert len(merged.entries) == 4
    open_models = feedparser.parse(client.get("/feeds/quiet-lab-open-models.rss").data)
    assert open_models.feed.title == "The Quiet Lab: open models"
    assert [e.title for e in open_models.entries] == [
        "Open weights are not open source",
        "Running open models on a laptop",
    ]
    assert all(any(t.term == "open-models" for t in e.tags) for e in open_models.entries)
    for name in ("quiet-lab", "quiet-lab-open-models", "sternwarte"):
        assert lint(client.get(f"/feeds/{name}.rss").data) == [], name
