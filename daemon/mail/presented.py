"""presented: what routing, retrieval and drafting read of a mail, each piece labelled.

Decides how the customer's note, the messages they forwarded and the text of their PDF
attachments are shown to the stages that decide what the mail is about. The note comes first
and is never cut for the others; each forwarded message ("Forwarded message from X (date,
subject):") and each attachment text ("Attachment invoice.pdf (PDF text):") follows under its
label, cut to a share of a budget, so a long forwarded newsletter cannot drown a short note
while a forwarded order confirmation under "see below" is still read (it is often the whole
question). When the note is short the extras get the whole budget, else as much as the note
is long (`extra_budget`). All of it is customer data: the LLM prompts wrap each piece in its
own `<customer_…>` element, masked and defused like the body (`daemon.llm.prompts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daemon.records import Address, Attachment, Forwarded, ParsedMail

SHORT_NOTE_CHARS = 200
"""A note this short ("FYI", "see below, where is it?") leaves the question to the extras."""
EXTRA_MIN_CHARS = 600
"""The extras always get at least this much (the start of a forwarded confirmation)."""


@dataclass(frozen=True, slots=True)
class Extra:
    """A forwarded message or an attachment's text, with the label it is shown under."""

    kind: Literal["forwarded", "attachment"]
    label: str
    subject: str
    text: str
    attrs: dict[str, str]
    """What the prompt element carries besides the label (from, date, subject; name, format)."""


def note_of(mail: ParsedMail) -> str:
    """What the customer wrote now: with a forward, only the note above it (maybe empty)."""
    return mail.reply_text if mail.forwarded else (mail.reply_text or mail.text)


def extras_of(mail: ParsedMail) -> list[Extra]:
    """The forwarded messages, outermost first, then every attachment text (the mail's own,
    then those of the forwarded messages)."""
    found = [forwarded_extra(f) for f in mail.forwarded if f.text.strip() or f.subject]
    attachments = [*mail.attachments, *(a for f in mail.forwarded for a in f.attachments)]
    found += [attachment_extra(a) for a in attachments if a.text]
    return found


def forwarded_extra(fwd: Forwarded) -> Extra:
    sender = who(fwd.sender)
    details = ", ".join(x for x in (fwd.date or "", f'"{fwd.subject}"' if fwd.subject else "") if x)
    label = f"Forwarded message from {sender}" + (f" ({details})" if details else "") + ":"
    address = (fwd.sender.email or fwd.sender.name) if fwd.sender else ""
    attrs = {"from": address, "date": fwd.date or "", "subject": fwd.subject}
    return Extra("forwarded", label, fwd.subject, fwd.text, attrs)


def attachment_extra(att: Attachment) -> Extra:
    name = att.filename or "(unnamed)"
    label = f"Attachment {name} (PDF text):"
    return Extra("attachment", label, "", att.text or "", {"name": name, "format": "PDF text"})


def who(sender: Address | None) -> str:
    if sender is None:
        return "(unknown sender)"
    if sender.name and sender.email:
        return f"{sender.name} <{sender.email}>"
    return sender.email or sender.name or "(unknown sender)"


def extra_budget(note: str, most: int) -> int:
    """Characters the extras get beside `note`: all of `most` for a short note, else as many
    as the note has, between `EXTRA_MIN_CHARS` and `most`."""
    if len(note.strip()) < SHORT_NOTE_CHARS:
        return most
    return max(min(len(note), most), min(EXTRA_MIN_CHARS, most))


def shares(extras: list[Extra], budget: int) -> list[str]:
    """Each extra's text cut to an even share of `budget`; a short one leaves its unused
    share to those after it."""
    out: list[str] = []
    left = budget
    for index, extra in enumerate(extras):
        share = left // (len(extras) - index) if left > 0 else 0
        text = extra.text.strip()[:share]
        left -= len(text)
        out.append(text)
    return out


def labelled_text(mail: ParsedMail, note_chars: int, extra_chars: int) -> str:
    """The note (up to `note_chars`), then each extra under its label, within
    `extra_budget`: the text the rule router and tool-argument extraction read."""
    note = note_of(mail)[:note_chars]
    extras = extras_of(mail)
    texts = shares(extras, extra_budget(note, extra_chars))
    pieces = [note, *(f"{e.label}\n{t}" for e, t in zip(extras, texts, strict=True))]
    return "\n\n".join(p for p in pieces if p.strip())
