"""config.yaml -> a validated, frozen Config; every problem reported with its location.

The whole file is checked before anything runs, and all problems are reported at
once, e.g. ``shows.interconnects.sources[1]: unknown source kind 'rsss'``. A source
is checked by its kind (``feedtool.sources.KINDS``): which options it takes, their
defaults, and what a location of that kind must look like.

Secrets stay out of the file: ``${NAME}`` in any string value reads the environment
variable NAME (``$$`` is a literal ``$``; any other ``$`` stays as written, so a
regex's ``foo$`` keeps working), and any key ``k`` may be written ``k_file: path``
to read its value from a file (systemd credentials, Docker secrets). Both are
expanded in one walk over the YAML tree (``_Expander``) before anything is
validated; the values they produced, and every password and header value, are
secrets that ``feedtool.redact`` masks wherever they would be shown.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from feedtool import redact
from feedtool.errors import ConfigError, FeedtoolError, FilterError, PatternError
from feedtool.filters import PARAMS as _FILTER_KEYS
from feedtool.filters import REGEX_PARAMS, Filter, check_tags, parse_filter
from feedtool.model import TAG_FIELDS, Credentials, Matcher, Rules, ShowInfo, TagRule
from feedtool.patterns import Rule, RuleBudget, compile_rule
from feedtool.sources import KINDS, Kind

log = logging.getLogger(__name__)

ENV_VAR = "FEEDTOOL_CONFIG"
DEFAULT_PATH = "config.yaml"

#: Control characters (C0 but tab and line breaks, DEL, C1), surrogates, U+FFFE, U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: A control character in a regex is almost always YAML's double quotes at work.
_QUOTES_HINT = (
    r"; a regex cannot match it in a title: in double quotes YAML reads '\b' as a backspace,"
    r" so write regexes in single quotes, e.g. '\bAI\b'"
)
#: A location without a scheme that looks like a URL: host:port/..., or a domain then a path.
_HOST_PORT = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}(?:/|$)")
_HOST_PATH = re.compile(r"^(?:localhost|(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}|\d{1,3}(?:\.\d{1,3}){3})/")
_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_SHOW_INFO_KEYS = ("description", "link", "language", "image", "author", "categories", "explicit")
_SIZE = re.compile(r"(\d{1,15})\s*(b|kb|mb|gb)?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
#: ${NAME} (an environment variable) or $$ (a literal $); any other $ is left as written.
_REFERENCE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\})")
#: Keys beside a source's kind that carry what it sends upstream.
_CREDENTIAL_KEYS = ("username", "password", "headers")
#: An HTTP header name (RFC 9110's token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Headers a source may not set: requests computes them, or they are hop-by-hop.
_REFUSED_HEADERS = frozenset(
    {"host", "content-length", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
     "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"}
)  # fmt: skip
#: An access key: printable ASCII without spaces (it travels in a URL), long enough not to guess.
_ACCESS_KEY = re.compile(r"[!-~]{16,256}")


@dataclass(frozen=True)
class SourceConfig:
    """One source listing of a show: its kind, where to read it, and its kind's options."""

    kind: str  # a key of feedtool.sources.KINDS
    location: str  # an http(s) URL, or an absolute local path
    #: The options the kind takes (defaults filled in), e.g. radionet's {"api": URL}.
    options: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Basic auth and headers, sent only to the location's own origin; never in a repr.
    credentials: Credentials | None = field(default=None, hash=False, compare=False, repr=False)

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))


@dataclass(frozen=True)
class ShowConfig:
    id: str
    sources: tuple[SourceConfig, ...]
    title: str | None = None
    tags: tuple[TagRule, ...] = ()
    strip: tuple[Matcher, ...] = ()
    cap: int | None = None
    #: Show metadata set in the config; each field given wins over the sources'.
    overrides: ShowInfo = field(default_factory=ShowInfo)
    #: Served only with a listener's access key (``private: true``) ...
    private: bool = False
    #: ... of these listeners only (``private: [alice, bob]``); None: any listener's.
    readers: frozenset[str] | None = None

    @functools.cached_property
    def tag_names(self) -> frozenset[str]:
        """The names of the show's tag rules."""
        return frozenset(rule.name for rule in self.tags)

    @property
    def rules(self) -> Rules:
        """The show's tag and strip rules, as the update step takes them."""
        return Rules(self.tags, self.strip)

    @property
    def rules_digest(self) -> str:
        """Changes whenever the tag rules change, so stored tags can be recomputed."""
        spec = [[r.name, [p.source for p in r.patterns], list(r.fields)] for r in self.tags]
        spec.append(["strip", [p.source for p in self.strip], []])
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]

    def within(self, budget: RuleBudget) -> ShowConfig:
        """This show with all its tag and strip rules sharing one time budget."""
        tags = tuple(replace(r, patterns=tuple(_within(p, budget) for p in r.patterns)) for r in self.tags)
        return replace(self, tags=tags, strip=tuple(_within(p, budget) for p in self.strip))


