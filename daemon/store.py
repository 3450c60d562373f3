"""The store: opening the database, migrating it, and the few writes every part shares.

Decides how rows change hands safely. SQLite runs in WAL mode (readers never block the writer)
with a busy timeout; PostgreSQL works the same through `postgresql+psycopg://`. The schema is
always brought to the newest Alembic revision when the store opens, so an empty file or an old
database both just work. A message is claimed with a conditional UPDATE that only succeeds
while nobody else holds an unexpired lease (healthchecks' trick): it works on both databases
and lets several workers or replicas share one queue. Every state change goes through
`transition`, which writes the audit row in the same transaction. Whatever a message's bytes,
ingest records it: text columns get valid text (the raw bytes are kept as they came), and a
row the database still refuses is recorded bare, in quarantine, without sinking its batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import ColumnElement, Engine, event, insert, inspect, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from connectors.base import FetchedMail
from connectors.rfc5322.head import header_message_id
from daemon.models import Cursor, Message, MessageContent, MessageParse, State, utcnow
from daemon.private import FILE_MODE, private_dir, private_file, restrict

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("helpdeskd.store")
MIGRATIONS = Path(__file__).parent / "migrations"


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


def dump_json(value: Any) -> str:
    """JSON columns with orjson: a parse result is ~60 KB of JSON for a long mail, written
    once and read at every later step, and orjson does that several times faster than the
    stdlib (and keeps non-ASCII text as UTF-8, not as 6-byte escapes). What it refuses (a
    lone surrogate from a broken charset, an integer over 64 bits) goes through the stdlib."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value)


def load_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


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


@event.listens_for(Session, "before_flush")
def _valid_text_columns(session: Session, _context: Any, _instances: Any) -> None:
    """Text columns hold valid text on every database: PostgreSQL text cannot hold NUL (0x00)
    and mail can (a broken Subject, a body quoted into a summary), and no driver encodes the
    surrogate escapes an undecodable header byte becomes (a Message-ID read from raw bytes).
    Without this a stage fails on that one message, or on PostgreSQL only. Text columns get
    U+FFFD on every database alike; raw bytes and JSON columns keep the original."""
    for new, objects in ((True, session.new), (False, session.dirty)):
        for obj in objects:
            state = inspect(obj)
            # a loaded row's other columns were made valid when they were written
            keys = state.mapper.column_attrs.keys() if new else list(state.committed_state)
            for key in keys:
                value = state.dict.get(key)
                if not isinstance(value, str):
                    continue
                fit = value if is_valid_text(value) else valid_text(value)
                fit = fit_id(fit) if key == "message_id" else fit
                if fit is not value:
                    setattr(obj, key, fit)


MAX_ID_BYTES = 998
"""A Message-ID column holds at most this many bytes: the longest header line, and well under
what PostgreSQL's index takes (~2,700 bytes; a longer value made the UPDATE fail)."""


def fit_id(value: str) -> str:
    """`value` cut to MAX_ID_BYTES of UTF-8 (the same object when it fits)."""
    if len(value) * 4 <= MAX_ID_BYTES:
        return value
    encoded = value.encode("utf-8", "surrogatepass")  # valid text by now; never raises
    if len(encoded) <= MAX_ID_BYTES:
        return value
    return encoded[:MAX_ID_BYTES].decode("utf-8", "ignore")


def is_valid_text(value: str) -> bool:
    """True when `value` can be stored as it is (the cheap test of the flush hook)."""
    if value.isascii():
        return "\x00" not in value
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def no_nul(text: str) -> str:
    """`text` fit for a PostgreSQL text column (which cannot hold NUL), for plain INSERTs;
    valid text too (see `valid_text`)."""
    return valid_text(text)


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


