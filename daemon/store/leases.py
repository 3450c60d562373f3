"""Leases: which worker holds a message, taken with a conditional UPDATE.

Decides how a message changes hands safely: a lease is taken by an UPDATE that only succeeds
while nobody else holds an unexpired one (healthchecks' trick), so several workers or replicas
share one queue on SQLite and PostgreSQL alike; a holder is named by host and process so a
restarted process can free a dead one's lease on the same host.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col

from daemon.store.text import assign
from daemon.tables import Message, State, utcnow


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
