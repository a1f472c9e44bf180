"""Shared fixtures: data files, the read-only shared corpus, configs, a loopback upstream."""

from __future__ import annotations

import importlib.util
import itertools
import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from feedtool.store import Store, open_store
from feedtool.store.postgres import close_pools
from feedtool.testing import postgres, servers
from feedtool.testing.postgres import Cluster
from feedtool.testing.servers import Upstream
from feedtool.web import create_app

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """An HTTP upstream on 127.0.0.1 whose answers the test sets per path."""
    with servers.upstream() as server:
        yield server


@pytest.fixture
def damage_store() -> Iterator[Callable[[Path, str], None]]:
    """Damage a closed store file: cut it in half, overwrite its pages after the first
    with junk, or lock it from another connection until the test ends (give the
    readers a short server.busy_timeout)."""
    holders: list[sqlite3.Connection] = []

    def damage(path: Path, how: str) -> None:
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            assert not extra.exists(), "close every connection first: the WAL holds the latest pages"
        data = path.read_bytes()
        page = int.from_bytes(data[16:18], "big")
        if how == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif how == "corrupt":
            path.write_bytes(data[:page] + bytes(range(7, 256, 7)) * (len(data) // 36))
        elif how == "locked":
            # The exclusive locking mode keeps even WAL readers out while the writer holds it.
            writer = sqlite3.connect(path, isolation_level=None)
            writer.execute("PRAGMA locking_mode = EXCLUSIVE")
            writer.execute("BEGIN EXCLUSIVE")
            writer.execute("UPDATE commits SET n = n + 1")
            holders.append(writer)
        else:
            raise ValueError(how)

    yield damage
    for writer in holders:
        writer.close()


@pytest.fixture
def shared() -> Path:
    """The read-only shared folder beside the project; absent in a user's clone."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config.yaml (dedented) into a fresh folder and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def app_factory() -> Callable[[Path], Flask]:
    """create_app for a config path, in testing mode."""

    def make(config: Path) -> Flask:
        app = create_app({"FEEDTOOL_CONFIG": str(config), "TESTING": True})
        return app

    return make


@pytest.fixture
def client_for(app_factory: Callable[[Path], Flask]) -> Callable[[Path], FlaskClient]:
    def make(config: Path) -> FlaskClient:
        return app_factory(config).test_client()

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures measured by the tests (the load test's, for one) and the artefacts kept."""
    from figures import ARTIFACTS, FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for name, figure in FIGURES:
            terminalreporter.write_line(f"{name}: {figure}")
    if ARTIFACTS:
        terminalreporter.section("artefacts")
        for name, path in ARTIFACTS:
            terminalreporter.write_line(f"{name}: {path}")


def _postgres_bindir() -> Path:
    """Where the PostgreSQL server's programs are; the test is skipped without them or psycopg."""
    bindir = postgres.find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed: pip install 'feedtool[postgresql]'")
    return bindir


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the session; skipped without the server or psycopg."""
    with postgres.cluster(_postgres_bindir()) as running:
        try:
            yield running
        finally:
            close_pools()


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database of the session's cluster; its pool is closed after the test."""
    import psycopg

    name = f"test{next(_databases)}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = postgres_cluster.url(name)
    yield url
    close_pools(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store of each backend lives: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def any_store(backend_url: str) -> Iterator[Store]:
    """A new store of each backend (tests written for both)."""
    with open_store(backend_url) as store:
        yield store


@pytest.fixture(scope="module")
def stoppable_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the module's own, for the tests that stop its server (the
    session's cluster serves every other test meanwhile); skipped as postgres_cluster."""
    with postgres.cluster(_postgres_bindir()) as running:
        yield running


@pytest.fixture
def stoppable_database(stoppable_cluster: Cluster) -> Iterator[str]:
    """The name of a fresh, empty database of the stoppable cluster; pools of it closed after the test."""
    import psycopg

    name = f"stoppable{next(_databases)}"
    with psycopg.connect(stoppable_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield name
    close_pools()
