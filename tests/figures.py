"""Figures that tests measure and the test summary prints (see conftest.py)."""

from __future__ import annotations

FIGURES: list[tuple[str, str]] = []


def record(name: str, figure: str) -> None:
    """Print this figure in pytest's terminal summary, even when the test passes."""
    FIGURES.append((name, figure))
