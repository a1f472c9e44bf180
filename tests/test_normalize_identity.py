"""normalize.identity: enclosure keys, derived GUIDs, slugs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedtool.normalize.identity import derive_guid, enclosure_key, slugify


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


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
    assert enclosure_key(url) == key


def test_derived_guids_are_stable_and_ordered() -> None:
    day = utc(2026, 5, 26, 9)
    assert derive_guid("s", "https://a.example/1.mp3?t=1", "https://a.example/1", "T", day) == "https://a.example/1.mp3"
    assert derive_guid("s", None, " https://a.example/1 ", "T", day) == "https://a.example/1"
    hashed = derive_guid("s", None, None, "My Title", day)
    assert hashed.startswith("feedtool:s:")
    assert hashed == derive_guid("s", None, None, "my title!", utc(2026, 5, 26, 23))
    assert hashed != derive_guid("s", None, None, "My Title", utc(2026, 5, 27))
    assert hashed != derive_guid("other", None, None, "My Title", day)


SLUGS = [
    ("Open Source", "open-source"),
    ("Música_Latina!", "música-latina"),
    ("  Technology & AI / Open Models ", "technology-ai-open-models"),
    ("!!!", ""),
]


@pytest.mark.parametrize(("text", "slug"), SLUGS, ids=[s or "nothing" for _, s in SLUGS])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug
