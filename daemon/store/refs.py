"""Message-ID references and insert-unless-present: which ticket a Message-ID belongs to.

Decides that the first ticket to claim a Message-ID keeps it (INSERT ... ON CONFLICT DO
NOTHING, on SQLite and PostgreSQL), with the ID stored as valid text that fits the index;
`insert_or_ignore` is the same rule for an ORM row behind a unique key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from daemon.store.text import fit_id, valid_text
from daemon.tables import utcnow


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
