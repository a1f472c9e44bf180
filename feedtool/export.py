"""``feedtool export``: the site as static files, for any static server or CDN.

The files are the bytes the server gives for the same base URL: feeds under
feeds/, index.html and feeds.opml. Each is written atomically (a temporary file in
the same folder, flushed, then renamed over the old one), so a reader never sees a
half-written file even if the export is killed; an unchanged file is not rewritten.
Private shows and feeds (issue 14) are not exported: not their feeds, and not on the
index or in the OPML.

The pages for people (``/shows/...``, issue 15) are not exported: their form and
filters need the server. The exported index links feed files only (a tag to a named
feed of exactly that tag), with the pages' style sheet beside it in static/.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from feedtool.config import Config
from feedtool.errors import StoreError
from feedtool.filters import Filter
from feedtool.publish import FORMATS, Publisher, feed_url
from feedtool.store import Store


def export_site(config: Config, out: Path, base_url: str, flt: Filter) -> tuple[int, int]:
    """Write every public feed, the index, its style sheet and the OPML under out; return (written, unchanged)."""
    for folder in (out, out / "feeds", out / "static"):
        for stale in folder.glob(".*.tmp"):  # left by an export that was killed
            stale.unlink(missing_ok=True)
    written = kept = 0
    with Store(config.store, read_only=True, busy_timeout=config.server.busy_timeout) as store:
        publisher = Publisher(config, store)
        files: dict[Path, bytes] = {}
        for name in publisher.readable(None):  # public feeds only: a private one needs a key
            for fmt in FORMATS:
                self_url = feed_url(base_url, name, fmt, flt)
                files[out / "feeds" / f"{name}.{fmt}"] = publisher.feed(name, fmt, flt, self_url).body
        files[out / "feeds.opml"] = publisher.opml(base_url)
        files[out / "index.html"] = publisher.index(base_url, static=True)
        files[out / "static" / "feedtool.css"] = (
            resources.files("feedtool").joinpath("static", "feedtool.css").read_bytes()
        )
    for path, body in files.items():
        if write_atomically(path, body):
            written += 1
        else:
            kept += 1
    return written, kept


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
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(body)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    return True