def audit(
    session: Session,
    kind: str,
    *,
    message: Message | None = None,
    message_pk: int | None = None,
    ticket_id: int | None = None,
    actor: str = "daemon",
    from_state: str | None = None,
    to_state: str | None = None,
    **detail: Any,
) -> None:
    """Append to the audit trail, in the caller's transaction (and savepoint). A plain INSERT
    with a prepared statement: audit rows are write-only, and building an ORM object for each
    cost eight times as much on the ingest path."""
    row = {
        "at": utcnow(),
        "kind": kind,
        "message_pk": message.id if message else message_pk,
        "ticket_id": ticket_id
        if ticket_id is not None
        else (message.ticket_id if message else None),
        "actor": actor,
        "from_state": from_state,
        "to_state": to_state,
        "detail": detail,
    }
    buffer = session.info.get(AUDIT_BUFFER)
    if buffer is not None:
        buffer.append(row)
    else:
        session.connection().execute(INSERT_AUDIT, [row])


AUDIT_BUFFER = "helpdeskd.audit"


@contextmanager
def buffered_audit(session: Session) -> Iterator[None]:
    """Collect the audit rows of a block and write them in one INSERT at its end (the batched
    pipeline steps); dropped if the block raises, like the rest of its transaction. Inside
    another such block, the rows go to the outer one."""
    if AUDIT_BUFFER in session.info:
        yield
        return
    session.info[AUDIT_BUFFER] = []
    try:
        yield
        rows = session.info[AUDIT_BUFFER]
        if rows:
            session.connection().execute(INSERT_AUDIT, rows)
    finally:
        session.info.pop(AUDIT_BUFFER, None)


INSERT_AUDIT = insert(SQLModel.metadata.tables["auditevent"])


def transition(
    session: Session, message: Message, to: State, *, reason: str | None = None, **detail: Any
) -> None:
    """Move a message to `to`, recording the change in the audit trail (same transaction)."""
    before = message.state
    message.state = to
    message.updated_at = utcnow()
    assign(message, failures=0, starts=0)
    if reason is not None:
        message.reason = reason
    session.add(message)
    audit(
        session,
        "transition",
        message=message,
        from_state=before,
        to_state=to,
        reason=reason,
        **detail,
    )


@dataclass(frozen=True, slots=True)
class Ingested:
    message_pk: int | None
    duplicate: bool


def ingest(session: Session, source: str, mail: FetchedMail) -> Ingested:
    """Insert one fetched message (state `received`) and advance the source cursor.

    Idempotent: the same (source, key) is recorded once, so re-reading after a crash that
    happened between commit and ack creates no duplicate. The caller commits, then acks.
    """
    return ingest_many(session, source, [mail])[0]


def ingest_many(session: Session, source: str, mails: list[FetchedMail]) -> list[Ingested]:
    """`ingest` for a batch in one go: one lookup of the keys already recorded, one INSERT of
    the new rows and one of their raw bytes (plain, not ORM objects: this is the hot path of
    every poll and backfill), their audit rows, and the cursor moved once to the last
    message's position. Whatever a message's bytes, it cannot sink the batch: its text
    columns are made valid text first, and a batch INSERT that still fails is redone one
    message at a time, where a row that fails alone is recorded bare and quarantined."""
    mails = [valid_mail(m) for m in mails]
    keys = [m.key for m in mails]
    known: dict[str, int | None] = dict(
        session.exec(
            select(Message.source_key, Message.id).where(
                Message.source == source, col(Message.source_key).in_(keys)
            )
        ).all()
    )
    fresh: dict[str, dict[str, Any]] = {}
    now = utcnow()
    new: dict[str, FetchedMail] = {}
    for mail in mails:
        if mail.key not in known:
            new.setdefault(mail.key, mail)
    digests = {key: hashlib.sha256(m.raw).hexdigest() for key, m in new.items()}
    message_ids = {key: read_message_id(m.raw) for key, m in new.items()}
    copies = rekeyed_copies(session, source, digests, message_ids)
    for key, mail in new.items():
        if key in copies:
            log.info(
                "source %s: %s is message %d re-keyed (resync): skipped", source, key, copies[key]
            )
            known[key] = copies[key]
        else:
            fresh[key] = new_message_row(source, mail, digests[key], message_ids[key], now)
    if fresh:
        rows = insert_messages(session, fresh, new)
        with buffered_audit(session):
            for pk, key in sorted(rows):
                known[key] = pk
                values = fresh[key]
                audit(
                    session,
                    "received",
                    message_pk=pk,
                    to_state=State.received,
                    source=source,
                    key=key,
                    size=values["size"],
                    stub_reason=values["stub_reason"],
                )
    positions = [m.cursor for m in mails if m.cursor is not None]
    advance_cursor(session, source, positions[-1] if positions else None, fetched=len(fresh))
    results, seen = [], set()
    for mail in mails:
        results.append(
            Ingested(known.get(mail.key), duplicate=mail.key not in fresh or mail.key in seen)
        )
        seen.add(mail.key)
    return results


