"""A commented starter config for a user's own show (``feedtool init``); pure text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from feedtool.sources import radionet

#: Written when no feed URL is given; a valid URL, so `feedtool check` passes on it.
PLACEHOLDER_URL = "https://example.org/podcast.rss"

_TEMPLATE = """\
# feedtool configuration for the show '{show}', written by `feedtool init`.
# Every key is described in README.md ("Configuration"); `feedtool --config {name} check`
# checks this file without fetching anything.

store: {show}.sqlite{store_pad}# SQLite file, relative to this file

shows:
  {show}:{show_pad}# show id: a-z, 0-9 and '-'; its feed is /feeds/{show}.rss
    sources:                        # one or more, merged into one episode list
      - {kind}: {url}{source_note}
      # - radionet: https://www.radio.net/podcast/<slug>   # a second source of the same show
    tags:                           # tag rules: each episode gets every tag whose regex matches
      interviews:
        match: ['\\binterview', '\\bconversation with\\b']   # regexes, case-insensitive; keep the single quotes
        fields: [title, description]

feeds:                              # named, filtered feeds, served like shows
  {show}-interviews:
    show: {show}
    title: "{show}: interviews"
    filter: {{tag: interviews}}       # same names and values as the HTTP query parameters
"""


def kind_of(url: str) -> str:
    """The source kind for a URL: ``radionet`` on radio.net or a sister site, else ``rss``."""
    # The kind owns its hosts; a radio.net URL that is not a podcast page is then
    # refused by the config check with an example of one, not fetched as a feed.
    return "radionet" if (urlsplit(url).hostname or "").lower() in radionet.HOSTS else "rss"


def starter_config(show: str, url: str | None, name: str = "config.yaml") -> str:
    """The text of a commented config with one show from ``url`` (else a placeholder),
    one tag rule and one named feed filtered by it; ``name`` is the file's name, for the hints."""
    source_note = "" if url else "   # replace with your show's feed URL"
    return _TEMPLATE.format(
        show=show,
        name=name,
        kind=kind_of(url) if url else "rss",
        url=_scalar(url or PLACEHOLDER_URL),
        source_note=source_note,
        store_pad=" " * max(1, 22 - len(show)),
        show_pad=" " * max(1, 33 - len(show)),
    )


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when safe, else single-quoted (``#`` or ``: `` would cut it)."""
    if re.fullmatch(r"[\w:/?=&%.~+@-]+", text):
        return text
    return "'" + text.replace("'", "''") + "'"
