"""Shared fixtures: data files, the read-only shared corpus, configs, a loopback upstream."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from feedtool.testing import servers
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
    """Print the figures measured by the tests (the load test's, for one)."""
    from figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for name, figure in FIGURES:
            terminalreporter.write_line(f"{name}: {figure}")
