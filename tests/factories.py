"""Records for tests: a ParsedMail with sensible values, any field overridden by keyword."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from daemon.records import Address, AuthResult, AutoInfo, ParsedMail

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


def parsed_mail(**fields: Any) -> ParsedMail:
    return replace(PARSED, **fields)
