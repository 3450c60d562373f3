"""head: a raw message's header block and its Message-ID, read without parsing the message.

Decides where the header block ends (the first empty line, CRLF or bare LF: `HEAD_END`), how a
folded header value is unfolded, and which Message-ID raw mail carries: the first Message-ID
header of the header block, read with `msgid.extract_ids` as the parser reads it, so the store's
deduplication, a helpdesk's lookup before the parse and the parsed message all agree on it.
"""

from __future__ import annotations

import re

from connectors.rfc5322.msgid import extract_ids

HEAD_END = re.compile(rb"\r?\n\r?\n")
MESSAGE_ID_HEADER = re.compile(rb"^message-id[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.I | re.M)


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID of raw mail without parsing it (what the store deduplicates and a
    helpdesk is asked about before the parse): the first Message-ID header of the header
    block, read as the parser reads it (`connectors.rfc5322.msgid`), so both agree."""
    end = HEAD_END.search(raw)
    head = raw[: end.start()] if end else raw[:65536]
    match = MESSAGE_ID_HEADER.search(head)
    if match is None:
        return None
    value = unfold(match.group(1).decode("ascii", "surrogateescape"))
    return first(extract_ids(value.strip(), [], "Message-ID"))  # valid ids only, as the parse


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip("\r\n")


def first(items: list[str]) -> str | None:
    return items[0] if items else None
