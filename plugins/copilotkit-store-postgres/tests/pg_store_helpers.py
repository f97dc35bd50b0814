"""A real PostgreSQL for the tests: ``TEST_DATABASE_URL`` if set, else 127.0.0.1:5432 when a
server answers there, else a private server (``initdb`` + ``pg_ctl``) in a temp folder."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


INITDB = _pg_bin("initdb")
PG_CTL = _pg_bin("pg_ctl")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def shared_url() -> str | None:
    """The machine's PostgreSQL, when one answers."""
    forced = os.environ.get("TEST_DATABASE_URL")
    if forced == "private":
        return None
    if forced:
        return forced
    for url in ("postgresql://postgres@127.0.0.1:5432/postgres",
                f"postgresql://{os.environ.get('USER', 'postgres')}@127.0.0.1:5432/postgres"):
        if answers(url):
            return url
    return None


class PostgresServer:
    """A private PostgreSQL server (its own data folder and port) that a test may restart."""

    def __init__(self) -> None:
        # Its own folder under /tmp (pytest's tmp_path is private to root, and PostgreSQL runs
        # as the ``postgres`` user when the tests run as root).
        self.folder = Path(tempfile.mkdtemp(prefix="copilotkit-pg-"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        self.user = "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            kwargs["user"] = "postgres"
            os.chown(self.folder, _uid("postgres"), -1)
            for path in self.folder.rglob("*"):
                with contextlib.suppress(OSError):
                    os.chown(path, _uid("postgres"), -1)
        subprocess.run(args, check=True, capture_output=True, timeout=120, **kwargs)  # type: ignore[call-overload]

    def start(self) -> PostgresServer:
        assert INITDB and PG_CTL
        if not self.data.exists():
            self._run(INITDB, "-D", str(self.data), "-U", self.user, "--auth=trust",
                      "--no-sync", "-E", "UTF8")
        self._run(PG_CTL, "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=100", "start")
        deadline = time.monotonic() + 30
        while not answers(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError("the private PostgreSQL server did not come up")
            time.sleep(0.1)
        return self

    def stop(self, mode: str = "fast") -> None:
        assert PG_CTL
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(PG_CTL, "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> PostgresServer:
        self.stop("immediate")
        return self.start()


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid


def can_run_private_server() -> bool:
    if not (INITDB and PG_CTL):
        return False
    if os.geteuid() == 0:
        try:
            _uid("postgres")
        except KeyError:
            return False
    return True


def drop_schema(url: str, schema: str) -> None:
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True,
                                                             connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
