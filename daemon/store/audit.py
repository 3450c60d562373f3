"""The audit trail and state transitions: every change of a message's state is recorded.

Decides that a state change and its audit row are one write: `transition` moves a message and
appends the row in the caller's transaction; `audit` is a plain prepared INSERT (rows are
write-only), and `buffered_audit` gathers a batched step's rows into one INSERT at its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from daemon.store.text import assign
from daemon.tables import Message, State, utcnow


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
