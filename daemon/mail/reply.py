"""reply: what the sender wrote now, without the quoted history and without the signature.

Decides, line by line, which lines of a plain-text body are history: a quote header (an
attribution such as "On … wrote:", an Outlook/GMX/Thunderbird header block, an "-----Original
Message-----" separator — recognised by structure and scored evidence in the 38 languages of
language.py by daemon/mail/quote_header.py, see daemon/mail/README.md), the `>` lines that
follow it, and, when a header is followed by unmarked text, everything after it (Outlook quotes
without `>`). Lines the sender wrote between or after quotes are kept (inline and bottom-posted
answers). A forwarded message keeps its body: the forward is what the sender is sending. The
signature is found from the bottom: a "-- " delimiter, a "-Name" line, a sign-off ("Thanks,",
"Best regards,", "Mit freundlichen Grüßen") or a phone footer in any language ("Sent from my
iPhone", "Von meinem Mobilgerät gesendet") that starts a short tail of short lines. Our own
rules, measured against talon's and GitHub's email_reply_parser expectations in tests/corpus
(those libraries are not used: see ../shared/DEPENDENCIES.md)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from daemon.mail import lexicon
from daemon.mail.quote_header import (
    START_ROLES,
    attribution_end,
    attribution_start,
    header_block,
    label_role,
    may_end,
    one_line_header,
    phone_footer,
    separator,
    sign_off,
)

MAX_LINES = 1000
"""Longer bodies are not searched below this line (the quote is above it in real mail)."""
SIGNATURE_LINES = 12
"""A signature lies in this many last lines."""
SIGNATURE_LINE_CHARS = 60
"""A longer line is text, not signature."""

LEADS = "|".join(re.escape(w) for ws in lexicon.LEADS.values() for w in ws)
VERBS = "|".join(re.escape(w) for ws in lexicon.WROTE.values() for w in ws)
"""The lexicon's lead words and "wrote" verbs, as alternations for the shared-line split."""
INLINE_WROTE = re.compile(
    rf"^(?P<text>.*?\S)[\s-]*(?P<quote>(?:{LEADS})\s.{{0,300}}?(?:{VERBS})\s*:)\s*$"
)
LEAD_START = re.compile(rf"^[>\s*-]*(?:{LEADS})\b")
FORWARDS = (
    r"forwarded message|begin forwarded message|weitergeleitete nachricht|"
    r"message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|"
    r"vidarebefordrat meddelande|videresendt meddelelse|пересылаемое сообщение|"
    r"mensagem encaminhada|forwarded by"
)
FORWARD = re.compile(rf"^\s*(?:-{{2,}}\s*)?(?:{FORWARDS})\b.{{0,80}}$", re.I)
BLANK = r"[^\S\n]"
"""Whitespace within a line (the scans below run over the whole text)."""
MAY_START = re.compile(
    rf"\n(?=(?:[>*-]|{BLANK})*(?:{LEADS})\b|{BLANK}*\*?[\d_=-]|{BLANK}*(?i:{FORWARDS}))"
)
"""Lines (after their newline) a quote header or a forward line can start on, besides those
with a colon: a lead word, a digit or a rule character first (maybe bold: "*-----"), or a
forward phrase. With the
lines holding a colon, a superset found by one scan of the text, so that the per-line patterns
run on a few lines of a long body instead of on all of them."""
EMPTY_OR_QUOTE = re.compile(rf"\n(?={BLANK}*(?:\n|>|\Z))")
URL_LINE = re.compile(r"^\s*<?(?:https?://|www\.)\S+>?\s*$")
RULE_LINE = re.compile(r"^\s*[_-]{8,}\s*$")
QUOTE = re.compile(r"^\s*>")
LINK_OPEN = re.compile(r"[(<]https?://[^)>\s]*$")
LINK_PART = re.compile(r"\(https?://|^\S*[)>]\s*>?\s*$")

DELIMITER = re.compile(r"^\s*(?:--+|__+|—+|-- ?)\s*$")
DASH_NAME = re.compile(r"^-\s?[^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){0,2}\s*$")


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    signature: str | None


def extract_reply(text: str, sender_name: str = "") -> Reply:
    """The new text of a message and its signature (None when there is none)."""
    body, signature = split_signature(strip_quotes(text), sender_name)
    return Reply(body, signature)


