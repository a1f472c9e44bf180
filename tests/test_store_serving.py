"""The server's kept store connection (issue 16): a cached feed reads only the data
version; another process's refresh, a deleted and a replaced store are seen by the
next request, through a real gunicorn worker that keeps its connection."""

from __future__ import annotations

import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedtool.config import load
from feedtool.errors import StoreError
from feedtool.refresh import refresh
from feedtool.store.serving import ServingStore
from feedtool.testing.feeds import feed, item
from feedtool.testing.servers import GUNICORN, feedtool_server

ONE = feed(item(1, title="First episode"))
TWO = feed(item(1, title="First episode") + item(2, title="Second episode"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "show.rss").write_bytes(ONE)
    config = tmp_path / "config.yaml"
    config.write_text("shows: {s: {sources: [{rss: show.rss}]}}\n")
    assert refresh(load(config)).ok
    return config


@pytest.fixture
def served(site: Path) -> Iterator[ServingStore]:
    store = ServingStore(load(site).store, busy_timeout=1.0)
    yield store
    store.close()


def _statements(store: ServingStore) -> list[str]:
    seen: list[str] = []
    store.store.db.set_trace_callback(seen.append)
    return seen


def test_versions_are_remembered_until_another_connection_commits(site: Path, served: ServingStore) -> None:
    first = served.check().version("s")
    commits = served.commits()
    seen = _statements(served)
    assert served.check().version("s") == first
    assert served.commits() == commits
    assert seen == ["PRAGMA data_version"]
    (site.parent / "show.rss").write_bytes(TWO)
    assert refresh(load(site)).ok  # another connection commits
    assert served.check().version("s")[0] == first[0] + 1
    assert served.commits() > commits


def test_a_deleted_store_is_a_store_error_and_a_new_one_is_opened(site: Path, served: ServingStore) -> None:
    served.check().version("s")
    for path in site.parent.glob("feedtool.sqlite*"):
        path.unlink()
    with pytest.raises(StoreError, match=r"no store at .*feedtool\.sqlite: run `feedtool refresh` first"):
        served.check()
    (site.parent / "show.rss").write_bytes(TWO)
    assert refresh(load(site)).ok
    assert served.check().count("s") == 2


def test_a_store_error_keeps_no_connection(site: Path, served: ServingStore) -> None:
    served.check()
    served.close()  # a writer holding the exclusive lock keeps even WAL readers out
    writer = sqlite3.connect(load(site).store, isolation_level=None)
    writer.execute("PRAGMA locking_mode = EXCLUSIVE")
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE commits SET n = n + 1")
    try:
        locked = ServingStore(served.path, busy_timeout=0.05)
        with pytest.raises(StoreError, match="cannot read the store"):
            locked.check()
        with pytest.raises(RuntimeError, match="check"):
            locked.version("s")  # nothing read through a failed check
    finally:
        writer.close()
    assert locked.check().count("s") == 1


# --- through gunicorn: one worker, so every request meets the connection it kept ---------


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str | None]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.read(), response.headers["ETag"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["ETag"]


@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
def test_a_refresh_in_another_process_is_seen_by_the_next_request(site: Path, tmp_path: Path) -> None:
    with feedtool_server(site, tmp_path / "gunicorn.log", workers=1) as base:
        status, body, etag = _get(f"{base}/feeds/s.rss")
        assert (status, b"Second episode" in body) == (200, False)
        assert etag is not None
        assert _get(f"{base}/feeds/s.rss", {"If-None-Match": etag})[0] == 304  # kept, and cached
        (tmp_path / "show.rss").write_bytes(TWO)
        assert refresh(load(site)).ok  # this test's process, not the server's
        status, body, new_etag = _get(f"{base}/feeds/s.rss", {"If-None-Match": etag})
        assert status == 200
        assert b"Second episode" in body
        assert new_etag != etag


@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed")
def test_a_store_deleted_then_replaced_while_serving(site: Path, tmp_path: Path) -> None:
    """Deleted: the 503 of a missing store. Replaced by another file: its data, at once."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "show.rss").write_bytes(ONE)
    shutil.copy(site, other / "config.yaml")
    assert refresh(load(other / "config.yaml")).ok
    (other / "show.rss").write_bytes(TWO)
    assert refresh(load(other / "config.yaml")).ok  # the show's version 2: its own ETag
    with feedtool_server(site, tmp_path / "gunicorn.log", workers=1) as base:
        assert _get(f"{base}/feeds/s.rss")[0] == 200
        for path in tmp_path.glob("feedtool.sqlite*"):
            path.unlink()
        status, body, etag = _get(f"{base}/feeds/s.rss")
        assert (status, etag) == (503, None)
        assert body == b"503 store unavailable: no store at feedtool.sqlite: run `feedtool refresh` first\n"
        os.replace(other / "feedtool.sqlite", tmp_path / "feedtool.sqlite")
        status, body, _ = _get(f"{base}/feeds/s.rss")
        assert status == 200
        assert b"Second episode" in body
        status, _, etag = _get(f"{base}/feeds/s.rss")
        copy = tmp_path / "copy.sqlite"
        shutil.copy(tmp_path / "feedtool.sqlite", copy)
        db = sqlite3.connect(copy)
        with db:
            db.execute("UPDATE shows SET version = version + 7")
        db.close()
        os.replace(copy, tmp_path / "feedtool.sqlite")  # replaced while the worker holds it open
        status, body, new_etag = _get(f"{base}/feeds/s.rss")
        assert status == 200
        assert b"Second episode" in body
        assert new_etag != etag


def test_a_postgresql_store_is_served_and_a_refresh_is_seen(tmp_path: Path, postgres_url: str) -> None:
    """The same kept store on PostgreSQL: no file to stat, the commit count as its data
    version; a refresh through another connection is seen by the next check."""
    (tmp_path / "show.rss").write_bytes(ONE)
    config = tmp_path / "config.yaml"
    config.write_text(f"store: '{postgres_url}'\nshows: {{s: {{sources: [{{rss: show.rss}}]}}}}\n")
    with pytest.raises(StoreError, match="schema version 0"):  # only a refresh creates the schema
        ServingStore(load(config).store, busy_timeout=1.0).check()
    assert refresh(load(config)).ok
    served = ServingStore(load(config).store, busy_timeout=1.0)
    try:
        first = served.check().version("s")
        kept = served.store
        assert served.check().store is kept  # nothing committed: the same connection, versions remembered
        assert [e.data.title for e in served.episodes("s")] == ["First episode"]
        (tmp_path / "show.rss").write_bytes(TWO)
        assert refresh(load(config)).ok
        assert served.check().version("s")[0] == first[0] + 1
        assert served.store is not kept
        assert [e.data.title for e in served.episodes("s")] == ["Second episode", "First episode"]
    finally:
        served.close()
    assert not (tmp_path / "feedtool.sqlite").exists()
