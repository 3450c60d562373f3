"""The small Protocols the daemon talks to the outside world through, and the one error type.

A connector knows a protocol (Maildir, IMAP, SMTP, a helpdesk's REST API), never a policy: it
does not decide whether to answer, it fetches and delivers. Every connector raises only
`ConnectorError(message, permanent=...)`; the daemon retries a transient one with backoff and
stops using a connector after a permanent one, saving the text where the operator sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class ConnectorError(Exception):
    """A server or API failed. `permanent=True` means retrying cannot help (bad credentials,
    550 user unknown, 404); the text says what the operator should look at."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class DeliveryUnknown(ConnectorError):
    """A write whose fate nobody can tell: the request may have reached the server (a read
    timeout, a connection dropped after sending, a 5xx) and the server's record does not show it
    (or could not be read). Sending again could duplicate it, so it is never retried: the outbox
    parks the row as `unknown` for an operator."""


@dataclass(frozen=True, slots=True)
class FetchedMail:
    """One message as a source hands it over.

    `key` identifies it within the source for ever (Maildir unique name, `UIDVALIDITY:UID`);
    `cursor` is the source position *after* this message, committed with the message row so a
    restart neither loses nor re-reads it. `stub_reason` is set when the source deliberately kept
    only the headers (an oversized message): the daemon escalates such a stub.
    """

    key: str
    raw: bytes
    cursor: str | None = None
    stub_reason: str | None = None


@runtime_checkable
class MailSource(Protocol):
    name: str

    def fetch(self, cursor: str | None) -> Iterator[FetchedMail]:
        """Yield messages after `cursor` (None: from the start). Never changes the source."""
        ...

    def ack(self, mail: FetchedMail) -> None:
        """Acknowledge at the source, called only after the message row is committed.
        Must be idempotent."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboundMail:
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes


@runtime_checkable
class MailSink(Protocol):
    name: str

    def send(self, mail: OutboundMail) -> str:
        """Deliver one message; return the server's answer (e.g. `250 2.0.0 Ok`).
        Raises ConnectorError (permanent for 5xx)."""
        ...

    def was_sent(self, message_id: str) -> bool | None:
        """After a crash: was this Message-ID already delivered? None when the sink cannot tell."""
        ...

    def close(self) -> None: ...
