"""What tests build by hand: a ParsedMail with sensible values, raw customer mail, and a stage
`Context` for stages that need no database or role.

`parsed_mail` gives a record for stage tests, any field overridden by keyword. `raw_mail`
assembles a mail byte by byte, as our MX hands it over, so a test controls every byte (hostile
values included); `mime_mail` builds one with the standard library, for bodies with HTML
alternatives, attachments or threading. Both write header values verbatim and in a fixed
order, because the bytes are part of what a test tests: they feed Message-IDs, content hashes
and reply caps. Each test file keeps its own defaults in a thin wrapper around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from logging import LoggerAdapter, getLogger
from typing import Any

import jinja2
from sqlmodel import Session

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context, Roles
from daemon.records import Address, AuthResult, AutoInfo, DraftedReply, ParsedMail, Passage, Route

PARSED = ParsedMail(
    message_id="m@x",
    in_reply_to=None,
    references=(),
    sender=Address("A", "a@x.org"),
    reply_to=(),
    to=(),
    cc=(),
    subject="s",
    date=None,
    text="t",
    reply_text="t",
    signature=None,
    html=False,
    attachments=(),
    language="en",
    auto=AutoInfo(),
    bounce=None,
    auth=AuthResult(),
    defects=(),
)

# a header value or body: text is written as UTF-8, bytes exactly as given
Text = str | bytes


def parsed_mail(**fields: Any) -> ParsedMail:
    return replace(PARSED, **fields)


def raw_mail(
    *,
    sender: Text,
    to: Text,
    subject: Text,
    message_id: Text | None = None,
    date: Text | None = None,
    headers: Sequence[Text] = (),
    body: Text,
    auth: Text | None = None,
    date_first: bool = False,
    eol: str = "\r\n",
) -> bytes:
    """Authentication-Results (when given), From, To, Subject, Message-ID and Date (each when
    given; Date first when `date_first`), then `headers` as whole lines, a blank line, the body
    and a final line end. Values are verbatim: a Message-ID carries its own angle brackets."""
    lines: list[Text] = [] if auth is None else [b"Authentication-Results: " + _bytes(auth)]
    lines += [b"From: " + _bytes(sender), b"To: " + _bytes(to), b"Subject: " + _bytes(subject)]
    stamps = [(b"Message-ID: ", message_id), (b"Date: ", date)]
    if date_first:
        stamps.reverse()
    lines += [name + _bytes(value) for name, value in stamps if value is not None]
    lines += headers
    end = eol.encode()
    return end.join(_bytes(line) for line in lines) + end + end + _bytes(body) + end


def mime_mail(
    *,
    sender: str,
    to: str,
    subject: str,
    message_id: str,
    date: str,
    body: str,
    auth: str | None = None,
    date_first: bool = False,
    in_reply_to: str | None = None,
    references: str | None = None,
    html: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """An EmailMessage with the same header order as `raw_mail`, In-Reply-To and References
    (the parent alone unless `references` is given) after them, a plain body, an optional HTML
    alternative and (filename, "type/subtype", data) attachments; its bytes as Python writes
    them (LF line ends)."""
    msg = EmailMessage()
    if auth is not None:
        msg["Authentication-Results"] = auth
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    stamps = [("Message-ID", message_id), ("Date", date)]
    if date_first:
        stamps.reverse()
    for name, value in stamps:
        msg[name] = value
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def _bytes(value: Text) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


class Unused:
    """A router, retriever and drafter for a stage that must not call any of them."""

    name = "unused"

    def route(self, item: Item, ctx: Context) -> Route:
        raise AssertionError("this stage must not route")

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]:
        raise AssertionError("this stage must not search")

    def close(self) -> None:
        pass

    def draft(self, item: Item, ctx: Context) -> DraftedReply:
        raise AssertionError("this stage must not draft")


def context(settings: Settings, roles: Roles | None = None) -> Context:
    """A stage context on an unbound session (a stage that queries fails loudly) with
    roles that must not be called unless given."""
    unused = Unused()
    return Context(
        session=Session(),
        settings=settings,
        now=datetime.now(UTC),
        log=LoggerAdapter(getLogger("t"), {}),
        roles=roles or Roles(unused, unused, unused, jinja2.Environment(autoescape=True)),
    )