def _within(matcher: Matcher, budget: RuleBudget) -> Matcher:
    assert isinstance(matcher, Rule)  # the config compiles every rule as a bounded Rule
    return matcher.within(budget)


@dataclass(frozen=True)
class FeedConfig:
    """A named, filtered feed of one show."""

    name: str
    show: str
    title: str | None = None
    description: str | None = None
    filter: Filter = field(default_factory=Filter)
    #: Private if it says so or if its show is; readers as in ShowConfig.
    private: bool = False
    readers: frozenset[str] | None = None

    def readable_by(self, listener: str | None) -> bool:
        """Whether this feed is served to a request of this listener (None: no valid key)."""
        if not self.private:
            return True
        return listener is not None and (self.readers is None or listener in self.readers)


@dataclass(frozen=True)
class FetchConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0
    retries: int = 3
    retry_after_cap: float = 120.0
    max_bytes: int = 50 * 10**6
    concurrency: int = 4
    user_agent: str | None = None


@dataclass(frozen=True)
class ServerConfig:
    max_age: int = 300
    stale_after: int = 2 * 86400
    regex_timeout: float = 0.5
    latest: int = 5
    #: Seconds a reader (the server, `feedtool episodes`, `export`) waits for a writer's lock.
    busy_timeout: float = 30.0
    #: Listener name -> access key for private shows and feeds; never in a repr.
    access_keys: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)


