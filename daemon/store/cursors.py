"""Source cursors: where each mail source was last read, and how much it handed over.

Decides that a source's position only moves forward when it names one, in the same
transaction as the messages read up to it, so a crash re-reads rather than skips.
"""

from __future__ import annotations

from sqlmodel import Session

from daemon.tables import Cursor


def advance_cursor(session: Session, source: str, value: str | None, fetched: int = 0) -> None:
    cursor = session.get(Cursor, source) or Cursor(source=source)
    if value is not None:
        cursor.value = value
    cursor.fetched_total += fetched
    session.add(cursor)
