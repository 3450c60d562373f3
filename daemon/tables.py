"""The tables: what helpdeskd remembers, and nothing it could derive.

Decides the schema. Every inbound message keeps its raw bytes (`MessageContent`) and moves
through `State`; tickets group messages into threads and say who owns them (the model, or a human
until an agent hands the ticket back); drafts, the outbox and escalations record
what was done for the customer; the audit trail records every state change and decision;
usage records what each LLM request and tool call cost; cursors record how far each source was
read; quarantine records what broke. Times are timezone-aware UTC (SQLModel's UTCDateTime
refuses naive ones). Changing a table means adding an Alembic revision in
`daemon/migrations/versions/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class State(StrEnum):
    received = "received"
    parsed = "parsed"
    screened = "screened"
    ignored = "ignored"
    routed = "routed"
    retrieved = "retrieved"
    drafted = "drafted"
    decided = "decided"
    sent = "sent"
    awaiting_approval = "awaiting_approval"
    escalated = "escalated"
    rejected = "rejected"
    quarantined = "quarantined"


TERMINAL = frozenset(
    {State.ignored, State.sent, State.escalated, State.rejected, State.quarantined}
)
"""States the pipeline never leaves by itself (awaiting_approval waits for an agent)."""


class Message(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source", "source_key", name="uq_message_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    source_key: str
    message_id: str | None = Field(default=None, index=True)
    sha256: str = Field(index=True)
    size: int
    stub: bool = False
    stub_reason: str | None = None
    state: str = Field(default=State.received, index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    sender: str | None = Field(default=None, index=True)
    subject: str | None = None
    body_hash: str | None = Field(default=None, index=True)
    """Hash of the normalised new text, for spotting one body from many senders (screen)."""
    route: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    passages: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    draft_id: int | None = None
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = None
    failures: int = 0
    starts: int = 0
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class MessageContent(SQLModel, table=True):
    """A message's raw bytes, beside its `message` row rather than in it: the row changes at
    every step (state, lease, results) and SQLite writes a whole row again on every UPDATE, so
    a message's 30 KB would be rewritten a dozen times. Written once, at ingest."""

    message_pk: int = Field(foreign_key="message.id", primary_key=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MessageParse(SQLModel, table=True):
    """What parse read from a message (`ParsedMail.to_store()`), in a table of its own for the
    same reason: beside the raw bytes, writing it would write the bytes again (the largest
    cost of the parse step's commit). Written by the parse step."""

    message_pk: int = Field(foreign_key="message.id", primary_key=True)
    parsed: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Ticket(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    subject: str = ""
    customer_email: str | None = Field(default=None, index=True)
    customer_name: str | None = None
    linked_ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    """The ticket this one's first mail referenced by Message-ID when its sender was no
    participant there (`daemon/stages/thread.py`): shown to agents, never to the model."""
    status: str = "open"
    intent: str | None = None
    language: str | None = None
    summary: str | None = None
    summary_upto: int | None = None
    helpdesk: str | None = None
    helpdesk_ticket_id: str | None = Field(default=None, index=True)
    owner: str | None = Field(default=None, index=True)
    """Who answers this ticket when a human does (`daemon/ownership.py`): an agent's name, or
    the human queue after an escalation; None while the model may answer."""
    owned_since: datetime | None = None
    owner_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MessageRef(SQLModel, table=True):
    """Every Message-ID we know, inbound and ours, pointing at its ticket (for threading)."""

    message_id: str = Field(primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    direction: str = "in"
    created_at: datetime = Field(default_factory=utcnow)


class Draft(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    message_pk: int = Field(foreign_key="message.id", index=True)
    status: str = Field(default="proposed", index=True)
    body: str
    citations: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    confidence: float = 0.0
    needs_human: bool = False
    reason: str = ""
    drafter: str = ""
    escalate: str | None = None
    tool_results: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    edited_body: str | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class Outbox(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    draft_id: int | None = Field(default=None, foreign_key="draft.id")
    kind: str = "reply"
    message_id: str = Field(unique=True)
    sender: str
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    customer: str | None = Field(default=None, index=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(default="queued", index=True)
    owner: str | None = None
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_response: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)  # the global reply cap
    sent_at: datetime | None = None


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_pk: int = Field(foreign_key="message.id", index=True)
    reason: str
    summary: str
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = "open"
    outbox_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    message_pk: int | None = Field(default=None, index=True)
    ticket_id: int | None = Field(default=None, index=True)
    actor: str = "daemon"
    kind: str
    from_state: str | None = None
    to_state: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Usage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    ticket_id: int | None = Field(default=None, index=True)
    message_pk: int | None = Field(default=None, index=True)
    intent: str | None = None
    kind: str = "llm"
    name: str = ""
    task: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    cost: float = 0.0
    ok: bool = True
    error: str | None = None


class Cursor(SQLModel, table=True):
    source: str = Field(primary_key=True)
    value: str | None = None
    fetched_total: int = 0
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None


class Quarantine(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_pk: int = Field(foreign_key="message.id", index=True)
    stage: str
    error: str
    traceback: str = ""
    at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = None
