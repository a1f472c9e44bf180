"""Fidelity: every field an app reads reaches it through feedtool, but for documented,
intended normalizations (scripts/fidelity.py prints the figure and every difference)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fidelity", ROOT / "scripts" / "fidelity.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fidelity"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fidelity = _script()

# Each intended difference, and the words of the README that document it.
DOCUMENTED = {
    fidelity.DERIVED_GUID: "gets a derived one that",
    fidelity.DATED: "an episode without a date is dated when",
    fidelity.DURATION: "Durations become whole seconds",
    fidelity.SANITIZED: "descriptions are sanitized",
    fidelity.PERMALINK: 'isPermaLink="true"` is written only for an http(s) GUID',
    fidelity.MIME: "a missing type is guessed from the file name",
    fidelity.RELATIVE: "Relative URLs are resolved against the feed's address",
    fidelity.TITLE: "Titles lose HTML and entities",
    fidelity.NAMESPACE: "podcastparser 0.6 knows only its old GitHub URI",
    fidelity.DATE_READ: "Dates become UTC",
    fidelity.ABSURD_DATE: "Absurd dates (year 1, year 9999, anything outside 1900 to 2199) are not believed",
    fidelity.BAD_DURATION: "negative or over a week is unknown",
    fidelity.ENCLOSURE: "One enclosure per episode: the first audio file",
}


def _measure(feeds: list[Path]) -> object:
    logging.disable(logging.CRITICAL)
    try:
        return fidelity.measure(feeds)
    finally:
        logging.disable(logging.NOTSET)


def test_every_difference_is_documented() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    for reason, words in DOCUMENTED.items():
        assert words in readme, reason


def test_own_fixtures() -> None:
    report = _measure(sorted((ROOT / "tests" / "data" / "rss").glob("*.xml")))
    assert report.feeds >= 8
    assert report.unexpected == []
    assert report.lint_added == {}
    assert {d.reason for d in report.differences} <= set(DOCUMENTED)
    assert report.preserved / report.compared > 0.8


def test_shared_corpus(shared: Path) -> None:
    feeds = sorted((shared / "corpus" / "podcastparser").glob("*.rss"))
    feeds += sorted((shared / "corpus" / "podcast-namespace").glob("*.xml"))
    report = _measure(feeds)
    print(report.figure())
    assert report.feeds >= 60
    assert report.unexpected == []
    assert report.lint_added == {}
    assert {d.reason for d in report.differences} <= set(DOCUMENTED)


def test_a_lost_field_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The measure can fail: drop every episode image on the way, and it says so."""
    from feedtool.render import _feedgen

    original = _feedgen._episode_tags

    def forget_images(parent: object, episode: object) -> None:
        from dataclasses import replace

        original(parent, replace(episode, image=None))  # type: ignore[type-var]

    monkeypatch.setattr(_feedgen, "_episode_tags", forget_images)
    report = _measure([ROOT / "tests" / "data" / "rss" / "full.xml"])
    assert [(d.field, d.reason) for d in report.unexpected] == [("episode_art_url", fidelity.UNEXPECTED)]
