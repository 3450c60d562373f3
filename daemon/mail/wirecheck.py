"""wirecheck: does the mail we are about to queue say, on the wire, what we composed?

Decides whether the bytes of an outgoing message may be queued. The bytes are parsed back as a
receiving client would and compared with the message object they came from: the same header
names in the same order (no extra one: an injected `Bcc:` adds one, a blank line injected into
a value loses the rest), the same value for each once decoded, no control character (CR, LF,
NUL, …) in any decoded value, a valid Message-ID, header lines within 998 ASCII characters, and
one body part of the declared type holding the text we meant. Anything else is a reason, and
the outbox refuses the mail with it (the reply is escalated, never sent).
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage, Message

from connectors.rfc5322.msgid import is_valid

POLICY = email.policy.default
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MAX_LINE = 998


def wire_problem(msg: EmailMessage, raw: bytes) -> str | None:
    """Why `raw` (the bytes of `msg`) must not be sent, or None when it says what `msg` says."""
    back = email.message_from_bytes(raw, policy=POLICY)
    return (
        head_problem(raw)
        or headers_problem(header_values(msg), header_values(back))
        or message_id_problem(back)
        or body_problem(msg, back)
    )


def head_problem(raw: bytes) -> str | None:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if not head.isascii():
        return "a header line holds 8-bit bytes"
    if any(len(line.rstrip(b"\r")) > MAX_LINE for line in head.split(b"\n")):
        return f"a header line is longer than {MAX_LINE} characters"
    return None


def header_values(msg: Message) -> list[tuple[str, str]]:
    """(lower-case name, decoded value) of every header, in order. A value set raw (our
    threading headers) or read back from bytes is decoded the way a client decodes it."""
    out = []
    for name, value in msg.raw_items():
        decoded = value if hasattr(value, "name") else POLICY.header_factory(name, unfold(value))
        out.append((name.lower(), str(decoded)))
    return out


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).rstrip("\r\n")


def headers_problem(meant: list[tuple[str, str]], sent: list[tuple[str, str]]) -> str | None:
    for name, value in [*meant, *sent]:
        if CONTROL.search(value):
            return f"the {name} header holds a control character (CR, LF or NUL)"
    if [n for n, _ in meant] != [n for n, _ in sent]:
        extra = sorted({n for n, _ in sent} ^ {n for n, _ in meant})
        return f"the headers on the wire differ from those composed ({', '.join(extra) or 'order'})"
    for (name, want), (_, got) in zip(meant, sent, strict=True):
        if " ".join(want.split()) != " ".join(got.split()):
            return f"the {name} header on the wire differs from the one composed"
    return None


def message_id_problem(back: Message) -> str | None:
    value = str(back.get("Message-ID", "")).strip()
    if not (value.startswith("<") and value.endswith(">") and is_valid(value[1:-1])):
        return "the Message-ID is not a valid msg-id"
    return None


def body_problem(msg: EmailMessage, back: EmailMessage) -> str | None:
    if back.defects:
        return f"the message parses with defects: {type(back.defects[0]).__name__}"
    if back.is_multipart() or back.get_content_type() != msg.get_content_type():
        return f"the body is not one {msg.get_content_type()} part"
    if text(back) != text(msg):
        return "the body on the wire differs from the text composed"
    return None


def text(msg: EmailMessage) -> str:
    content = msg.get_content()
    return content if isinstance(content, str) else repr(content)