def valid_text(value: str) -> str:
    """`value` as text any database stores: bytes a header or file name carried undecoded
    (surrogate escapes) are read as UTF-8, what is not UTF-8 becomes U+FFFD, and so does NUL.
    Without it one byte in a Message-ID made the batch INSERT raise and stopped all intake."""
    try:
        value.encode()
    except UnicodeEncodeError:
        try:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate no byte could have made
            value = value.encode("utf-8", "replace").decode()
    return value.replace("\x00", "\ufffd")


def valid_mail(mail: FetchedMail) -> FetchedMail:
    """`mail` with its key and stub reason as valid text (the raw bytes are kept as they are)."""
    key = valid_text(mail.key)
    reason = valid_text(mail.stub_reason)[:MAX_TEXT] if mail.stub_reason else mail.stub_reason
    if key == mail.key and reason == mail.stub_reason:
        return mail
    return replace(mail, key=key, stub_reason=reason)


MAX_TEXT = 1000
"""Characters kept of a free-text column filled from the outside (a stub reason, an error)."""


def read_message_id(raw: bytes) -> str | None:
    """The Message-ID the store deduplicates on, as valid text of at most 998 bytes (the
    longest header line; PostgreSQL refuses an index entry over ~2,700 bytes)."""
    message_id = header_message_id(raw)
    return fit_id(valid_text(message_id)) if message_id else None


INGEST_ERRORS = (SQLAlchemyError, UnicodeError, ValueError, TypeError)
"""What a hostile row can make an INSERT raise (the driver's encoding and binding errors)."""


def insert_messages(
    session: Session, fresh: dict[str, dict[str, Any]], new: dict[str, FetchedMail]
) -> list[tuple[int, str]]:
    """Insert the new rows and their raw bytes; (pk, key) of each. One multi-row INSERT;
    when it fails (whatever one row holds) it is rolled back and redone row by row."""
    if session.get_bind().dialect.name == "sqlite":
        # pysqlite opens its transaction before a data change only: without a write first the
        # SAVEPOINT would open it, and its RELEASE would commit the rows on their own
        session.execute(text("UPDATE cursor SET source = source WHERE 1 = 0"))
    try:
        with session.begin_nested():
            return insert_rows(session, list(fresh.values()), new)
    except INGEST_ERRORS as exc:
        log.warning("batch INSERT of %d message(s) failed (%s): one by one", len(fresh), exc)
    return [row for key in fresh for row in insert_one(session, fresh[key], new[key])]


def insert_rows(
    session: Session, values: list[dict[str, Any]], new: dict[str, FetchedMail]
) -> list[tuple[int, str]]:
    # one multi-row INSERT … RETURNING (rows in any order: each names its key)
    rows = [(pk, key) for pk, key in session.connection().execute(INSERT_MESSAGE, values)]
    contents = [{"message_pk": pk, "raw": new[key].raw} for pk, key in rows]
    session.connection().execute(INSERT_CONTENT, contents)
    return rows


def insert_one(
    session: Session, values: dict[str, Any], mail: FetchedMail
) -> list[tuple[int, str]]:
    """One message's row; when even that fails, a bare row (no header values) in quarantine
    with the error, so the message is recorded, kept and shown to the operator."""
    try:
        with session.begin_nested():
            return insert_rows(session, [values], {mail.key: mail})
    except INGEST_ERRORS as exc:
        error = f"ingest: could not record the message as read ({type(exc).__name__}: {exc})"
        log.warning("source %s: %s: %s", values["source"], values["source_key"], error)
    bare = values | {
        "message_id": None,
        "stub_reason": None,
        "state": State.quarantined.value,
        "reason": valid_text(error)[:MAX_TEXT],
    }
    with session.begin_nested():
        rows = insert_rows(session, [bare], {mail.key: mail})
        quarantine = {"message_pk": rows[0][0], "stage": "ingest", "error": bare["reason"]}
        session.connection().execute(
            INSERT_QUARANTINE, [quarantine | {"traceback": "", "at": utcnow(), "released_at": None}]
        )
        audit(
            session,
            "transition",
            message_pk=rows[0][0],
            from_state=State.received,
            to_state=State.quarantined,
            reason=bare["reason"],
        )
    return rows


