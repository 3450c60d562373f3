"""Prompt-injection signals: mail that talks to the model instead of to us.

Decides which mail is suspected of trying to instruct the model: "ignore previous
instructions" in several languages, fake system or assistant turns and chat-template tokens,
requests to reveal the prompt or to call tools by name, text hidden in HTML (display:none,
zero font size, white-on-white), and the same in attachment names. A suspected mail is still
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

from bs4 import BeautifulSoup

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
HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|"
    r"opacity\s*:\s*0(?![.\d]*[1-9])|color\s*:\s*(#fff(fff)?|white)\b",
    re.I,
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Suspicion:
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def describe(self) -> str:
        return "possible prompt injection: " + "; ".join(self.reasons)


def scan_mail(mail: ParsedMail, raw: bytes, tool_names: Iterable[str] = ()) -> Suspicion:
    """Every injection signal in the mail's text, subject, HTML and attachment names."""
    reasons: list[str] = []
    text = f"{mail.subject}\n{mail.reply_text or mail.text}"
    reasons += [f"{label} in the text" for label in match_labels(text)]
    for name in tool_names:
        if name.lower() in text.lower():
            reasons.append(f"names the tool {name}")
    for att in mail.attachments:
        labels = match_labels(att.filename or "")
        reasons += [f"{label} in an attachment name" for label in labels]
    if hidden := hidden_html_text(raw):
        labels = match_labels(hidden)
        reasons.append("hidden HTML text" + (f" ({', '.join(labels)})" if labels else ""))
    return Suspicion(tuple(dict.fromkeys(reasons)))


def match_labels(text: str) -> list[str]:
    return list(dict.fromkeys(label for label, rx in COMPILED if rx.search(text)))


def other_addresses(mail: ParsedMail) -> list[str]:
    """Addresses in the mail's text that are not the sender's (a third party's account?)."""
    own = {mail.sender.email.lower()} if mail.sender else set()
    ours = {a.email.lower() for a in (*mail.to, *mail.cc)}
    found = {m.group(0).lower().rstrip(".") for m in EMAIL.finditer(mail.reply_text or mail.text)}
    return sorted(found - own - ours)


def hidden_html_text(raw: bytes) -> str:
    """Text of HTML elements styled to be invisible (what a person never reads)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    hidden: list[str] = []
    for part in msg.walk():
        if part.get_content_type() != "text/html":
            continue
        try:
            html = part.get_content()
        except (LookupError, ValueError):
            continue
        soup = BeautifulSoup(html, "html.parser")
        for tag in soup.find_all(style=HIDDEN_STYLE):
            hidden.append(tag.get_text(" ", strip=True))
        for tag in soup.find_all(hidden=True):
            hidden.append(tag.get_text(" ", strip=True))
    return " ".join(t for t in hidden if len(t) >= 12)