@dataclass(frozen=True)
class Config:
    path: Path
    #: A SQLite file, or a ``postgresql://`` URL (which may hold a password: never shown).
    store: Path | str
    shows: Mapping[str, ShowConfig]
    feeds: Mapping[str, FeedConfig]
    digest: str = ""  # of what the file and its references give, the store aside: rendered feeds depend on it
    base_url: str | None = None
    fetch: FetchConfig = field(default_factory=FetchConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    #: Every value from ${VAR} or a *_file, every password and header value: masked when shown.
    secrets: frozenset[str] = field(default=frozenset(), repr=False)

    def feed_names(self) -> list[str]:
        """Every name served under /feeds/: each show, then each named feed."""
        return [*self.shows, *self.feeds]

    def feed(self, name: str) -> FeedConfig | None:
        """The named feed, or a show's unfiltered feed, by URL name."""
        return self._feeds_by_name.get(name)

    @functools.cached_property
    def _feeds_by_name(self) -> dict[str, FeedConfig]:
        # Made once: every feed request asks for its feed more than once.
        shows = {
            name: FeedConfig(name=name, show=name, private=show.private, readers=show.readers)
            for name, show in self.shows.items()
        }
        return {**shows, **self.feeds}


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the config is: the explicit path, else $FEEDTOOL_CONFIG, else ./config.yaml."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def is_id(text: str) -> bool:
    """Whether text can be a show, named feed or tag id: a-z, 0-9 and '-', at most 64 characters.

    >>> is_id("my-show"), is_id("My_Show"), is_id("-x"), is_id("x" * 65)
    (True, False, False, False)
    """
    return _ID.fullmatch(text) is not None


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem."""
    resolved = config_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(resolved), [f"cannot read the file: {exc}"]) from exc
    return parse(text, resolved)


def parse(text: str, path: Path) -> Config:
    """Validate config text; relative paths are taken from the file's folder."""
    problems: list[str] = []
    try:
        # A named stream: PyYAML's messages then say which file, not "<unicode string>".
        stream = io.StringIO(text)
        stream.name = str(path)
        data = yaml.load(stream, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from exc
    except _DuplicateKey as exc:
        raise ConfigError(str(path), [str(exc)]) from exc
    expander = _Expander(problems, path.parent.resolve())
    data = expander.walk(data, "")
    reader = _Reader(problems, path.parent.resolve())
    config = reader.config(data, path)
    secrets = frozenset(expander.secrets | reader.secrets)
    redact.remember(secrets)
    if problems or config is None:
        # A message may quote a value that came from a secret (a bad URL with a token).
        raise ConfigError(str(path), [redact.mask_known(p) for p in problems] or ["empty config"])
    # What the environment and files gave is part of the config: feeds rendered from it
    # change with it. Where the store is is not: feeds name it by its identity (issue
    # 17: web nodes reaching one database by different URLs give the same ETags), and
    # nor are comments and layout.
    served = {k: v for k, v in data.items() if k not in ("store", "store_file")} if isinstance(data, dict) else data
    digest = hashlib.sha256(json.dumps(served, sort_keys=True, default=str).encode())
    return replace(config, digest=digest.hexdigest()[:16], secrets=secrets)


class _Expander:
    """Expands ${NAME} and *_file keys in the YAML tree, recording the values as secrets."""

    def __init__(self, problems: list[str], base: Path) -> None:
        self.problems = problems
        self.base = base
        self.secrets: set[str] = set()
        #: The key paths whose values came from the environment or a file.
        self.paths: set[str] = set()

    def walk(self, value: Any, where: str) -> Any:
        """The value with every reference expanded (a new tree; the input is not changed)."""
        if isinstance(value, str):
            return self.expand(value, where)
        if isinstance(value, list):
            return [self.walk(item, f"{where}[{index}]") for index, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.endswith("_file") and len(key) > len("_file"):
                target = key[: -len("_file")]
                here = _join(where, target)
                if target in value:
                    self.problems.append(f"{here}: give {target} or {key}, not both")
                    continue
                content = self.read(item, _join(where, key))
                if content is not None:
                    result[target] = content
                    self.paths.add(here)
            else:
                result[key] = self.walk(item, _join(where, str(key)))
        return result

    def expand(self, text: str, where: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "$"
            found = os.environ.get(name)
            if found is None:
                self.problems.append(f"{where}: environment variable {name} is not set")
                return ""
            self.paths.add(where)
            if found:
                self.secrets.add(found)
            return found

        return _REFERENCE.sub(substitute, text) if "$" in text else text

    def read(self, value: Any, where: str) -> str | None:
        """A *_file key's content, one trailing line break stripped (what `echo x >file` adds)."""
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{where}: expected the path of a file, got {_kind(value)}")
            return None
        path = self.base / self.expand(value.strip(), where)
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            self.problems.append(f"{where}: cannot read {path}: {reason}")
            return None
        content = content.removesuffix("\n").removesuffix("\r")
        if content:
            self.secrets.add(content)
        return content


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class _DuplicateKey(Exception):
    pass


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of keeping the last one, and
    numbers too long to read (int() refuses more than 4,300 digits) with their line."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(str(node.value)):,} characters is too long", node.start_mark
            ) from exc

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(f"line {line}: duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


class _Reader:
    """Walks the YAML data, building frozen objects and collecting problems."""

    def __init__(self, problems: list[str], base: Path) -> None:
        self.problems = problems
        self.base = base
        self.regex_timeout = ServerConfig.regex_timeout
        #: Passwords and header values: masked wherever they would be shown.
        self.secrets: set[str] = set()
        #: Named feeds' filters whose tags are checked once the store's path is known.
        self.tag_checks: list[tuple[str, ShowConfig, Filter]] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(where, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.problem(
                    f"{where}.{key}" if where else str(key), f"unknown key (expected one of: {', '.join(allowed)})"
                )
        return value

    def string(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"expected a non-empty string, got {_kind(value)}")
            return None
        if not self.printable(value, where):
            return None
        return value.strip()

    def printable(self, value: str, where: str, hint: str = "") -> bool:
        """Whether a string can go into a feed: no control characters (tab and line
        breaks aside) and nothing XML forbids, which YAML's escapes can write."""
        found = _UNPRINTABLE.search(value)
        if found is None:
            return True
        char = found.group()
        kind = (
            "the control character"
            if unicodedata.category(char) == "Cc"
            else "the lone surrogate"
            if unicodedata.category(char) == "Cs"
            else "the non-character"
        )
        hint = hint if kind == "the control character" else ""
        self.problem(where, f"contains {kind} U+{ord(char):04X} at position {found.start() + 1}{hint}")
        return False

    def number(self, value: Any, where: str, default: float, low: float, high: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            self.problem(where, f"expected a number from {low:g} to {high:g}, got {value!r}")
            return default
        return float(value)

    def integer(self, value: Any, where: str, default: int, low: int, high: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(where, f"expected a whole number from {low} to {high}, got {value!r}")
            return default
        return value

    def strings(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(where, f"expected a list of strings, got {_kind(value)}")
            return []
        result = []
        for index, item in enumerate(value):
            if isinstance(item, str) and item:
                result.append(item)
            else:
                self.problem(f"{where}[{index}]", f"expected a non-empty string, got {_kind(item)}")
        return result

    def patterns(self, value: Any, where: str) -> tuple[Rule, ...]:
        compiled = []
        for index, source in enumerate(self.strings(value, where)):
            if not self.printable(source, f"{where}[{index}]", _QUOTES_HINT):
                continue
            try:
                compiled.append(compile_rule(source, f"{where}[{index}]", self.regex_timeout))
            except PatternError as exc:
                self.problem(f"{where}[{index}]", f"bad regex {exc.value!r}: expected {exc.accepted}")
        return tuple(compiled)

    def identifier(self, value: Any, where: str) -> bool:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            self.problem(where, f"bad id {value!r}: use a-z, 0-9 and '-' (it appears in URLs)")
            return False
        return True

    def url(self, value: Any, where: str) -> str | None:
        text = self.string(value, where)
        if text is None:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem(where, f"bad URL {text!r}: expected http:// or https:// with a host")
            return None
        return text.rstrip("/")

    # --- sections -----------------------------------------------------------------

    def config(self, data: Any, path: Path) -> Config | None:
        top = self.mapping(data, "", ("store", "base_url", "fetch", "server", "shows", "feeds"))
        if top is None:
            return None
        store = self.string(top.get("store"), "store") or "feedtool.sqlite"
        base_url = self.url(top["base_url"], "base_url") if "base_url" in top else None
        server = self.server(top.get("server"))
        self.regex_timeout = server.regex_timeout  # the time bound of the rules compiled below
        shows = self.shows(top.get("shows"))
        if not shows and "shows" not in top:
            self.problem("shows", "missing: configure at least one show")
        feeds = self.feeds(top.get("feeds"), shows)
        self.check_readers(shows, feeds, server.access_keys)
        location = _store_location(self.base, store)
        if isinstance(location, str):
            self.secrets.update(redact.url_secrets(location))  # its password, masked wherever it would appear
        self.feed_tags(location, server.busy_timeout)
        return Config(
            path=path,
            store=location,
            shows=shows,
            feeds=feeds,
            base_url=base_url,
            fetch=self.fetch(top.get("fetch")),
            server=server,
        )

    def fetch(self, data: Any) -> FetchConfig:
        d = FetchConfig()
        section = self.mapping(data, "fetch", tuple(vars(d))) or {}

        def number(key: str, low: float, high: float) -> float:
            return self.number(section.get(key), f"fetch.{key}", getattr(d, key), low, high)

        def integer(key: str, low: int, high: int) -> int:
            return self.integer(section.get(key), f"fetch.{key}", getattr(d, key), low, high)

        return FetchConfig(
            connect_timeout=number("connect_timeout", 0.1, 600),
            read_timeout=number("read_timeout", 0.1, 600),
            deadline=number("deadline", 0.1, 3600),
            retries=integer("retries", 1, 10),
            retry_after_cap=number("retry_after_cap", 0, 3600),
            max_bytes=self.size(section.get("max_bytes"), "fetch.max_bytes", d.max_bytes),
            concurrency=integer("concurrency", 1, 32),
            user_agent=self.string(section.get("user_agent"), "fetch.user_agent"),
        )

    def size(self, value: Any, where: str, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str) and (m := _SIZE.fullmatch(value.strip())):
            return int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
        self.problem(where, f"expected a size in bytes such as 50000000 or '50MB', got {value!r}")
        return default

    def server(self, data: Any) -> ServerConfig:
        d = ServerConfig()
        section = self.mapping(data, "server", tuple(vars(d))) or {}

        def integer(key: str, low: int, high: int) -> int:
            return self.integer(section.get(key), f"server.{key}", getattr(d, key), low, high)

        return ServerConfig(
            max_age=integer("max_age", 0, 86400 * 365),
            stale_after=integer("stale_after", 60, 86400 * 365),
            regex_timeout=self.number(section.get("regex_timeout"), "server.regex_timeout", d.regex_timeout, 0.01, 10),
            latest=integer("latest", 0, 100),
            busy_timeout=self.number(section.get("busy_timeout"), "server.busy_timeout", d.busy_timeout, 0.01, 600),
            access_keys=self.access_keys(section.get("access_keys")),
        )

    def access_keys(self, data: Any) -> dict[str, str]:
        """Listener name -> key; problems name the listener, never a key."""
        where = "server.access_keys"
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(where, f"expected a mapping of listener names to keys, got {_kind(data)}")
            return {}
        keys: dict[str, str] = {}
        owners: dict[str, str] = {}
        for name, key in data.items():
            here = f"{where}.{name}"
            if not self.identifier(name, here):
                continue
            if not isinstance(key, str) or _ACCESS_KEY.fullmatch(key) is None:
                self.problem(
                    here,
                    "expected a key of 16 to 256 printable ASCII characters without spaces"
                    " (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(24))')",
                )
                continue
            if key in owners:
                self.problem(here, f"the same key as listener {owners[key]!r}: give each listener their own")
                continue
            owners[key] = name
            keys[name] = key
        return keys

    def privacy(self, value: Any, where: str) -> tuple[bool | None, frozenset[str] | None]:
        """``private:`` as (private, readers): true, false or a list of listener names."""
        if value is None or isinstance(value, bool):
            return value, None
        names = self.strings(value, where) if isinstance(value, list) else None
        if names is None or not names:
            self.problem(where, f"expected true, false or a list of listener names, got {_kind(value)}")
            return None, None
        return True, frozenset(names)

    def check_readers(
        self, shows: Mapping[str, ShowConfig], feeds: Mapping[str, FeedConfig], keys: Mapping[str, str]
    ) -> None:
        """A private show or feed must be readable by someone with a key the config defines."""
        private = [(f"shows.{s.id}", s.readers) for s in shows.values() if s.private]
        private += [(f"feeds.{f.name}", f.readers) for f in feeds.values() if f.private]
        for where, readers in private:
            if not keys:
                self.problem(f"{where}.private", "nobody could read it: define server.access_keys (listener: key)")
                continue
            for name in sorted(readers or ()):
                if name not in keys:
                    self.problem(f"{where}.private", f"unknown listener {name!r}: not in server.access_keys")
            if readers is not None and not readers:
                self.problem(f"{where}.private", "nobody could read it: no listener reads both the show and the feed")

    def shows(self, data: Any) -> dict[str, ShowConfig]:
        section = data if isinstance(data, dict) else None
        if data is not None and section is None:
            self.problem("shows", f"expected a mapping of show ids, got {_kind(data)}")
        shows: dict[str, ShowConfig] = {}
        for show_id, body in (section or {}).items():
            where = f"shows.{show_id}"
            if not self.identifier(show_id, where):
                continue
            show = self.show(show_id, body, where)
            if show is not None:
                shows[show_id] = show
        return shows

    def show(self, show_id: str, data: Any, where: str) -> ShowConfig | None:
        keys = ("title", "sources", "tags", "strip", "cap", "private", *_SHOW_INFO_KEYS)
        section = self.mapping(data, where, keys)
        if section is None:
            return None
        sources = self.sources(section.get("sources"), f"{where}.sources")
        private, readers = self.privacy(section.get("private"), f"{where}.private")
        return ShowConfig(
            private=bool(private),
            readers=readers,
            id=show_id,
            sources=sources,
            title=self.string(section.get("title"), f"{where}.title"),
            overrides=self.show_info(section, where),
            tags=self.tags(section.get("tags"), f"{where}.tags"),
            strip=self.patterns(section.get("strip"), f"{where}.strip"),
            cap=None
            if section.get("cap") is None
            else self.integer(section["cap"], f"{where}.cap", 0, 1, 10**7) or None,
        )

    def show_info(self, section: dict[str, Any], where: str) -> ShowInfo:
        categories = []
        for index, text in enumerate(self.strings(section.get("categories"), f"{where}.categories")):
            if not self.printable(text, f"{where}.categories[{index}]"):
                continue
            parts = tuple(p.strip() for p in text.split("/") if p.strip())
            if not 1 <= len(parts) <= 2:
                self.problem(
                    f"{where}.categories[{index}]", f"expected 'Category' or 'Category/Subcategory', got {text!r}"
                )
            else:
                categories.append(parts)
        explicit = section.get("explicit")
        if explicit is not None and not isinstance(explicit, bool):
            self.problem(f"{where}.explicit", f"expected true or false, got {explicit!r}")
            explicit = None
        return ShowInfo(
            description=self.string(section.get("description"), f"{where}.description"),
            link=self.url(section["link"], f"{where}.link") if "link" in section else None,
            language=self.string(section.get("language"), f"{where}.language"),
            image=self.url(section["image"], f"{where}.image") if "image" in section else None,
            author=self.string(section.get("author"), f"{where}.author"),
            categories=tuple(categories),
            explicit=explicit,
        )

    def sources(self, data: Any, where: str) -> tuple[SourceConfig, ...]:
        if data is None or data == []:
            *others, last = KINDS
            names = f"{', '.join(others)} or {last}" if others else last
            self.problem(where, f"missing: list at least one source ({names})")
            return ()
        if not isinstance(data, list):
            self.problem(where, f"expected a list, got {_kind(data)}")
            return ()
        sources = []
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(data):
            source = self.source(item, f"{where}[{index}]")
            if source is None:
                continue
            if (source.kind, source.location) in seen:
                self.problem(f"{where}[{index}]", f"duplicate source {source.location!r}")
            seen.add((source.kind, source.location))
            sources.append(source)
        return tuple(sources)

    def source(self, data: Any, where: str) -> SourceConfig | None:
        if not isinstance(data, dict) or not data:
            self.problem(where, f"expected a mapping such as {{{next(iter(KINDS))}: URL}}, got {_kind(data)}")
            return None
        named = [key for key in data if key in KINDS]
        # option name -> the kinds that take it
        owners: dict[str, list[str]] = {}
        for each in KINDS.values():
            for option in each.options:
                owners.setdefault(option.name, []).append(each.key)
        for key in data:
            if key not in KINDS and key not in owners and key not in _CREDENTIAL_KEYS:
                self.problem(where, f"unknown source kind {key!r} (expected one of: {', '.join(KINDS)})")
        if len(named) != 1:
            if len(named) > 1:
                self.problem(where, f"one kind per source, got {', '.join(named)}")
            return None
        kind = KINDS[named[0]]
        location = self.location(data[kind.key], f"{where}.{kind.key}")
        options = self.options(kind, data, owners, where)
        credentials = self.credentials(data, where, location)
        if location is None:
            return None
        problem = kind.check(location)
        if problem is not None:
            self.problem(f"{where}.{kind.key}", problem)
            return None
        return SourceConfig(kind=kind.key, location=location, options=options, credentials=credentials)

    def credentials(self, data: dict[str, Any], where: str, location: str | None) -> Credentials | None:
        """A source's username, password and headers, checked; None when it has none."""
        given = [key for key in _CREDENTIAL_KEYS if key in data]
        if not given:
            return None
        username = self.secret(data.get("username"), f"{where}.username") if "username" in data else None
        password = self.secret(data.get("password"), f"{where}.password") if "password" in data else None
        if ("username" in data) != ("password" in data):
            missing = "password" if "username" in data else "username"
            self.problem(f"{where}.{missing}", "missing: basic auth takes both a username and a password")
        if username is not None and ":" in username:
            self.problem(f"{where}.username", "a basic auth username cannot contain ':'")
        if password is not None:
            self.secrets.add(password)
        headers = self.headers(data["headers"], f"{where}.headers") if "headers" in data else ()
        if username is not None and any(name.lower() == "authorization" for name, _ in headers):
            self.problem(f"{where}.headers", "an Authorization header and a username/password: give one of them")
        if location is None:
            return None
        if not location.startswith(("http://", "https://")):
            self.problem(f"{where}.{given[0]}", "only a source read over HTTP takes credentials, not a local file")
            return None
        if username is None or password is None:
            username = password = None
        return Credentials(redact.origin(location), username, password, headers)

    def secret(self, value: Any, where: str) -> str | None:
        """A credential: a string without line breaks (it goes into a header); never echoed."""
        if not isinstance(value, str) or not value:
            self.problem(where, f"expected a non-empty string, got {_kind(value)}")
            return None
        if any(char in value for char in "\r\n\x00"):
            self.problem(where, "contains a line break or NUL, which no HTTP header can carry")
            return None
        return value

    def headers(self, value: Any, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict) or not value:
            self.problem(where, f"expected a mapping of header names to values, got {_kind(value)}")
            return ()
        headers = []
        seen: set[str] = set()
        for name, text in value.items():
            here = f"{where}.{name}"
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
                self.problem(here, f"bad header name {name!r}")
                continue
            if name.lower() in _REFUSED_HEADERS:
                self.problem(here, "feedtool sets this header itself; a source cannot")
                continue
            if name.lower() in seen:
                self.problem(here, "duplicate header (names are case-insensitive)")
                continue
            seen.add(name.lower())
            checked = self.secret(text, here)
            if checked is not None:
                self.secrets.add(checked)
                headers.append((name, checked))
        return tuple(headers)

    def options(self, kind: Kind, data: dict[str, Any], owners: dict[str, list[str]], where: str) -> dict[str, str]:
        """The options a source of this kind takes, checked, defaults filled in."""
        for key in data:
            if key in owners and kind.option(key) is None:
                other = KINDS[owners[key][0]].option(key)
                assert other is not None
                self.problem(f"{where}.{key}", f"only {' and '.join(owners[key])} sources take {other.label}")
        options = {}
        for option in kind.options:
            here = f"{where}.{option.name}"
            if option.name not in data:
                value = option.default
            elif option.type == "url":
                value = self.url(data[option.name], here)
            else:
                value = self.string(data[option.name], here)
            if value is not None:
                options[option.name] = value
        return options

    def location(self, value: Any, where: str) -> str | None:
        text = self.string(value, where)
        if text is None:
            return None
        if "://" in text:
            # A token in the URL (Substack, Patreon) is a secret like a password.
            self.secrets.update(redact.url_secrets(text))
            return self.url(text, where)
        path = (self.base / text).resolve()
        if _HOST_PORT.match(text) or (_HOST_PATH.match(text) and not path.exists()):
            # Read as a file, it would fail at every refresh from cron: say so now.
            self.problem(
                where,
                f"{text!r} has no scheme, so it would be read as the local file {path}; "
                f"for a URL write 'http://{text}' (or https://); local paths are relative to the config file",
            )
            return None
        return str(path)

    def tags(self, data: Any, where: str) -> tuple[TagRule, ...]:
        if data is None:
            return ()
        if not isinstance(data, dict):
            self.problem(where, f"expected a mapping of tag names, got {_kind(data)}")
            return ()
        rules = []
        for name, body in data.items():
            here = f"{where}.{name}"
            if not self.identifier(name, here):
                continue
            section = self.mapping(body, here, ("match", "fields"))
            if section is None:
                continue
            patterns = self.patterns(section.get("match"), f"{here}.match")
            if not patterns and "match" not in section:
                self.problem(f"{here}.match", "missing: give at least one regex")
            fields = tuple(self.strings(section.get("fields"), f"{here}.fields")) or TAG_FIELDS
            for index, name_ in enumerate(fields):
                if name_ not in TAG_FIELDS:
                    self.problem(f"{here}.fields[{index}]", f"unknown field {name_!r} (expected title or description)")
            rules.append(TagRule(name=name, patterns=patterns, fields=fields))
        return tuple(rules)

    def feeds(self, data: Any, shows: Mapping[str, ShowConfig]) -> dict[str, FeedConfig]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem("feeds", f"expected a mapping of feed names, got {_kind(data)}")
            return {}
        feeds = {}
        for name, body in data.items():
            where = f"feeds.{name}"
            if not self.identifier(name, where):
                continue
            if name in shows:
                self.problem(where, f"duplicate id: {name!r} is already a show (both would be /feeds/{name}.rss)")
                continue
            section = self.mapping(body, where, ("show", "title", "description", "filter", "private"))
            if section is None:
                continue
            show = self.string(section.get("show"), f"{where}.show")
            if section.get("show") is None:
                self.problem(f"{where}.show", "missing: name the show this feed filters")
            elif show is not None and show not in shows:
                self.problem(f"{where}.show", f"unknown show {show!r}")
            raw_filter = section.get("filter")
            flt = Filter()
            if raw_filter is not None and not isinstance(raw_filter, dict):
                self.problem(f"{where}.filter", f"expected a mapping of filter parameters, got {_kind(raw_filter)}")
            elif raw_filter:
                flt = self.filter(raw_filter, f"{where}.filter")
                if show is not None and show in shows:
                    self.tag_checks.append((f"{where}.filter", shows[show], flt))
            private, readers = self.privacy(section.get("private"), f"{where}.private")
            if show is not None and show in shows and shows[show].private:
                # A filtered view of a private show is as private as the show (issue 14).
                if private is False:
                    self.problem(f"{where}.private", f"a named feed cannot make the private show {show!r} public")
                owner = shows[show].readers
                readers = owner if readers is None else readers if owner is None else readers & owner
                private = True
            if show is not None:
                feeds[name] = FeedConfig(
                    private=bool(private),
                    readers=readers,
                    name=name,
                    show=show,
                    title=self.string(section.get("title"), f"{where}.title"),
                    description=self.string(section.get("description"), f"{where}.description"),
                    filter=flt,
                )
        return feeds

    def filter(self, raw: dict[Any, Any], where: str) -> Filter:
        """A named feed's filter, with every unknown name and invalid value reported."""
        valid = True
        case = {"filter_case_sensitive": raw["filter_case_sensitive"]} if "filter_case_sensitive" in raw else {}
        for key, value in raw.items():
            if key not in _FILTER_KEYS:
                # Apps may add their own query parameters, so URLs ignore unknown names;
                # in the config an unknown name can only be a mistake.
                self.problem(f"{where}.{key}", f"unknown filter parameter (expected one of: {', '.join(_FILTER_KEYS)})")
                valid = False
                continue
            # Filter values end up in feed titles, as "(search: ...)".
            texts = [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)]
            hint = _QUOTES_HINT if key in REGEX_PARAMS else ""
            if not all([self.printable(t, f"{where}.{key}", hint) for t in texts]):
                valid = False
                continue
            try:  # one parameter at a time, so that every invalid value is reported
                parse_filter({**case, key: value})
            except FilterError as exc:
                if exc.param == key:
                    self.problem(f"{where}.{exc.param}", f"{exc.value!r}: expected {exc.accepted}")
                    valid = False
        if not valid:
            return Filter()
        try:
            return parse_filter(raw)
        except FilterError as exc:
            self.problem(f"{where}.{exc.param}", f"{exc.value!r}: expected {exc.accepted}")
            return Filter()

    def feed_tags(self, store: Path | str, busy_timeout: float) -> None:
        """Report named feeds' tags that no rule of their show defines and no stored
        episode carries (upstream categories become tags too, so the store is asked)."""
        stored: dict[str, list[str] | None] = {}
        for where, show, flt in self.tag_checks:
            known = [r.name for r in show.tags]
            if not set(flt.tags + flt.exclude_tags) <= set(known):
                if show.id not in stored:
                    stored[show.id] = _stored_tags(store, show.id, busy_timeout)
                tags = stored[show.id]
                if tags is None:
                    continue  # the store cannot say now: a passing lock or fault must not stop a server
                known += tags
            try:
                check_tags(flt, known)
            except FilterError as exc:
                self.problem(f"{where}.{exc.param}", f"{exc.value!r}: expected {exc.accepted}")


def _store_location(base: Path, store: str) -> Path | str:
    """A postgresql:// URL as written, else the SQLite file's path relative to the config."""
    from feedtool.store.postgres import is_postgresql  # the store imports the config's neighbours

    return store if is_postgresql(store) else (base / store).resolve()


def _stored_tags(store: Path | str, show_id: str, busy_timeout: float) -> list[str] | None:
    """The tags a show's stored episodes carry (none before the first refresh); None
    when the store cannot be read now."""
    if isinstance(store, Path) and not store.is_file():
        return []
    from feedtool.store import open_store  # the store imports the config's neighbours, not the config

    try:
        with open_store(store, read_only=True, busy_timeout=busy_timeout) as opened:
            return list(opened.tag_counts(show_id))
    except FeedtoolError as exc:
        log.warning(
            "cannot read the tags stored in %s, so named feeds' tags are not checked: %s",
            redact.operator_location(str(store)),
            exc,
        )
        return None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