def new_message_row(
    source: str, mail: FetchedMail, digest: str, message_id: str | None, now: datetime
) -> dict[str, Any]:
    """The columns of a `received` message (plain INSERT: every default spelled out, and text
    already valid, as the ORM flush hook would make it)."""
    return {
        "source": valid_text(source),
        "source_key": mail.key,
        "message_id": message_id,
        "sha256": digest,
        "size": len(mail.raw),
        "stub": mail.stub_reason is not None,
        "stub_reason": mail.stub_reason,
        "state": State.received.value,
        "failures": 0,
        "starts": 0,
        "received_at": now,
        "updated_at": now,
    }


INSERT_MESSAGE = insert(SQLModel.metadata.tables["message"]).returning(
    SQLModel.metadata.tables["message"].c.id,
    SQLModel.metadata.tables["message"].c.source_key,
)
INSERT_CONTENT = insert(SQLModel.metadata.tables["messagecontent"])
INSERT_QUARANTINE = insert(SQLModel.metadata.tables["quarantine"])


@dataclass(slots=True)
class Content:
    """A message's raw bytes and its parse row (None before the parse step), as the pipeline
    reads and writes them."""

    pk: int
    raw: bytes
    parse: MessageParse | None = None

    @property
    def parsed(self) -> dict[str, Any] | None:
        return None if self.parse is None else self.parse.parsed

    def set_parsed(self, session: Session, data: dict[str, Any]) -> None:
        """Write a parse result (the caller commits)."""
        if self.parse is None:
            self.parse = MessageParse(message_pk=self.pk, parsed=data)
        else:
            self.parse.parsed = data
        session.add(self.parse)


def message_content(session: Session, pk: int) -> Content:
    """The raw bytes and parse result of a message (from the session when already loaded)."""
    raw = session.get(MessageContent, pk)
    if raw is None:
        raise LookupError(f"message {pk} has no content row")
    return Content(pk, raw.raw, session.get(MessageParse, pk))


def load_contents(session: Session, pks: Iterable[int]) -> dict[int, Content]:
    """The raw bytes and parse rows of many messages, in two queries."""
    wanted = list(pks)
    if not wanted:
        return {}
    raws = session.exec(
        select(MessageContent.message_pk, MessageContent.raw).where(
            col(MessageContent.message_pk).in_(wanted)
        )
    )
    contents = {pk: Content(pk, raw) for pk, raw in raws}
    parses = select(MessageParse).where(col(MessageParse.message_pk).in_(wanted))
    for parse in session.exec(parses):
        if parse.message_pk in contents:
            contents[parse.message_pk].parse = parse
    return contents


def rekeyed_copies(
    session: Session, source: str, digests: dict[str, str], message_ids: dict[str, str | None]
) -> dict[str, int]:
    """The messages (by new key) a source already recorded under an older key generation.

    Keys shaped `GENERATION:ID` (IMAP's `UIDVALIDITY:UID`) all change when the generation
    does; the resync that follows hands every message over again. Such a message is the one
    of an older generation with the same bytes or the same Message-ID. One query per batch,
    on the digest and Message-ID indexes only: with `source = ?` beside them SQLite (without
    statistics) walks every message of the source instead, once per batch — a backfill
    then slows down with every message it records."""
    keys = [key for key in digests if ":" in key]
    if not keys:
        return {}
    wanted_ids = {message_ids[k] for k in keys} - {None}
    same: ColumnElement[bool] = col(Message.sha256).in_({digests[k] for k in keys})
    if wanted_ids:
        same = or_(same, col(Message.message_id).in_(wanted_ids))
    table = SQLModel.metadata.tables["message"]
    columns = (table.c.id, table.c.source, table.c.source_key, table.c.sha256, table.c.message_id)
    found = session.connection().execute(sa_select(*columns).where(same)).all()
    rows = [(pk, key, digest, mid) for pk, where, key, digest, mid in found if where == source]
    copies = {}
    for key in keys:
        generation = key.partition(":")[0] + ":"
        copy = next(
            (
                pk
                for pk, old_key, digest, message_id in rows
                if (digest == digests[key] or (message_id and message_id == message_ids[key]))
                and not old_key.startswith(generation)
                and pk is not None
            ),
            None,
        )
        if copy is not None:
            copies[key] = copy
    return copies


