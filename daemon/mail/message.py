"""message: raw bytes to a `ParsedMail`, never an exception.

Decides what a message says: its addresses, subject, date and threading headers, its text and
the new reply in it (no quoted history, no signature), its attachments with hashes, its
language, and what the machine-mail, bounce and authentication readers make of it. Broken
input gives a record with what could be read plus a list of defects; even a failure of this
code itself becomes a defect on a minimal record. No database and no settings: worker
processes import only this (see `daemon.parse_pool`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import Message

from connectors.rfc5322.head import first
from connectors.rfc5322.msgid import MAX_PARSED_IDS, extract_ids, keep_thread
from daemon.mail.auth import read_auth
from daemon.mail.auto import detect_auto
from daemon.mail.body import Body, read_body
from daemon.mail.bounce import Look, detect_bounce
from daemon.mail.language import detect_language
from daemon.mail.mime import (
    Hint,
    charset_hint,
    decode_words,
    header_text,
    raw_header,
    read_addresses,
    read_date,
    read_message,
)
from daemon.mail.reply import extract_reply, split_signature
from daemon.records import Address, AuthResult, AutoInfo, ParsedMail

log = logging.getLogger("helpdeskd.parse")

SENDER_HEADERS = ("From", "Reply-To", "Sender")
"""Where the sender is read from, in order: a mail without a usable From is answered to its
Reply-To (spam tools and some web forms send no From)."""
THREAD_HEADERS = ("Message-ID", "In-Reply-To", "References")
KEPT_HEADERS = (
    "Auto-Submitted",
    "Precedence",
    "List-Id",
    "List-Unsubscribe",
    "X-Auto-Response-Suppress",
    "X-Autoreply",
    "Return-Path",
    "X-Helpdeskd-Ticket",  # our loop header: the screen recognises our own mail by it
)
"""Raw headers later stages may want, kept beside the contract (`ParsedMail.headers`)."""


def parse_bytes(raw: bytes, trusted: Sequence[str] = ()) -> ParsedMail:
    """Everything the contract says about `raw`; never raises."""
    try:
        return build(raw, trusted)
    except Exception as exc:  # the last guard: parse must return a record
        log.warning("parse failed, keeping a minimal record: %s: %s", type(exc).__name__, exc)
        return minimal(f"parser failed: {type(exc).__name__}: {exc}"[:300])


def parse_many(raws: list[bytes], trusted: Sequence[str] = ()) -> list[ParsedMail]:
    """`parse_bytes` of each (what a parse worker process runs)."""
    return [parse_bytes(raw, trusted) for raw in raws]


def build(raw: bytes, trusted: Sequence[str]) -> ParsedMail:
    parsed = read_message(raw)
    msg, defects = parsed.msg, parsed.defects
    hint = charset_hint(msg)
    sender = read_sender(msg, hint, defects)
    body = read_body(parsed, hint, defects)
    reply_text, signature = read_reply(body, sender)
    look = Look.at(msg)  # the headers as the machine-mail and bounce readers both see them
    ids = {name: read_ids(msg, name, defects) for name in THREAD_HEADERS}
    return ParsedMail(
        message_id=first(ids["Message-ID"]),
        in_reply_to=first(ids["In-Reply-To"]),
        references=tuple(keep_thread(ids["References"], MAX_PARSED_IDS)),
        sender=sender,
        reply_to=tuple(read_addresses(msg, "Reply-To", hint, defects)),
        to=tuple(read_addresses(msg, "To", hint, defects)),
        cc=tuple(read_addresses(msg, "Cc", hint, defects)),
        subject=" ".join((header_text(msg, "Subject", hint, defects) or "").splitlines()).strip(),
        date=read_date(raw_header(msg, "Date"), defects),
        text=body.text,
        reply_text=reply_text,
        signature=signature,
        html=body.html is not None,
        attachments=body.attachments,
        language=detect_language(reply_text or body.text),
        auto=detect_auto(look, sender.email if sender else None),
        bounce=detect_bounce(look),
        auth=read_auth(msg, trusted),
        defects=tuple(dict.fromkeys(defects)),
        headers=kept_headers(msg, hint),
    )


def read_ids(msg: Message, header: str, defects: list[str]) -> list[str]:
    """The valid msg-ids of a threading header: an invalid one (CR/LF in an encoded word,
    8-bit bytes, too long) never reaches threading or our reply's headers."""
    return extract_ids(raw_header(msg, header), defects, header)


def read_sender(msg: Message, hint: Hint, defects: list[str]) -> Address | None:
    local = None
    for header in SENDER_HEADERS:
        found = read_addresses(msg, header, hint, defects, local=True)
        full = [a for a in found if "@" in a.email]
        if full:
            if header != "From":
                defects.append(f"no usable From: sender read from {header}")
            return full[0]
        local = local or (found[0] if found else None)
    if local is None:
        defects.append("no sender address")
    return local


def read_reply(body: Body, sender: Address | None) -> tuple[str, str | None]:
    """The new text and the signature; HTML quotes are cut in the tree, plain ones by line."""
    name = " ".join(filter(None, (sender.name, sender.email))) if sender else ""
    if body.html_reply is not None:
        text, signature = split_signature(body.html_reply.text, name)
        return text, signature
    reply = extract_reply(body.text, name)
    return reply.text, reply.signature


def kept_headers(msg: Message, hint: Hint) -> dict[str, str]:
    kept = {}
    for name in KEPT_HEADERS:
        value = raw_header(msg, name)
        if value is not None:
            kept[name.lower()] = decode_words(value, hint)[:500]
    return kept


def minimal(defect: str) -> ParsedMail:
    return ParsedMail(
        message_id=None,
        in_reply_to=None,
        references=(),
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        subject="",
        date=None,
        text="",
        reply_text="",
        signature=None,
        html=False,
        attachments=(),
        language=None,
        auto=AutoInfo(),
        bounce=None,
        auth=AuthResult(),
        defects=(defect,),
    )
