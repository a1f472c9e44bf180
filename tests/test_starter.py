"""The starter config `feedtool init` writes: valid as written, for any URL and show id."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedtool.config import parse
from feedtool.starter import PLACEHOLDER_URL, kind_of, starter_config


@pytest.mark.parametrize(
    ("url", "kind", "location"),
    [
        (None, "rss", PLACEHOLDER_URL),
        ("https://feeds.example.org/show.xml", "rss", "https://feeds.example.org/show.xml"),
        ("https://www.radio.net/podcast/interconnects", "radionet", "https://www.radio.net/podcast/interconnects"),
        ("https://www.radio.de/podcast/sternwarte", "radionet", "https://www.radio.de/podcast/sternwarte"),
        # '#' and ': ' would end a plain YAML scalar: the URL must survive whole.
        ("http://example.org/a feed: x.rss#frag", "rss", "http://example.org/a feed: x.rss#frag"),
        ("http://example.org/it's.rss", "rss", "http://example.org/it's.rss"),
    ],
)
def test_starter_config_is_valid_and_keeps_the_url(tmp_path: Path, url: str | None, kind: str, location: str) -> None:
    config = parse(starter_config("my-pod", url), tmp_path / "config.yaml")
    (source,) = config.shows["my-pod"].sources
    assert (source.kind, source.location) == (kind, location)
    assert [rule.name for rule in config.shows["my-pod"].tags] == ["interviews"]
    assert config.feeds["my-pod-interviews"].filter.tags == ("interviews",)
    assert config.store == tmp_path / "my-pod.sqlite"


def test_starter_config_tells_what_to_replace() -> None:
    assert "replace with your show's feed URL" in starter_config("x", None)
    assert "replace" not in starter_config("x", "https://example.org/f.rss")
    assert "--config mine.yaml check" in starter_config("x", None, "mine.yaml")


def test_kind_of_only_takes_radionet_hosts() -> None:
    assert kind_of("https://radio.fr/podcast/x") == "radionet"
    assert kind_of("https://WWW.Radio.SE/podcast/x") == "radionet"
    assert kind_of("https://notradio.net/podcast/x") == "rss"
    assert kind_of("https://www.radio.net.evil.example/podcast/x") == "rss"
    # Other sites named radio.<tld> are not radio.net's: the kind's own host list decides.
    assert kind_of("https://www.radio.com/podcast/x") == "rss"
    assert kind_of("https://radio.co.uk/podcast/x") == "rss"
