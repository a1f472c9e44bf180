"""namespaces: which spellings of a namespace URI mean which podcast namespace."""

from __future__ import annotations

import pytest

from feedtool import namespaces

SPELLINGS = [
    ("http://www.itunes.com/dtds/podcast-1.0.dtd", namespaces.ITUNES),
    ("http://www.itunes.com/DTDs/Podcast-1.0.dtd", namespaces.ITUNES),
    (" http://www.w3.org/2005/Atom/ ", namespaces.ATOM),
    ("https://podcastindex.org/namespace/1.0", namespaces.PODCAST),
    ("http://podcastindex.org/namespace/1.0", namespaces.PODCAST),
    ("https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md", namespaces.PODCAST),
    ("https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md", namespaces.PODCAST),
    ("http://podlove.org/simple-chapters/", namespaces.PSC),
    ("http://www.google.com/schemas/play-podcasts/1.0", namespaces.GOOGLEPLAY),
    (namespaces.RDF, None),
    ("http://purl.org/rss/1.0/", None),
    ("urn:example", None),
]


@pytest.mark.parametrize(("uri", "meant"), SPELLINGS, ids=[u.strip() for u, _ in SPELLINGS])
def test_meant(uri: str, meant: str | None) -> None:
    assert namespaces.meant(uri) == meant


def test_every_podcast_namespace_is_its_own_meaning() -> None:
    for uri in namespaces.PODCAST_NAMESPACES.values():
        assert namespaces.meant(uri) == uri
