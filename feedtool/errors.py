"""One exception tree for everything feedtool raises on purpose.

Each class also inherits the built-in it refines, so callers that only know Python's
exceptions still catch them; each is raised ``from`` its cause.
"""

from __future__ import annotations

from collections.abc import Sequence


class FeedtoolError(Exception):
    """Base of every error feedtool raises on purpose."""


class ConfigError(FeedtoolError, ValueError):
    """config.yaml is unreadable or invalid; lists every problem with its location."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid config {path}:\n{lines}")


class StartupConfigError(ConfigError, RuntimeError):
    """The web app cannot start on an invalid config.

    Also a RuntimeError because gunicorn prints such an error from ``--preload`` as one
    message and exits, instead of a traceback from every worker it then restarts.
    """


class FilterError(FeedtoolError, ValueError):
    """A filter parameter has a value that is not accepted."""

    def __init__(self, param: str, value: str, accepted: str) -> None:
        self.param = param
        self.value = value
        self.accepted = accepted
        super().__init__(f"{param}={value!r}: expected {accepted}")


class SourceError(FeedtoolError):
    """One source could not be refreshed; the others go on."""


class FetchError(SourceError, OSError):
    """A source listing could not be fetched (network, HTTP status, limits)."""


class ParseError(SourceError, ValueError):
    """Fetched bytes are not a listing of the expected kind."""


class DiscoveryError(FeedtoolError, LookupError):
    """A link leads to no source feedtool can read (``feedtool add``): no feed on the
    page, a feed link to something else, a show Apple Podcasts does not list."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class ConfigEditError(FeedtoolError, ValueError):
    """config.yaml cannot take a change as asked: the id is taken or not an id, or the file cannot be written."""


class StoreError(FeedtoolError, OSError):
    """The store file cannot be opened or written (disk, permissions, locking)."""


class LockedError(StoreError):
    """Another refresh holds the store's lock."""


class QueueError(FeedtoolError, ValueError):
    """The refresh queue cannot be used: its store is not PostgreSQL, or its database failed."""


class PatternError(FeedtoolError, ValueError):
    """A user's regular expression is refused: invalid, too long, or too large once compiled."""

    def __init__(self, value: str, accepted: str) -> None:
        self.value = value
        self.accepted = accepted
        super().__init__(f"{value!r}: expected {accepted}")


class RuleTimeoutError(SourceError, TimeoutError):
    """A tag or strip rule of config.yaml ran out of time; the source it ran for fails."""

    def __init__(self, where: str, source: str, reason: str, about: str) -> None:
        self.where = where
        self.source = source
        self.about = about
        super().__init__(f"{where}: the regex {source!r} {reason} on {about}; simplify it")
