"""A message's content: its raw bytes and its parse row, as the pipeline reads and writes them.

Decides how the pipeline reaches the bytes and the parse result of a message: one at a time
from the session, or many in two queries for a batched step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from daemon.tables import MessageContent, MessageParse


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
