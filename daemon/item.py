"""What a stage sees: the frozen `Item` (one message and the committed results of the stages
before it) and the `Context` of the transaction it runs in.

A stage returns a new `Item` (via `dataclasses.replace`) or an outcome; the pipeline writes the
item's fields back to the message row in the same transaction as the state change. Stages do
their slow work (LLM calls, tool calls, searches) before their first write, so a database lock
is never held across a network call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.orm import object_session
from sqlmodel import Session

from daemon.config import Settings
from daemon.models import Message
from daemon.records import (
    DraftResult,
    Escalated,
    Held,
    Ignored,
    Outcome,
    ParsedMail,
    Passage,
    Route,
    Sent,
)
from daemon.store import Content, assign

if TYPE_CHECKING:
    from daemon.app import Services

_OUTCOMES: dict[str, type[Outcome]] = {
    "sent": Sent,
    "held": Held,
    "escalated": Escalated,
    "ignored": Ignored,
}


@dataclass(frozen=True, slots=True)
class Item:
    pk: int
    source: str
    raw: bytes
    stub_reason: str | None
    ticket_id: int | None
    parsed: ParsedMail | None
    route: Route | None
    passages: tuple[Passage, ...]
    draft: DraftResult | None
    draft_id: int | None
    decision: Outcome | None

    @property
    def mail(self) -> ParsedMail:
        """The parsed mail; stages after parse may rely on it."""
        if self.parsed is None:
            raise RuntimeError(f"message {self.pk}: stage run before parse")
        return self.parsed

    @classmethod
    def from_row(cls, row: Message, content: Content, draft: DraftResult | None = None) -> Item:
        assert row.id is not None
        return cls(
            pk=row.id,
            source=row.source,
            raw=content.raw,
            stub_reason=row.stub_reason,
            ticket_id=row.ticket_id,
            parsed=ParsedMail.from_json(content.parsed) if content.parsed else None,
            route=Route.from_json(row.route) if row.route else None,
            passages=tuple(Passage.from_json(p) for p in row.passages or ()),
            draft=draft,
            draft_id=row.draft_id,
            decision=decision_from_json(row.decision),
        )

    def write_to(self, row: Message, content: Content, before: Item | None = None) -> None:
        """Copy what the stages produced onto the row and its content (the caller commits).
        Given the item the step started from, an unchanged parse is not serialised and written
        again."""
        if self.parsed is not None and (before is None or self.parsed is not before.parsed):
            session = object_session(row)
            assert session is not None, "write_to needs the row's session"
            content.set_parsed(cast(Session, session), self.parsed.to_store())
            assign(
                row,
                message_id=self.parsed.message_id,
                sender=self.parsed.sender.email if self.parsed.sender else None,
                subject=self.parsed.subject[:500],
            )
        assign(
            row,
            ticket_id=self.ticket_id,
            route=self.route.to_json() if self.route else None,
            passages=[p.to_json() for p in self.passages] if self.passages else None,
            draft_id=self.draft_id,
            decision=decision_to_json(self.decision),
        )


def decision_to_json(outcome: Outcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    kind = next(k for k, t in _OUTCOMES.items() if isinstance(outcome, t))
    return {"outcome": kind, "reason": outcome.reason}


def decision_from_json(data: dict[str, Any] | None) -> Outcome | None:
    if not data:
        return None
    return _OUTCOMES[data["outcome"]](data["reason"])


@dataclass(frozen=True, slots=True)
class Context:
    """The transaction a stage runs in and the long-lived services it may use."""

    settings: Settings
    session: Session
    services: Services
    now: datetime
    log: logging.LoggerAdapter[logging.Logger]
    parsed_ahead: Mapping[int, ParsedMail] = field(default_factory=dict)
    """Parse results worked out ahead in worker processes (`daemon.parallel`), by message id."""
    batch: Sequence[Message] = ()
    """The rows of the batch this message is stepped with in one transaction (empty when it is
    stepped alone): a rule may look up the whole batch at once (`daemon.stages.screen`)."""
