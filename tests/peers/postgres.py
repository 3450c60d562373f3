"""A throwaway PostgreSQL for the tests: one server per session, one fresh database per test.

Decides how the store's PostgreSQL tests get a real server. The session fixture
`postgres_server` runs initdb (as the `postgres` user through runuser when we are root:
initdb refuses root) into a scratch folder in the system temp dir and starts it with `pg_ctl`
on a free loopback port, with its socket in that folder and durability off (fsync,
synchronous_commit and full_page_writes: a test database is thrown away, and this makes
start-up and commits fast). `postgres_url` creates a new database for each test that asks for
it and drops it afterwards, so tests never see each other's rows. Set HELPDESKD_TEST_POSTGRES_URL
(`postgresql://user@host:port/db`) to use an existing server instead.

As root the server runs as the `postgres` user; as anyone else it runs as that user (initdb
works for any user). Missing binaries or psycopg skip with the command that fixes it.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.common import (
    as_user,
    chown_tree,
    elapsed,
    fail_with_log,
    free_port,
    report,
    require_binary,
    run,
    scratch_dir,
    timeout_of,
)

PREFERRED_VERSION = "15"
EXTERNAL_URL_ENV = "HELPDESKD_TEST_POSTGRES_URL"
_db_numbers = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    """Where the server listens; `admin_url` is a plain libpq URL for maintenance commands."""

    host: str
    port: int
    user: str
    admin_db: str

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.admin_db}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL helpdeskd's `store.url` takes."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def find_bin_dir() -> Path:
    """/usr/lib/postgresql/<version>/bin, PostgreSQL 15 preferred, else the newest there."""
    base = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in base.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)],
    )
    preferred = [p for p in versions if p.parent.name == PREFERRED_VERSION]
    if not versions:
        require_binary(str(base / PREFERRED_VERSION / "bin" / "initdb"), "postgresql")
    return (preferred or versions)[-1]


def pg_command(*cmd: str) -> list[str]:
    """As root, run as `postgres` (initdb and postgres refuse root); otherwise as ourselves."""
    return as_user("postgres", *cmd) if os.geteuid() == 0 else list(cmd)


def start_cluster(root: Path, bin_dir: Path, port: int) -> None:
    """initdb + pg_ctl start, as in ../shared/PEERS.md §4 (times printed)."""
    data, sock, log = root / "data", root / "sock", root / "pg.log"
    sock.mkdir()
    if os.geteuid() == 0:
        chown_tree(root, "postgres")
    t0 = time.monotonic()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    initdb += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
    run(pg_command(*initdb), "initdb", timeout=180, log=root / "initdb.log")
    report("postgres initdb", elapsed(t0))
    t0 = time.monotonic()
    options = (
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
    start += ["-t", str(int(timeout_of(120))), "-o", options, "start"]
    try:
        run(pg_command(*start), "pg_ctl start", timeout=150, log=log)
    except BaseException:
        stop_cluster(root, bin_dir, mode="immediate", check=False)  # a half-started server
        raise
    report("postgres start", elapsed(t0))


def stop_cluster(root: Path, bin_dir: Path, *, mode: str = "fast", check: bool = True) -> None:
    t0 = time.monotonic()
    stop = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", mode, "-w", "stop"]
    if check:
        run(pg_command(*stop), "pg_ctl stop", timeout=60, log=root / "pg.log")
    else:
        subprocess.run(pg_command(*stop), capture_output=True, timeout=60, check=False)
    report("postgres stop", elapsed(t0))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL on a free port for the session, or $HELPDESKD_TEST_POSTGRES_URL."""
    pytest.importorskip("psycopg", reason="psycopg not installed: pip install -e '.[dev]'")
    if external := os.environ.get(EXTERNAL_URL_ENV):
        yield parse_external(external)
        return
    bin_dir = find_bin_dir()
    with scratch_dir("postgres") as root:
        port = free_port()
        start_cluster(root, bin_dir, port)
        try:
            yield PostgresServer("127.0.0.1", port, "postgres", "postgres")
        finally:
            stop_cluster(root, bin_dir)


def parse_external(url: str) -> PostgresServer:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return PostgresServer(
        u.host or "127.0.0.1", u.port or 5432, u.username or "postgres", u.database or "postgres"
    )


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database for this test; dropped when the test ends."""
    import psycopg

    name = f"helpdeskd_t{os.getpid()}_{next(_db_numbers)}"
    try:
        with psycopg.connect(postgres_server.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        fail_with_log(f"cannot create database {name}: {exc}", None)
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as conn:
        # FORCE: a test that failed may have left a connection open in its engine's pool.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.peers)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of each supported database: a fresh SQLite file, then a fresh PostgreSQL
    database (that parameter skips when no server can be started)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'helpdeskd.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
