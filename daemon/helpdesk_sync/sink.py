"""The outbox's sink when helpdesks are configured: replies on tickets of a `source`-mode
helpdesk go through the helpdesk's reply API, everything else through the mail sink.

Decides where one queued mail is delivered. The outbox keeps its exactly-once machinery
(`queued → sending → sent`, a crash check before any resend) and only sees a `MailSink`; this
one looks the outbox row up by its deterministic Message-ID, and when it is a customer reply on
a ticket that lives in a source-mode helpdesk, posts the reply's text as the helpdesk's public
reply, so the helpdesk mails the customer from its own address (where their answer comes back
to) and keeps the conversation whole. A `mirror`-mode helpdesk is the agents' workspace but not
the channel: the customer wrote to our mailbox, so the reply goes by mail, threaded with our
Message-IDs, and is recorded in the helpdesk as a note (`push.py`). A helpdesk that refuses
the credentials makes the send transient (the reply waits for the operator; the poller disables
the helpdesk and alerts) rather than failing the reply for ever.

Exactly once, as the Sent folder does it for SMTP: every reply posted ends with its reference,
`[ref:hd-<16 hex>]`, derived from the outbox row's Message-ID, so the helpdesk's conversation
says whether that very reply is there (a text match could not tell two equal replies apart).
The shared HTTP client never repeats the post when the helpdesk may have taken it; after such
an ambiguous failure (a read timeout, a connection dropped after sending, a 5xx) the ticket's
public replies are read back at once: the reference found means sent, otherwise — or when the
conversation cannot be read — the send raises `DeliveryUnknown` and the outbox parks the row as
`unknown` for `helpdeskd outbox resolve`. Never posted again blindly. After a crash (`was_sent`)
the same look-up decides.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import Engine
from sqlmodel import select

from connectors.base import ConnectorError, DeliveryUnknown, MailSink, OutboundMail
from connectors.helpdesk import Helpdesk, HelpdeskError, find_entry
from daemon.store.engine import session_scope
from daemon.tables import Outbox, Ticket


@dataclass(frozen=True, slots=True)
class Target:
    helpdesk: str
    ticket_id: str | None


class HelpdeskReplySink:
    name = "helpdesk-replies"

    def __init__(
        self,
        mail: MailSink,
        engine: Engine,
        helpdesk: Callable[[str], Helpdesk],
        channels: frozenset[str],
    ) -> None:
        self.mail = mail
        self.engine = engine
        self.helpdesk = helpdesk
        self.channels = channels
        """Names of the helpdesks that are the customer's channel (source mode)."""

    def send(self, mail: OutboundMail) -> str:
        target = self.target(mail.message_id)
        if target is None:
            return self.mail.send(mail)
        remote = require_remote(target, mail.message_id)
        marker = reply_marker(mail.message_id)
        try:
            helpdesk = self.helpdesk(target.helpdesk)
            return helpdesk.send_reply(remote, marked(reply_text(mail.raw), marker))
        except HelpdeskError as exc:
            if not exc.ambiguous:
                raise waiting_for_operator(exc) from exc
            failure = exc
        return self.settle(Target(target.helpdesk, remote), marker, failure)

    def settle(self, target: Target, marker: str, failure: HelpdeskError) -> str:
        """After an ambiguous failure: the ticket's conversation says whether the reply is in."""
        found = self.find_reply(target, marker)
        if found:
            where = f"{target.helpdesk} ticket {target.ticket_id}"
            return f"{where}: reply {marker} found in the ticket after: {failure}"
        seen = "is not in" if found is False else "could not be read back from"
        raise DeliveryUnknown(
            f"{failure}; the reply {marker} {seen} {target.helpdesk} ticket {target.ticket_id}: "
            "look at the ticket, then `helpdeskd outbox resolve ID --delivered|--not-delivered`"
        )

    def was_sent(self, message_id: str) -> bool | None:
        target = self.target(message_id)
        if target is None:
            return self.mail.was_sent(message_id)
        if target.ticket_id is None:
            return False
        return self.find_reply(target, reply_marker(message_id))

    def find_reply(self, target: Target, marker: str) -> bool | None:
        """Is a public reply carrying `marker` on the ticket? None when it cannot be read."""
        assert target.ticket_id is not None
        try:
            helpdesk = self.helpdesk(target.helpdesk)
            entries = helpdesk.conversation(helpdesk.ticket(target.ticket_id))
        except ConnectorError:
            return None  # cannot tell: the outbox parks the row for an operator
        return find_entry(entries, marker, ("reply",)) is not None

    def target(self, message_id: str) -> Target | None:
        """The helpdesk ticket a queued customer reply belongs to; None for plain mail."""
        with session_scope(self.engine) as session:
            row = session.exec(select(Outbox).where(Outbox.message_id == message_id)).first()
            if row is None or row.kind != "reply" or row.ticket_id is None:
                return None
            ticket = session.get(Ticket, row.ticket_id)
            if ticket is None or ticket.helpdesk is None or ticket.helpdesk not in self.channels:
                return None
            return Target(ticket.helpdesk, ticket.helpdesk_ticket_id)

    def close(self) -> None:
        self.mail.close()


def require_remote(target: Target, message_id: str) -> str:
    if target.ticket_id is None:
        raise ConnectorError(
            f"{message_id}: its ticket is not in helpdesk {target.helpdesk} yet "
            "(mirroring it comes first): retried later"
        )
    return target.ticket_id


def waiting_for_operator(exc: HelpdeskError) -> ConnectorError:
    """Only a problem with this one ticket fails the reply; a broken connector makes it wait."""
    if exc.permanent and exc.scope == "item":
        return ConnectorError(str(exc), permanent=True)
    return ConnectorError(str(exc), permanent=False)


def reply_marker(message_id: str) -> str:
    """The reference a reply posted to a helpdesk ends with: unique per outbox row, stable
    across restarts, and telling nothing about our Message-IDs."""
    return "[ref:hd-" + hashlib.sha256(message_id.encode()).hexdigest()[:16] + "]"


def marked(text: str, marker: str) -> str:
    return f"{text}\n\n{marker}"


def reply_text(raw: bytes) -> str:
    """The text/plain body of a composed reply (what the helpdesk sends the customer)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(("plain",))
    return str(body.get_content()).strip() if body is not None else ""
