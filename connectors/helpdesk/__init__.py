"""Helpdesks: the one `Helpdesk` Protocol, the records it speaks in, and the registry by kind.

Decides what the daemon may ask of a helpdesk, whichever it is (Request Tracker 5, Zendesk,
Freshdesk): list the tickets changed since a cursor (page by page), read a ticket and its
conversation, turn one customer entry into RFC 5322 bytes for the pipeline, create or update a
ticket from a customer's mail (mirror mode), post an internal note, send a public reply, look a
note or reply up again (the history check that keeps sends exactly-once), escalate, and clear
an agent's approval mark once it has been acted on. Each module here speaks one REST API; what
an agent's mark or command *means* is decided by the daemon (`daemon/helpdesk_sync/`).

Errors are `HelpdeskError`, a `ConnectorError` that also says whether it concerns the whole
connector (bad credentials, missing rights: the daemon disables it) or one item (a ticket that
was deleted: the daemon records it and goes on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

from connectors.helpdesk.freshdesk import Freshdesk
from connectors.helpdesk.records import (
    CustomerMail,
    Entry,
    EntryKind,
    EscalationOrder,
    HelpdeskError,
    Mark,
    Person,
    RemoteAttachment,
    RemoteTicket,
    TicketPage,
    find_entry,
    normalise,
)
from connectors.helpdesk.rt import RequestTracker
from connectors.helpdesk.zendesk import Zendesk


@runtime_checkable
class Helpdesk(Protocol):
    name: str
    kind: str

    def changed_tickets(self, cursor: str | None, since: float) -> Iterator[TicketPage]:
        """Tickets created or updated after `cursor` (None: after the Unix time `since`)."""
        ...

    def ticket(self, ticket_id: str) -> RemoteTicket: ...

    def conversation(self, ticket: RemoteTicket) -> list[Entry]:
        """Every entry of the ticket, oldest first (all pages)."""
        ...

    def entry_bytes(self, ticket: RemoteTicket, entry: Entry) -> bytes:
        """The entry as an RFC 5322 message: the stored original email when the helpdesk keeps
        one, otherwise one synthesised from the API data (attachments included)."""
        ...

    def create_ticket(self, mail: CustomerMail) -> str:
        """Open a ticket for a customer's first message; return its id (mirror mode)."""
        ...

    def add_customer_message(self, ticket: RemoteTicket, mail: CustomerMail) -> None:
        """Record a customer's follow-up on their ticket (mirror mode)."""
        ...

    def post_note(self, ticket_id: str, text: str) -> None:
        """An internal note only agents see."""
        ...

    def send_reply(self, ticket_id: str, text: str) -> str:
        """A public reply the helpdesk mails to the requester; returns the API's answer."""
        ...

    def escalate(self, ticket: RemoteTicket, order: EscalationOrder) -> None:
        """Move the ticket to the human queue/group, raise its priority, set the field or tag."""
        ...

    def clear_mark(self, ticket: RemoteTicket) -> None:
        """Remove the approval mark after the daemon acted on it."""
        ...

    def close(self) -> None: ...


HelpdeskFactory = Callable[[Any], Helpdesk]

HELPDESK_KINDS: dict[str, HelpdeskFactory] = {
    "rt": RequestTracker.from_settings,
    "zendesk": Zendesk.from_settings,
    "freshdesk": Freshdesk.from_settings,
}
"""kind -> constructor taking that kind's `[[helpdesks]]` settings section."""

__all__ = [
    "HELPDESK_KINDS",
    "CustomerMail",
    "Entry",
    "EntryKind",
    "EscalationOrder",
    "Helpdesk",
    "HelpdeskError",
    "HelpdeskFactory",
    "Mark",
    "Person",
    "RemoteAttachment",
    "RemoteTicket",
    "TicketPage",
    "find_entry",
    "normalise",
]
