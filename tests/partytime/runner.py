"""Run the Podcast Index's parser (npm ``podcast-partytime``) on feed files: one Node process
for a whole batch. Tests import it as ``from partytime.runner import ...``; it skips cleanly
where Node or the installed package is absent (``npm ci --prefix tests/partytime``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

HARNESS = Path(__file__).resolve().parent
NODE = shutil.which("node")
PACKAGE = HARNESS / "node_modules" / "podcast-partytime"


def skip_reason() -> str | None:
    """Why partytime cannot run here, or None when it can."""
    if NODE is None:
        return "node is not installed (partytime is an npm package)"
    if not (PACKAGE / "package.json").is_file():
        return "podcast-partytime is not installed: run `npm ci --prefix tests/partytime`"
    return None


def parse(files: Sequence[Path]) -> dict[Path, Any]:
    """partytime's parse of each file (None where it found no feed), from one Node process."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(HARNESS / "parse.mjs"), *map(str, files)],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "PARTYTIME_LOG": "silent"},
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    parsed: dict[str, Any] = json.loads(result.stdout)
    return {Path(name): value for name, value in parsed.items()}
