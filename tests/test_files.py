"""feedtool.files: a file is replaced whole, with the mode asked for, or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedtool.files import replace_atomically


def test_replaces_the_content_with_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"old")
    path.chmod(0o600)
    replace_atomically(path, b"new", 0o640)
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.html"
    path.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        replace_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
