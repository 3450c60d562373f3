"""Named locks held until the transaction ends, for a check-then-insert that must not race.

Decides how two workers or replicas serialize on a name: a PostgreSQL transaction-level
advisory lock, or SQLite's single write lock taken early with a no-op write.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session


def serialize(session: Session, name: str) -> None:
    """Hold a lock named `name` until this transaction ends, so a check-then-insert (a reply
    cap, say) cannot race another worker or replica. PostgreSQL: a transaction-level advisory
    lock. SQLite: taking the database write lock now (a no-op write) has the same effect, since
    SQLite has one writer and the reads that follow see every committed row."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
    else:
        session.execute(text("UPDATE cursor SET source = source WHERE 1 = 0"))
