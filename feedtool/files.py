"""Writing a file so that a reader never sees it half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_atomically(path: Path, body: bytes, mode: int = 0o644) -> None:
    """Replace path's content with body: a temporary file in the same folder, flushed to
    disk, given ``mode``, then renamed over path. Raises OSError; leaves no temporary file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(body)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def stamp(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """What tells a changed file: mtime, size and inode (editors that save by
    renaming); None while it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
