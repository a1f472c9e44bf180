"""A throwaway PostgreSQL cluster for tests and benches: Debian's initdb and pg_ctl
in a temporary folder, on a free loopback port, stopped whatever happens.

PostgreSQL refuses to run as root (CI runs as root), so there the cluster runs as
``nobody``, its folders owned by that user. ``find_bindir`` returns None where the
server binaries are absent: the fixtures skip, naming why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: The unprivileged user a root test run starts the cluster as.
UNPRIVILEGED = "nobody"


def find_bindir() -> Path | None:
    """The folder of initdb and pg_ctl: ``pg_config --bindir``, else Debian's newest."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    # Debian puts the server outside PATH, one folder per major version.
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    candidates.extend(Path(p) for p in debian)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    """A running cluster: connect as ``postgres`` to 127.0.0.1:``port`` (trust auth)."""

    port: int
    folder: Path
    #: Where initdb and pg_ctl are, and the user the server runs as: what ``stop`` and
    #: ``start`` need (a fault test stops the server in the middle of a refresh).
    bindir: Path | None = None
    as_user: str | None = None

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A libpq URL of one database of the cluster (trust auth ignores a password)."""
        user = "postgres" if password is None else f"postgres:{password}"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; ``immediate`` is a crash: no checkpoint, clients cut off."""
        if self.bindir is None:
            raise RuntimeError("this Cluster does not know its pg_ctl")
        _run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode, "-w", "stop"],
            as_user=self.as_user,
        )

    def start(self) -> None:
        """Start the stopped server again, on the same port (it recovers after a crash)."""
        if self.bindir is None:
            raise RuntimeError("this Cluster does not know its pg_ctl")
        log = self.folder / "server.log"
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-l", str(log), "-w", "-t", "60"]
        _run([*command, "-o", _options(self.port, self.folder), "start"], as_user=self.as_user, log=log)


def _run(command: list[str], *, as_user: str | None, log: Path | None = None) -> None:
    # user= drops privileges in the child (Python >= 3.9): no runuser or sudo needed.
    kwargs: dict[str, object] = {}
    if as_user is not None:
        entry = pwd.getpwnam(as_user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",  # the child may not be allowed into the caller's folder
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if result.returncode != 0:
        detail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}\n{detail}")


@contextmanager
def cluster(bindir: Path, *, attempts: int = 3) -> Iterator[Cluster]:
    """Create and start a cluster in a temporary folder; stop and delete it on exit."""
    as_user = UNPRIVILEGED if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="feedtool-pg-"))
    try:
        if as_user is not None:
            entry = pwd.getpwnam(as_user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            folder.chmod(0o700)
        data, log = folder / "data", folder / "server.log"
        _run(
            [str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-locale"],
            as_user=as_user,
        )
        port = _start(bindir, data, folder, log, as_user, attempts)
        try:
            yield Cluster(port=port, folder=folder, bindir=bindir, as_user=as_user)
        finally:
            if (data / "postmaster.pid").exists():  # a test may have stopped it
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], as_user=as_user)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _options(port: int, folder: Path) -> str:
    return (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )


def _start(bindir: Path, data: Path, folder: Path, log: Path, as_user: str | None, attempts: int) -> int:
    """Start the server on a free port, trying another when one was taken meanwhile."""
    for attempt in range(attempts):
        port = free_port()
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    _options(port, folder),
                    "start",
                ],
                as_user=as_user,
                log=log,
            )
            return port
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def advisory_waiters(url: str) -> int:
    """How many advisory locks sessions of url's database are waiting for (not granted)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    return 0 if row is None else int(row[0])
