"""normalize.identity: enclosure keys, derived GUIDs, slugs, Atom ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedtool.normalize.identity import atom_id, derive_guid, enclosure_key, is_atom_id, slugify


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


@pytest.mark.parametrize(
    ("guid", "kept"),
    [
        ("https://show.example/ep/1", True),
        ("urn:uuid:0f6d4b52-5d66-4b0e-9c1e-0a1d3c7a9f10", True),
        ("tag:show.example,2026:ep-1", True),
        ("show-0001", False),
        ("feedtool:show:013ed324a239dd87fc7fe98a8d2f99ae", False),  # a derived GUID: no registered scheme
        ("https://show.example", False),  # canonically https://show.example/
        ("HTTPS://show.example/1", False),
        ("https://show.example:443/1", False),
        ("https://show.example/a b", False),
        ("https://show.example/caf\u00e9", False),
        ("https://show.example/%7Euser", False),
        ("https://show.example/a/../b", False),
        ("12345", False),
    ],
    ids=lambda v: str(v),
)
def test_atom_id_keeps_only_canonical_iris(guid: str, kept: bool) -> None:
    made = atom_id("show", guid)
    assert (made == guid) is kept
    assert is_atom_id(made)
    assert made == atom_id("show", guid)
    assert (made == atom_id("other-show", guid)) is kept  # a made id is the show's own
