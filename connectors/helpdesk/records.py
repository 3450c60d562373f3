"""The records helpdesk connectors speak in, and their one error type.

Decides the shape of what crosses the boundary between a helpdesk API and the daemon: tickets,
conversation entries, people, attachments, a page of changed tickets, a customer's mail to
mirror, an escalation order. Everything is frozen; helpdesk-specific leftovers a connector needs
again travel in `RemoteTicket.extra`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.base import ConnectorError

EntryKind = Literal["customer", "reply", "note"]
"""customer: written by the requester (their email, a portal post); reply: a public answer by an
agent or by us; note: an internal comment only agents see."""

Mark = Literal["approved", "rejected"]


class HelpdeskError(ConnectorError):
    """A helpdesk API failed. `status` is the HTTP status (None for a connection error);
    `scope` is "connector" when nothing will work until the operator acts (401, 403, a missing
    secret) and "item" when only this ticket or request is affected (404, 422). `ambiguous`
    is set when a write that must happen once may have been applied all the same (a read timeout,
    a connection dropped after sending, a 5xx): it was not retried, and only the helpdesk's own
    record can tell whether it is there."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        status: int | None = None,
        scope: Literal["connector", "item"] = "connector",
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, permanent=permanent)
        self.status = status
        self.scope = scope
        self.retry_after = retry_after
        self.ambiguous = ambiguous


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class RemoteAttachment:
    filename: str
    content_type: str
    size: int
    url: str
    """Where the bytes are (an API URL the connector knows how to fetch)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a ticket's conversation, oldest first in `conversation()`."""

    id: str
    kind: EntryKind
    author: Person
    created_at: str
    text: str
    html: str | None = None
    attachments: tuple[RemoteAttachment, ...] = ()
    via: str = ""
    """How it arrived (email, web, api), as the helpdesk says it."""


@dataclass(frozen=True, slots=True)
class RemoteTicket:
    id: str
    subject: str
    status: str
    updated_at: str
    requester: Person | None
    mark: Mark | None = None
    """The agent's approval mark (a custom field value or a tag), normalised."""
    group: str | None = None
    """The queue (RT) or group id (Zendesk, Freshdesk) the ticket is in."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Helpdesk-specific values the connector needs again (requester id, tags)."""


@dataclass(frozen=True, slots=True)
class TicketPage:
    """Tickets changed since the cursor; `cursor` is the position after this page, to be saved
    only once every ticket of the page has been handled."""

    tickets: tuple[RemoteTicket, ...]
    cursor: str | None


@dataclass(frozen=True, slots=True)
class CustomerMail:
    """A customer's message to put into the helpdesk (mirror mode)."""

    raw: bytes
    sender: Person
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class EscalationOrder:
    """What escalating a ticket changes; the summary is posted as a note separately."""

    reason: str
    priority: str | int | None = None


def find_entry(entries: list[Entry], needle: str, kinds: tuple[EntryKind, ...]) -> Entry | None:
    """The last entry of one of `kinds` whose text contains `needle` (whitespace-insensitive):
    how a note's marker or a reply's text is found again after a crash."""
    wanted = normalise(needle)
    for entry in reversed(entries):
        if entry.kind in kinds and wanted in normalise(entry.text):
            return entry
    return None


def normalise(text: str) -> str:
    return " ".join(text.split())
