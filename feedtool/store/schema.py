"""The store's schema: one migration function per version, applied in order.

``PRAGMA user_version`` is the schema version of a file. Each function upgrades
a store by one version inside the caller's write transaction; a released one is
never edited (stores in the field went through it as it was), a change is a new
function at the end.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

import orjson

from feedtool.store import codecs


def _statements(db: sqlite3.Connection, script: str) -> None:
    # Not executescript: it commits the caller's transaction first.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1_tables(db: sqlite3.Connection) -> None:
    """1 (release 0.1): shows, sources, episodes, their tags and which source listed which."""
    _statements(
        db,
        """
        CREATE TABLE shows (
            id TEXT PRIMARY KEY,
            info TEXT NOT NULL DEFAULT '{}',
            info_ranks TEXT NOT NULL DEFAULT '{}',
            rules_digest TEXT,
            version INTEGER NOT NULL DEFAULT 0,
            changed INTEGER
        );
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            show_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            location TEXT NOT NULL,
            last_attempt INTEGER,
            last_success INTEGER,
            status TEXT,
            error TEXT,
            etag TEXT,
            last_modified TEXT,
            content_hash TEXT,
            permanent_redirect TEXT,
            new_feed_url TEXT,
            episode_count INTEGER NOT NULL DEFAULT 0,
            UNIQUE (show_id, kind, location)
        );
        CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            show_id TEXT NOT NULL,
            guid TEXT NOT NULL,
            title TEXT NOT NULL,
            data TEXT NOT NULL,
            ranks TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '',
            categories TEXT NOT NULL DEFAULT '',
            search TEXT NOT NULL DEFAULT '',
            published INTEGER,
            sort_time INTEGER NOT NULL,
            duration INTEGER,
            first_seen INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            UNIQUE (show_id, guid)
        );
        CREATE INDEX episodes_by_time ON episodes (show_id, sort_time);
        CREATE TABLE episode_tags (
            tag TEXT NOT NULL,
            episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            PRIMARY KEY (tag, episode_id)
        ) WITHOUT ROWID;
        CREATE TABLE episode_links (
            source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
            item_guid TEXT NOT NULL,
            episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            PRIMARY KEY (source_id, item_guid)
        ) WITHOUT ROWID;
        """,
    )


def _v2_tag_index_and_commits(db: sqlite3.Connection) -> None:
    """2: episode_tags by episode, and a count of the store's commits.

    Without the index a show's tag counts (the index page) and replacing an
    episode's tags (every update) scanned the whole table (issue 9). commits is a
    version of the whole store in one row, for caching the index page.
    """
    _statements(
        db,
        """
        CREATE INDEX episode_tags_by_episode ON episode_tags (episode_id);
        CREATE TABLE commits (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
        INSERT INTO commits (id, n) VALUES (1, 0);
        """,
    )


#: What the rank integers of schemas 1 and 2 meant: the kind that supplied a field.
_V2_RANK_KINDS = {1: "listing", 2: "radionet", 3: "rss"}


def _v3_kind_provenance_and_keyed_codec(db: sqlite3.Connection) -> None:
    """3: provenance by kind key, and JSON keyed by field name (issue 10).

    ``ranks`` and ``info_ranks`` held each field's merge rank (1 listing, 2 radionet,
    3 rss); they now hold the kind key that supplied it, and ranks are looked up
    when merging. ``data`` and ``info`` move from codec 1 (nested values as
    positional lists) to codec 2 (keyed by field name).
    """

    def kinds(text: str) -> str:
        return codecs.dumps({name: _V2_RANK_KINDS.get(rank, str(rank)) for name, rank in orjson.loads(text).items()})

    episodes = db.execute("SELECT id, data, ranks FROM episodes").fetchall()
    db.executemany(
        "UPDATE episodes SET data = ?, ranks = ? WHERE id = ?",
        [(codecs.episode_v1_to_v2(data), kinds(ranks), episode_id) for episode_id, data, ranks in episodes],
    )
    shows = db.execute("SELECT id, info, info_ranks FROM shows").fetchall()
    db.executemany(
        "UPDATE shows SET info = ?, info_ranks = ? WHERE id = ?",
        [(codecs.show_info_v1_to_v2(info), kinds(ranks), show_id) for show_id, info, ranks in shows],
    )


def _v4_extensions(db: sqlite3.Connection) -> None:
    """4: episodes and shows carry upstream's unmodelled elements as XML (codec 3, issue 11).

    No row is rewritten: a codec 2 row is a codec 3 row without extensions. RSS
    sources forget their validators and content hash, so that the next refresh reads
    each feed again, even unchanged, and adds them. The version also makes an older
    feedtool refuse a store whose rows it cannot decode.
    """
    db.execute("UPDATE sources SET etag = NULL, last_modified = NULL, content_hash = NULL WHERE kind = 'rss'")


def _v5_configs(db: sqlite3.Connection) -> None:
    """5: the store's own random identity, and when each config (by its digest) was
    first served (issue 17).

    Feed ETags name the store by its identity, not by the URL a config reaches it
    at: nodes that reach one database by different URLs (through a pooler, or not)
    agree, and a store replaced by another whose shows have the same versions does
    not keep the old one's ETags.

    Web nodes on several machines read one PostgreSQL store, and a config file copied
    to each has a different modification time there: the first node to serve a config
    records its time, and every node's Last-Modified uses that one. A SQLite store is
    served from one machine, where the file's time is the same for every process; it
    has the table so that both backends keep one schema.
    """
    db.execute("CREATE TABLE configs (digest TEXT PRIMARY KEY, first_served INTEGER NOT NULL)")
    db.execute("CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)")
    db.execute("INSERT INTO identity (id, value) VALUES (1, ?)", (uuid.uuid4().hex,))


#: MIGRATIONS[n] upgrades a store of schema version n to n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1_tables,
    _v2_tag_index_and_commits,
    _v3_kind_provenance_and_keyed_codec,
    _v4_extensions,
    _v5_configs,
)
VERSION = len(MIGRATIONS)
