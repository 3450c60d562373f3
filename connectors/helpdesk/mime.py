"""RFC 5322 bytes for helpdesk entries: rebuilt from a stored MIME tree, or synthesised.

Decides what the pipeline's `messages.raw` holds for a message that came from a helpdesk API
rather than a mailbox. Request Tracker keeps each incoming email as a tree of attachments
(headers, bodies, files), so the original is rebuilt from that tree with every header RT kept.
Zendesk and Freshdesk give only fields, so a faithful message is synthesised from them: the
author as From, the ticket subject, the entry's time as Date, a deterministic Message-ID made
of the helpdesk's ids, the text (and HTML) body and every attachment, plus `X-Helpdesk-*`
headers naming where it came from. API fields are text, not headers: each is cleaned of control
characters and encoded-word openers (`connectors.rfc5322.headertext`) before it becomes one, so a
ticket subject cannot forge a header (an Authentication-Results, our loop header) in the mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from connectors.helpdesk.records import Entry, RemoteTicket
from connectors.rfc5322.headertext import MAX_NAME, clean_text

DROPPED_HEADERS = ("content-length", "content-transfer-encoding")
MAX_FIELD = 500
"""Characters of an API field kept in a synthesised header (the ticket subject's store cap)."""


@dataclass(frozen=True, slots=True)
class StoredPart:
    """One node of a helpdesk's stored MIME tree (RT's attachment rows)."""

    id: int
    parent: int
    headers: str
    content_b64: str | None
    content_type: str


def rebuild(parts: list[StoredPart]) -> bytes:
    """The message whose top node has parent 0, each leaf re-encoded as base64."""
    children: dict[int, list[StoredPart]] = {}
    for part in sorted(parts, key=lambda p: p.id):
        children.setdefault(part.parent, []).append(part)
    roots = children.get(0, [])
    if not roots:
        raise ValueError("no top-level part")
    return render(roots[0], children).encode("utf-8", "surrogateescape")


def render(part: StoredPart, children: dict[int, list[StoredPart]]) -> str:
    lines = [
        line
        for line in unfold(part.headers)
        if line.split(":", 1)[0].strip().lower() not in DROPPED_HEADERS
    ]
    kids = children.get(part.id, [])
    if part.content_type.startswith("multipart/") and kids:
        boundary = boundary_of(part.headers) or f"helpdeskd-{part.id}"
        body = "".join(f"--{boundary}\r\n{render(k, children)}\r\n" for k in kids)
        return "\r\n".join(lines) + f"\r\n\r\n{body}--{boundary}--\r\n"
    encoded = "\r\n".join(wrap_b64((part.content_b64 or "").replace("\n", "")))
    lines.append("Content-Transfer-Encoding: base64")
    return "\r\n".join(lines) + "\r\n\r\n" + encoded + "\r\n"


def unfold(headers: str) -> list[str]:
    """Header lines with continuation lines kept attached (folded with CRLF)."""
    out: list[str] = []
    for line in headers.splitlines():
        if line[:1] in (" ", "\t") and out:
            out[-1] += "\r\n" + line
        elif line.strip():
            out.append(line)
    return out


def boundary_of(headers: str) -> str | None:
    msg = EmailMessage()
    for line in unfold(headers):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            msg["Content-Type"] = value.strip()
            return msg.get_boundary()
    return None


def wrap_b64(data: str, width: int = 76) -> list[str]:
    return [data[i : i + width] for i in range(0, len(data), width)] or [""]


def synthesise(
    *,
    helpdesk: str,
    host: str,
    ticket: RemoteTicket,
    entry: Entry,
    to: str,
    files: list[tuple[str, str, bytes]],
) -> bytes:
    """An RFC 5322 message for an entry the helpdesk keeps only as fields.

    `files` are (filename, content type, bytes) of the entry's attachments."""
    msg = EmailMessage()
    author = entry.author
    msg["From"] = formataddr((clean_text(author.name, MAX_NAME), clean_text(author.email, 254)))
    msg["To"] = to
    msg["Subject"] = clean_text(ticket.subject, MAX_FIELD)
    msg["Date"] = format_datetime(parse_time(entry.created_at))
    msg["Message-ID"] = f"<{id_atom(helpdesk)}.{id_atom(ticket.id)}.{id_atom(entry.id)}@{host}>"
    msg["X-Helpdesk"] = clean_text(helpdesk, MAX_FIELD)
    msg["X-Helpdesk-Ticket"] = clean_text(ticket.id, MAX_FIELD)
    msg["X-Helpdesk-Entry"] = clean_text(entry.id, MAX_FIELD)
    if entry.via:
        msg["X-Helpdesk-Via"] = clean_text(entry.via, MAX_FIELD)
    msg.set_content(entry.text or "")
    if entry.html:
        msg.add_alternative(entry.html, subtype="html")
    for filename, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    return msg.as_bytes()


def id_atom(value: str) -> str:
    """A helpdesk's id as a msg-id piece: anything but letters, digits, '-' and '_' becomes
    '-' (an API field is text: a CR/LF or '>' in it must not reach the header)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", value)[:MAX_FIELD] or "-"


def parse_time(value: str) -> datetime:
    """An API timestamp (ISO 8601, 'Z' or offset) as an aware datetime; now when unreadable."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
