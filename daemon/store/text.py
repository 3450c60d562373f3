"""Valid text for text columns: no NUL, no surrogate escapes, Message-IDs that fit an index.

Decides what a text column may hold on every database alike: what PostgreSQL or a driver would
refuse becomes U+FFFD (raw bytes and JSON columns keep the original). The `before_flush` hook
registered on `Session` when this module is imported (that is, on `import daemon.store`) does
it for every ORM write; plain INSERTs call `valid_text` / `fit_id` themselves. `assign` sets
only the columns that change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlmodel import Session, SQLModel


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


def no_nul(text: str) -> str:
    """`text` fit for a PostgreSQL text column (which cannot hold NUL), for plain INSERTs;
    valid text too (see `valid_text`)."""
    return valid_text(text)


def assign(row: SQLModel, **values: Any) -> None:
    """Set the columns that change (a SQLModel attribute set costs ~10 us and the ORM then
    compares it at flush: on the hot path most of these values are already in place)."""
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
