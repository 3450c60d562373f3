"""Prompt-injection signals: mail that talks to the model instead of to us.

Decides which mail is suspected of trying to instruct the model: "ignore previous
instructions" in several languages, fake system or assistant turns and chat-template tokens,
requests to reveal the prompt or to call tools by name — in the new text, the quoted history,
attachment names, text attachments, forwarded messages and PDF text — and any text hidden in
HTML (not displayed, 2px or smaller, low contrast, transparent, off-screen:
`daemon.llm.hidden`). A suspected mail is still
drafted — the agent gets a useful draft — but it is never sent without an agent, and it is
offered only read-only tools. The defence does not rest on this list: identity-bound tool
arguments and result ownership hold for every mail; this list only keeps a gullible model's
answer away from the customer.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage

from daemon.llm.hidden import hidden_text
from daemon.mail.presented import extras_of, note_of
from daemon.records import ParsedMail

INSTRUCTION_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "ignore instructions",
        r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}"
        r"\b(instructions?|prompts?|rules|guidelines|directives|system message)\b",
    ),
    ("ignore instructions", r"\bignor\w*\b[^.\n]{0,40}\b(anweisungen|instruktionen|regeln)\b"),
    (
        "ignore instructions",
        r"\bignor\w*\b[^.\n]{0,40}\binstructions\b|"
        r"\bignor\w*\b[^.\n]{0,40}\binstrucciones\b|\bignor\w*\b[^.\n]{0,40}\bistruzioni\b",
    ),
    (
        "role play",
        r"\byou are (now|no longer)\b|\bact as (an? |the )?(admin|system|developer|"
        r"assistant without)|\bpretend (to be|you are)\b|\bdeveloper mode\b|\bjailbreak\b",
    ),
    ("fake turn", r"(^|\n)\s*(\#{1,3}\s*)?\[?(system|assistant|developer|tool)\]?\s*[:>]"),
    ("chat template token", r"<\|[a-z_]+\|>|\[/?INST\]|<<\/?SYS>>|<\/?(system|assistant)>"),
    (
        "new instructions",
        r"\bnew (instructions|task|rules)\s*:|\bsystem prompt\b|"
        r"\b(reveal|print|show|repeat)\b[^.\n]{0,30}\b(prompt|instructions)\b",
    ),
    (
        "tool request",
        r"\b(call|invoke|use|run)\b[^.\n]{0,20}\b(tool|function)\b|"
        r"\"(name|arguments|tool_calls?)\"\s*:",
    ),
    ("confidence steering", r"\b(confidence|needs_human|citations)\b\s*[:=]"),
)
COMPILED = tuple((label, re.compile(rx, re.I)) for label, rx in INSTRUCTION_PATTERNS)
MIN_HIDDEN_CHARS = 12
"""Less hidden text than this is layout (a spacer), not a message."""
MAX_PARTS = 50
"""MIME parts scanned per mail (a bomb of thousands is cut, not walked)."""
MAX_TEXT_CHARS = 200_000
"""Text of one attachment scanned."""
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Suspicion:
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def describe(self) -> str:
        return "possible prompt injection: " + "; ".join(self.reasons)


def scan_mail(mail: ParsedMail, raw: bytes, tool_names: Iterable[str] = ()) -> Suspicion:
    """Every injection signal in the mail's text (quoted history included), subject, hidden
    HTML, attachment names and text attachments."""
    reasons: list[str] = []
    text = f"{mail.subject}\n{mail.reply_text or mail.text}"
    labels = match_labels(text)
    reasons += [f"{label} in the text" for label in labels]
    reasons += [f"{x} in the quoted text" for x in match_labels(mail.text) if x not in labels]
    extras = extras_of(mail)
    everything = "\n".join([text, *(f"{e.subject}\n{e.text}" for e in extras)]).lower()
    for name in tool_names:
        if name.lower() in everything:
            reasons.append(f"names the tool {name}")
    for att in mail.attachments:
        labels = match_labels(att.filename or "")
        reasons += [f"{label} in an attachment name" for label in labels]
    hidden, why = hidden_html(raw)
    if hidden:
        labels = match_labels(hidden)
        reasons.append(f"hidden HTML text ({', '.join([*why, *labels])})")
    for body in attachment_texts(raw):
        reasons += [f"{label} in an attachment's text" for label in match_labels(body)]
    for extra in extras:  # forwarded messages and PDF text, as the prompt shows them
        where = "a forwarded message" if extra.kind == "forwarded" else "an attachment's text"
        found = match_labels(f"{extra.subject}\n{extra.text}")
        reasons += [f"{label} in {where}" for label in found]
    return Suspicion(tuple(dict.fromkeys(reasons)))


def match_labels(text: str) -> list[str]:
    return list(dict.fromkeys(label for label, rx in COMPILED if rx.search(text)))


def other_addresses(mail: ParsedMail) -> list[str]:
    """Addresses in the mail's text that are not the sender's (a third party's account?)."""
    own = {mail.sender.email.lower()} if mail.sender else set()
    ours = {a.email.lower() for a in (*mail.to, *mail.cc)}
    # the note and what was forwarded (whose text a forward used to keep in `reply_text`)
    texts = [note_of(mail), *(f.text for f in mail.forwarded)]
    found = {m.group(0).lower().rstrip(".") for t in texts for m in EMAIL.finditer(t)}
    return sorted(found - own - ours)


def hidden_html_text(raw: bytes) -> str:
    """Text of HTML parts styled to be invisible (what a person never reads)."""
    return hidden_html(raw)[0]


def hidden_html(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """The hidden text of the mail's HTML parts and why it is hidden (`daemon.llm.hidden`:
    one linear pass per part, bounded); empty when there is less than `MIN_HIDDEN_CHARS`."""
    texts: list[str] = []
    reasons: dict[str, None] = {}
    for part in parts_of(raw)[:MAX_PARTS]:
        if part.get_content_type() != "text/html":
            continue
        text, why = hidden_text(content_of(part))
        texts.append(text)
        reasons.update(dict.fromkeys(why))
    text = " ".join(t for t in texts if t)
    return (text, tuple(reasons)) if len(text) >= MIN_HIDDEN_CHARS else ("", ())


def attachment_texts(raw: bytes) -> list[str]:
    """The text of text attachments (a .txt, a forwarded .eml), each cut at `MAX_TEXT_CHARS`."""
    found: list[str] = []
    for part in parts_of(raw)[:MAX_PARTS]:
        if part.is_attachment() and part.get_content_maintype() in ("text", "message"):
            found.append(content_of(part)[:MAX_TEXT_CHARS])
    return found


def parts_of(raw: bytes) -> list[EmailMessage]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return [p for p in msg.walk() if isinstance(p, EmailMessage) and not p.is_multipart()]


def content_of(part: EmailMessage) -> str:
    """A part's text, or its raw payload when the charset or encoding is broken."""
    try:
        content = part.get_content()
    except (LookupError, ValueError, KeyError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    return content if isinstance(content, str) else str(content)
