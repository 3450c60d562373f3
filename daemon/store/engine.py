"""The database engine: opening it private, migrating it to head, and one transaction at a time.

Decides how the store's database is opened: SQLite in WAL mode with full fsync and a busy
timeout (its pragmas set on every new connection), PostgreSQL through `postgresql+psycopg://`
with pre-ping; the schema always brought to the newest Alembic revision, on SQLite in one real
transaction so a killed first start leaves nothing half-made; the SQLite file readable by its
owner only; and `session_scope`, the one transaction every caller works in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from daemon.private import FILE_MODE, private_dir, private_file, restrict
from daemon.store.jsoncodec import dump_json, load_json

if TYPE_CHECKING:
    from alembic.config import Config


MIGRATIONS = Path(__file__).parent.parent / "migrations"


def open_engine(
    url: str, *, echo: bool = False, migrate: bool = True, pool_size: int = 5
) -> Engine:
    """Create the engine for `url` and bring its schema up to date. `pool_size`: connections
    kept open — every pipeline worker holds one through a step, and may write a usage row on a
    second one meanwhile."""
    common: dict[str, Any] = {
        "echo": echo,
        "pool_size": pool_size,
        "max_overflow": 10,
        "json_serializer": dump_json,
        "json_deserializer": load_json,
    }
    if url.startswith("sqlite:///"):
        private_database(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"timeout": 30}, **common)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **common)
    if migrate:
        migrate_to_head(engine)
    return engine


def private_database(path: Path) -> None:
    """The SQLite file (raw customer mail) readable by its owner only: created 0600 before
    SQLite opens it (SQLite gives its -wal and -shm files the database's mode), an existing
    one and its -wal/-shm made 0600; a folder created for it is 0700."""
    if not path.parent.is_dir():
        private_dir(path.parent)
    if path.name == ":memory:" or not path.name:
        return
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        restrict(path.with_name(path.name + suffix), FILE_MODE)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we ack the message at its source (move it to cur/,
    # flag or move it on the IMAP server); NORMAL could lose it to a power cut after the ack.
    # Commits are batched on the ingest path, so the fsync is paid once per batch.
    cur.execute("PRAGMA synchronous=FULL")
    # Raw mail fills WAL pages fast; checkpoint every ~40 MB instead of every 4 MB.
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic loads only when a store opens (CLI start-up)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate_to_head(engine: Engine) -> None:
    from alembic import command

    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per revision is noise
    if engine.dialect.name != "sqlite":
        command.upgrade(alembic_config(engine), "head")  # PostgreSQL's DDL is transactional
        return
    migrator = transactional_sqlite_engine(engine)
    try:
        command.upgrade(alembic_config(migrator), "head")
    finally:
        migrator.dispose()


def transactional_sqlite_engine(engine: Engine) -> Engine:
    """An engine whose transactions are real SQLite transactions, DDL included.

    pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so CREATE TABLE runs in
    autocommit: a process killed during the first migration left half the tables and no
    alembic_version, and every later start failed on "table ... already exists". Here BEGIN
    IMMEDIATE is explicit (SQLAlchemy's documented pysqlite recipe): a migration commits whole
    or not at all, and two processes starting at once migrate one after the other.
    """
    migrator = create_engine(engine.url, connect_args={"timeout": 30})

    def on_connect(dbapi_conn: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, record)
        dbapi_conn.isolation_level = None  # pysqlite emits no BEGIN of its own

    event.listen(migrator, "connect", on_connect)
    event.listen(migrator, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return migrator


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
