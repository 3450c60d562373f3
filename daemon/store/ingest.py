"""Ingest: recording fetched mail as `received` messages, once each, whatever their bytes.

Decides what a fetched message becomes in the store: one row per (source, key), so re-reading
after a crash between commit and ack adds nothing; a message a source re-keyed (IMAP
UIDVALIDITY change) recognised by its bytes or Message-ID and skipped; text columns made valid
first, a failing batch INSERT redone row by row, and a row that still fails recorded bare, in
quarantine, so one hostile message never sinks its batch; the source cursor moved once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, col, select

from connectors.base import FetchedMail
from connectors.rfc5322.head import header_message_id
from daemon.store.audit import audit, buffered_audit
from daemon.store.cursors import advance_cursor
from daemon.store.text import fit_id, valid_text
from daemon.tables import Message, State, utcnow

log = logging.getLogger("helpdeskd.store")


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
