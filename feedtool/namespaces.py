"""Every XML namespace URI feedtool reads or writes, once: for the RSS parser, the
renderer and the linter.

Feeds in the wild miscase URIs, add or drop a trailing slash, and use superseded URIs
for the Podcasting 2.0 namespace; ``key`` and ``LEGACY`` say which spellings mean the
same namespace.
"""

from __future__ import annotations

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
#: Podcasting 2.0 (https://podcastindex.org/namespace/1.0), its official URI.
PODCAST = "https://podcastindex.org/namespace/1.0"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
#: Podlove Simple Chapters.
PSC = "http://podlove.org/simple-chapters"
DC = "http://purl.org/dc/elements/1.1/"
GOOGLEPLAY = "http://www.google.com/schemas/play-podcasts/1.0"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XHTML = "http://www.w3.org/1999/xhtml"
#: The ``xml:`` prefix's namespace (``xml:lang``, ``xml:base``), never declared.
XML = "http://www.w3.org/XML/1998/namespace"
#: RSS 1.0 and RSS 0.90, whose elements read like RSS 2.0's.
RSS_1_0 = "http://purl.org/rss/1.0/"
RSS_0_90 = "http://my.netscape.com/rdf/simple/0.9/"

#: The podcast namespaces by their usual prefix: apps expect exactly these URIs.
PODCAST_NAMESPACES = {
    "itunes": ITUNES,
    "podcast": PODCAST,
    "content": CONTENT,
    "atom": ATOM,
    "media": MEDIA,
    "psc": PSC,
    "dc": DC,
    "googleplay": GOOGLEPLAY,
}

#: Superseded URIs still seen in the wild, by the prefix of the namespace they mean.
LEGACY = {
    "podcast": (
        "http://podcastindex.org/namespace/1.0",
        "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
    ),
}


def key(uri: str) -> str:
    """A URI as compared with others: case, surrounding space and a trailing slash ignored.

    >>> key(" http://www.itunes.com/DTDs/Podcast-1.0.dtd/ ") == key(ITUNES)
    True
    """
    return uri.strip().lower().rstrip("/")


_MEANT = {key(uri): uri for uri in PODCAST_NAMESPACES.values()} | {
    key(uri): PODCAST_NAMESPACES[prefix] for prefix, uris in LEGACY.items() for uri in uris
}


def meant(uri: str) -> str | None:
    """The podcast namespace URI that a spelling of it means, or None for other namespaces.

    >>> meant("http://podcastindex.org/namespace/1.0"), meant("urn:other")
    ('https://podcastindex.org/namespace/1.0', None)
    """
    return _MEANT.get(key(uri))
