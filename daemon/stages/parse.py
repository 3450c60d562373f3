"""parse: raw bytes to a `ParsedMail`, never an exception.

Decides what a message says. Broken input gives a record with what could be read plus a list
of defects. An oversized message kept only as headers (a stub) is escalated at once.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Sequence
from dataclasses import replace
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from daemon.item import Context, Item
from daemon.mail.auth import read_auth
from daemon.mail.auto import detect_auto
from daemon.mail.bounce import detect_bounce
from daemon.records import Address, Attachment, Escalated, ParsedMail


def run(item: Item, ctx: Context) -> Item | Escalated:
    parsed = parse_bytes(item.raw, ctx.settings.screen.trusted_authserv_ids)
    item = replace(item, parsed=parsed)
    if item.stub_reason:
        return Escalated(f"kept as headers only: {item.stub_reason}")
    return item


def parse_bytes(raw: bytes, trusted: Sequence[str] = ()) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    sender = _addresses(msg, "From")
    body = msg.get_body(("plain", "html"))
    text = body.get_content() if body is not None else ""
    attachments = tuple(_attachment(p) for p in msg.iter_attachments())
    return ParsedMail(
        message_id=_msgid(msg.get("Message-ID")),
        in_reply_to=_msgid(msg.get("In-Reply-To")),
        references=tuple(
            r for r in (_msgid(x) for x in str(msg.get("References", "")).split()) if r
        ),
        sender=sender[0] if sender else None,
        reply_to=tuple(_addresses(msg, "Reply-To")),
        to=tuple(_addresses(msg, "To")),
        cc=tuple(_addresses(msg, "Cc")),
        subject=str(msg.get("Subject", "")),
        date=_date(msg.get("Date")),
        text=text,
        reply_text=text,
        signature=None,
        html=body is not None and body.get_content_type() == "text/html",
        attachments=attachments,
        language=None,
        auto=detect_auto(msg, sender[0].email if sender else None),
        bounce=detect_bounce(msg),
        auth=read_auth(msg, trusted),
        defects=tuple(type(d).__name__ for d in msg.defects),
    )


def _msgid(value: object) -> str | None:
    text = str(value or "").strip()
    return text.strip("<>") or None


def _addresses(msg: EmailMessage, header: str) -> list[Address]:
    values = [str(v) for v in msg.get_all(header, [])]
    return [Address(name, addr) for name, addr in getaddresses(values) if addr]


def _date(value: object) -> str | None:
    try:
        return parsedate_to_datetime(str(value)).isoformat() if value else None
    except (TypeError, ValueError):
        return None


def _attachment(part: EmailMessage) -> Attachment:
    data = part.get_payload(decode=True) or b""
    assert isinstance(data, bytes)
    return Attachment(
        filename=part.get_filename(),
        content_type=part.get_content_type(),
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),  # noqa: S324 (a checksum the contract asks for)
        sha256=hashlib.sha256(data).hexdigest(),
        inline=part.get_content_disposition() == "inline",
        content_id=_msgid(part.get("Content-ID")),
    )
