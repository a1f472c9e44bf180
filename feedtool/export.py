"""``feedtool export``: the site as static files, for any static server or CDN.

The files are the bytes the server gives for the same base URL: feeds under
feeds/, index.html and feeds.opml. Each is written atomically (a temporary file in
the same folder, flushed, then renamed over the old one), so a reader never sees a
half-written file even if the export is killed; an unchanged file is not rewritten.
Private shows and feeds are not exported by default: not their feeds, and not on the
index or in the OPML. With ``private=True`` each listener of ``server.access_keys``
gets a folder of their own, ``private/<token>/``, holding every feed they may read with
its index and OPML. A static server cannot ask for a key, so the unguessable folder
name is the key: it is derived from the listener's key (HMAC-SHA256), so it stays the
same from one export to the next and changes when the key does. Every export removes
the folders it did not write (listeners who are gone or whose key changed; all of
them without ``private``), so revoking a key in the config and exporting again takes
that listener's feeds offline.

The pages for people (``/shows/...``) are not exported: their form and filters need
the server. An exported index links feed files only (a tag to a named feed of exactly
that tag), with the pages' style sheet beside it in static/.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from feedtool.config import Config
from feedtool.errors import StoreError
from feedtool.files import replace_atomically
from feedtool.filters import Filter
from feedtool.publish import FORMATS, Publisher, feed_url
from feedtool.store import open_store

#: Where the listeners' folders are, under the output folder.
PRIVATE = "private"
#: Marks a listener's folder as feedtool's, so that only such folders are ever removed.
MARKER = ".feedtool-private"
_EMPTY_PAGE = b"<!doctype html><title>Not found</title><p>Nothing here.\n"


@dataclass(frozen=True)
class Exported:
    """What an export wrote: files written and unchanged, and each listener's private site URL."""

    written: int
    kept: int
    private: dict[str, str]  # listener -> the URL of their folder's OPML


def export_site(config: Config, out: Path, base_url: str, flt: Filter, *, private: bool = False) -> Exported:
    """Write every public feed, the index, its style sheet and the OPML under out; with
    ``private``, each listener's folder of the feeds they may read too."""
    for folder in (out, out / "feeds", out / "static"):
        for stale in folder.glob(".*.tmp"):  # left by an export that was killed
            stale.unlink(missing_ok=True)
    tokens = {name: folder_token(key) for name, key in config.server.access_keys.items()} if private else {}
    with open_store(config.store, read_only=True, busy_timeout=config.server.busy_timeout) as store:
        publisher = Publisher(config, store)
        files = _site(publisher, None, out, base_url, flt)
        sites = {}
        for name, token in tokens.items():
            site_url = f"{base_url}/{PRIVATE}/{token}"
            files |= _site(publisher, name, out / PRIVATE / token, site_url, flt)
            files[out / PRIVATE / token / MARKER] = b""
            sites[name] = f"{site_url}/feeds.opml"
        if tokens:
            # A static server that lists folders must not list the listeners' folders.
            files[out / PRIVATE / "index.html"] = _EMPTY_PAGE
    written = kept = 0
    for path, body in files.items():
        if write_atomically(path, body):
            written += 1
        else:
            kept += 1
    _remove_revoked(out / PRIVATE, set(tokens.values()))
    return Exported(written, kept, sites)


def folder_token(key: str) -> str:
    """The name of a listener's private folder: unguessable without their key, and stable.

    >>> folder_token("alice-key-0123456789abcdef") == folder_token("alice-key-0123456789abcdef")
    True
    """
    digest = hmac.new(key.encode("utf-8"), b"feedtool export folder", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode("ascii")


def _site(publisher: Publisher, listener: str | None, out: Path, base_url: str, flt: Filter) -> dict[Path, bytes]:
    """The files of one site: the feeds a listener may read (None: the public's), index and OPML."""
    files: dict[Path, bytes] = {}
    for name in publisher.readable(listener):
        for fmt in FORMATS:
            self_url = feed_url(base_url, name, fmt, flt)
            files[out / "feeds" / f"{name}.{fmt}"] = publisher.feed(name, fmt, flt, self_url).body
    files[out / "feeds.opml"] = publisher.opml(base_url, listener)
    files[out / "index.html"] = publisher.index(base_url, static=True, listener=listener)
    files[out / "static" / "feedtool.css"] = resources.files("feedtool").joinpath("static", "feedtool.css").read_bytes()
    return files


def _remove_revoked(folder: Path, keep: set[str]) -> None:
    """Remove the listeners' folders not written by this export (feedtool's own only):
    those of revoked or changed keys, and all of them when private feeds were not asked for."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.is_dir() and child.name not in keep and (child / MARKER).exists():
            try:
                shutil.rmtree(child)
            except OSError as exc:
                raise StoreError(f"cannot remove the revoked private folder {child.name}: {exc}") from exc


def write_atomically(path: Path, body: bytes) -> bool:
    """Replace path's content with body, atomically; False when it already had it."""
    try:
        if path.read_bytes() == body:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, body)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    return True
