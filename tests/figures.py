"""Figures that tests measure and the test summary prints (see conftest.py)."""

from __future__ import annotations

FIGURES: list[tuple[str, str]] = []


def record(name: str, figure: str) -> None:
    """Print this figure in pytest's terminal summary, even when the test passes."""
    FIGURES.append((name, figure))


#: Files that tests keep for people to look at (screenshots), printed in the summary with their paths.
ARTIFACTS: list[tuple[str, str]] = []


def artifact(name: str, path: object) -> None:
    """Print where this artefact was saved in pytest's terminal summary."""
    ARTIFACTS.append((name, str(path)))