def advance_cursor(session: Session, source: str, value: str | None, fetched: int = 0) -> None:
    cursor = session.get(Cursor, source) or Cursor(source=source)
    if value is not None:
        cursor.value = value
    cursor.fetched_total += fetched
    session.add(cursor)


def claim(session: Session, message_pk: int, owner: str, lease: timedelta) -> bool:
    """Take the lease on a message; False when another worker holds it."""
    now = utcnow()
    result = session.execute(
        update(Message)
        .where(col(Message.id) == message_pk)
        .where(
            (col(Message.lease_until).is_(None))
            | (col(Message.lease_until) < now)
            | (col(Message.lease_owner) == owner)
        )
        .values(lease_owner=owner, lease_until=now + lease, starts=Message.starts + 1)
    )
    return bool(getattr(result, "rowcount", 0))


def claim_many(
    session: Session, pks: list[int], owner: str, lease: timedelta, states: Iterable[State]
) -> list[tuple[int, int]]:
    """Take the lease on those of `pks` that are in one of `states` and free; return (id,
    starts) of each one taken (starts > 1: a process died while working on it before)."""
    wanted = [s.value for s in states]
    if not pks:
        return []
    now = utcnow()
    taken = session.connection().execute(
        update(Message)
        .where(col(Message.id).in_(pks), col(Message.state).in_(wanted))
        .where(
            or_(
                col(Message.lease_until).is_(None),
                col(Message.lease_until) < now,
                col(Message.lease_owner) == owner,
            )
        )
        .values(lease_owner=owner, lease_until=now + lease, starts=Message.starts + 1)
        .returning(col(Message.id), col(Message.starts))
    )
    return sorted((pk, starts) for pk, starts in taken if pk is not None)


def release(session: Session, message: Message) -> None:
    assign(message, lease_owner=None, lease_until=None)
    session.add(message)


def assign(row: SQLModel, **values: Any) -> None:
    """Set the columns that change (a SQLModel attribute set costs ~10 us and the ORM then
    compares it at flush: on the hot path most of these values are already in place)."""
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)


def serialize(session: Session, name: str) -> None:
    """Hold a lock named `name` until this transaction ends, so a check-then-insert (a reply
    cap, say) cannot race another worker or replica. PostgreSQL: a transaction-level advisory
    lock. SQLite: taking the database write lock now (a no-op write) has the same effect, since
    SQLite has one writer and the reads that follow see every committed row."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
    else:
        session.execute(text("UPDATE cursor SET source = source WHERE 1 = 0"))


def remember_message_id(session: Session, message_id: str, ticket_id: int, direction: str) -> None:
    """Record which ticket a Message-ID belongs to, unless it is already known (first wins)."""
    dialect = session.get_bind().dialect.name
    values = {
        "message_id": fit_id(valid_text(message_id)),
        "ticket_id": ticket_id,
        "direction": direction,
        "created_at": utcnow(),
    }
    session.connection().execute(INSERT_REF[dialect == "postgresql"], [values])


INSERT_REF = {
    postgres: (pg_insert if postgres else sqlite_insert)(
        SQLModel.metadata.tables["messageref"]
    ).on_conflict_do_nothing()
    for postgres in (False, True)
}


def insert_or_ignore(session: Session, row: Any) -> bool:
    """Insert `row` unless a unique key already holds it; True when inserted."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def worker_name() -> str:
    """Who holds a lease: host and process, so a restarted process can free a dead one's."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str | None) -> bool:
    """True when `owner` was a process on this host that no longer runs."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: only its lease expiry frees it
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