# --- quotes --------------------------------------------------------------------------------


def strip_quotes(text: str) -> str:
    """Remove quoted history; keep what the sender wrote, also between and after quotes."""
    lines = split_shared_lines(one_newline(text).split("\n"))
    head, tail = lines[:MAX_LINES], lines[MAX_LINES:]
    kinds = classify(head)
    if is_forward(kinds):
        return text.strip()
    if "s" not in kinds and "m" not in kinds:  # nothing quoted (most first mails): all kept
        return "\n".join(lines).strip()
    kept = [line for line, keep in zip(head, keep_mask(head, kinds), strict=True) if keep]
    if tail and len(kept) == len(head):
        kept += tail
    return "\n".join(kept).strip()


def one_newline(text: str) -> str:
    """Lines end in LF whatever the transport wrote (CRLF from IMAP, LF from a Maildir), so
    the same mail reads the same from every source (a text already in LF is not copied)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def split_shared_lines(lines: list[str]) -> list[str]:
    """Put a quote header that shares a line with the reply ("ok On … wrote:") on its own line
    when quoted lines follow it."""
    out: list[str] = []
    done = 0
    for index in [i for i, line in enumerate(lines) if "wrote" in line or ":" in line[-3:]]:
        line = lines[index]
        match = INLINE_WROTE.match(line[:500])
        if match and quoted_next(lines, index) and not LEAD_START.match(line):
            out += lines[done:index]
            out += [match.group("text").rstrip(" -"), match.group("quote")]
            done = index + 1
    return out + lines[done:]


def quoted_next(lines: list[str], index: int) -> bool:
    """The next non-blank line (of the next three) is a `>` quote."""
    following = next((n for n in lines[index + 1 : index + 4] if n.strip()), "")
    return bool(QUOTE.match(following))


def classify(lines: list[str]) -> list[str]:
    """One letter per line: e(mpty), m(arked quote), s(plitter), f(orward), t(ext)."""
    text = "\n" + "\n".join(lines)
    kinds = ["t"] * len(lines)
    for index in line_numbers(text, EMPTY_OR_QUOTE.finditer(text)):
        kinds[index] = "e" if not lines[index].strip() else "m"
    colons = [i for i, line in enumerate(lines) if ":" in line or "：" in line]
    candidates = sorted({*colons, *line_numbers(text, MAY_START.finditer(text))})
    floor = 0  # lines above it belong to a quote header found already
    for index in candidates:
        if index < floor:
            continue
        span = splitter_span(lines, index, floor)
        if span:
            start, floor = span
            kinds[start:floor] = ["s"] * (floor - start)
        elif kinds[index] == "t" and FORWARD.match(lines[index][:200]):
            kinds[index] = "f"
    if "s" not in kinds and kinds.count("m") < 3:
        kinds = ["t" if k == "m" else k for k in kinds]  # a stray ">" is not a quote
    return kinds


def line_numbers(text: str, matches: Iterator[re.Match[str]]) -> Iterator[int]:
    """The line of `"\\n" + "\\n".join(lines)` each match starts on (matches in order, each at
    its line's newline), counting newlines between them instead of indexing every line."""
    line = seen = 0
    for match in matches:
        line += text.count("\n", seen, match.start())
        seen = match.start()
        yield line


def splitter_span(lines: list[str], index: int, floor: int) -> tuple[int, int] | None:
    """(first line, line after) of a quote header at `index`: a separator, a header block
    starting there, or an attribution ending there (see daemon/mail/quote_header.py)."""
    first = lines[index][:400]
    if not first.strip() or (QUOTE.match(first) and not first.lstrip("> \t")):
        return None
    if first.lstrip(" >*")[:1] in "-_=":
        if separator(first):
            return index, index + 1
        block = RULE_LINE.match(first) and index + 1 < len(lines) and header_block(lines, index + 1)
        if block:
            return index, index + 1 + block
    role = label_role(first)
    if role:
        block = header_block(lines, index) or int(role in START_ROLES and one_line_header(first))
        if block:
            return index, index + block
    if not may_end(first):
        return None
    start = attribution_start(lines, index, floor, quoted_next(lines, index))
    return None if start is None else (start, attribution_end(lines, index))


def is_forward(kinds: list[str]) -> bool:
    """A forwarded message, with or without a note before it, is kept whole."""
    for kind in kinds:
        if kind == "f":
            return True
        if kind in "sm":
            return False
    return False


def keep_mask(lines: list[str], kinds: list[str]) -> list[bool]:
    """False for every line of quoted history."""
    keep = [True] * len(lines)
    index = 0
    while index < len(lines):
        kind = kinds[index]
        if kind == "s":
            end = quote_run_end(lines, kinds, index)
            if end is None:  # a header followed by unmarked text: the rest is history
                keep[index:] = [False] * (len(lines) - index)
                return keep
            keep[index:end] = [False] * (end - index)
            index = end
        elif kind == "m":
            end = quote_run_end(lines, kinds, index) or index + 1
            keep[index:end] = [False] * (end - index)
            index = end
        else:
            index += 1
    return keep


def quote_run_end(lines: list[str], kinds: list[str], start: int) -> int | None:
    """End of a quote header and the `>` lines after it, trailing blank lines included;
    None when the header is followed by unmarked text (or by nothing but blanks)."""
    index = start
    while index < len(kinds) and kinds[index] == "s":
        index += 1
    marked = False
    while index < len(kinds):
        kind = kinds[index]
        if kind == "m":
            marked = True
        elif kind == "t" and marked and broken_link(lines, index):
            pass
        elif kind != "e":
            break
        index += 1
    if not marked and kinds[start] == "s":
        return None
    return index


def broken_link(lines: list[str], index: int) -> bool:
    """A line that only continues a link the quote above broke (no `>` of its own)."""
    before = lines[index - 1] if index else ""
    return bool(LINK_OPEN.search(before) or LINK_PART.search(lines[index].strip()))


# --- signature -----------------------------------------------------------------------------


def split_signature(text: str, sender_name: str = "") -> tuple[str, str | None]:
    """(text without signature, signature or None), looking only at the last lines."""
    lines = text.rstrip().split("\n")
    start = signature_start(lines, sender_name)
    if start is None:
        return text.strip(), None
    body = "\n".join(lines[:start]).strip()
    return body, "\n".join(lines[start:]).strip()


def signature_start(lines: list[str], sender_name: str) -> int | None:
    """The line the signature begins on: the topmost signature-like line among the last
    `SIGNATURE_LINES` non-empty lines, never the first line (a body is not all signature)."""
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    names = name_tokens(sender_name)
    found, seen = None, 0
    for index in range(len(lines) - 1, first, -1):
        line = lines[index]
        if not line.strip():
            continue
        seen += 1
        if seen > SIGNATURE_LINES or (
            too_long(line) and not URL_LINE.match(line) and not phone_footer(line)
        ):
            break
        if starts_signature(lines, index, names):
            found = index
    return found


def starts_signature(lines: list[str], index: int, names: set[str]) -> bool:
    line = lines[index]
    stripped = line.strip()
    if DELIMITER.match(line) or phone_footer(line):
        return True
    if DASH_NAME.match(line):  # "-Name", unless it is an item of a list
        above = next((n for n in reversed(lines[:index]) if n.strip()), "")
        below = next((n for n in lines[index + 1 :] if n.strip()), "")
        return not any(n.lstrip().startswith(("-", "*", "•")) for n in (above, below))
    if sign_off(stripped):
        return True
    words = set(re.findall(r"[^\W\d_]{3,}", stripped.lower()))
    return len(stripped) <= 40 and bool(names & words) and not prose_follows(lines, index)


def prose_follows(lines: list[str], index: int) -> bool:
    """Two or more sentences after a name: the name was an address, not a signature."""
    return sum(len(line.split()) >= 4 for line in lines[index + 1 :]) >= 2


def too_long(line: str) -> bool:
    return len(line.strip()) > SIGNATURE_LINE_CHARS


def name_tokens(sender: str) -> set[str]:
    """The sender's names as lowercase words: "Bob Smith" or the local part of bob@foo.bar."""
    value = sender.split("@", 1)[0] if "@" in sender else sender
    return {w for w in re.split(r"[\W_\d]+", value.lower()) if len(w) >= 3}
