"""Bounces: is this a delivery failure report, and which recipients failed, for good or for now?

Decides two things. First, whether a message is a bounce: an RFC 3464 delivery status
notification, an Exim `X-Failed-Recipients`, a MAILER-DAEMON, or a bounce subject or body phrase
confirmed by a sign that a mail system wrote it (a daemon, postmaster or no-reply sender, a null
Return-Path, `Auto-Submitted`; an attached message is a weak sign that only counts with a
server's own boilerplate). Words alone are never enough: "Delivery failure" is also what a
customer writes about a parcel, and "Fwd: Undelivered Mail" is a person asking for help.
Gateways that write no report at all (anti-virus, content filters, SMTP services, MDaemon,
Notes, GroupWise, localised Outlook NDRs) are scored: the sender's role, the subject and the body
against the word tables of `bounce_words.py` (many languages), and the report's own signs (an
SMTP reply, a recipient in angle brackets, failed recipients flufl.bounce finds); a person's
kind of subject ("Re:", "Fwd:", a question) and an unknown sender raise the bar.
Attached messages (`message/rfc822`) are not searched for evidence, so a bounce a customer
forwards as an attachment is the customer's mail; only once the outer message is a bounce do we
look inside one, for gateways that wrap the real report.

Second, the failed recipients: from the `message/delivery-status` parts when they name any,
else Amazon SES's JSON, else the notification text (the original message cut off) through
flufl.bounce (GNU Mailman's format detectors; kept only where the report text names the
address), `X-Failed-Recipients`, and a last pass over the addresses the report names. A
recipient is *permanent* when its status is 5.x.x (or the report says "failed" without one) and
*temporary* when it is 4.x.x (or "delayed"): the address may work again later.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from flufl.bounce import all_failures

from daemon.mail import bounce_words as words
from daemon.mail.mime import Hint, charset_hint, decode_words, split_addresses
from daemon.mail.subject import PREFIX as REPLY_PREFIX
from daemon.records import Bounce

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
ATTACHED_TYPES = frozenset({"message/rfc822", "message/global", "text/rfc822-headers"})
ADDRESS = re.compile(r"\w[\w.!#$%&'*+/=?^`{|}~-]*@(?:[\w-]+\.)+[\w-]{2,}", re.UNICODE)
ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
SMTP_REPLY = re.compile(r"(?<![\d.#-])([45])[0-5]\d(?![\d.%-])")
BRACKETED = re.compile(r"<\s*" + ADDRESS.pattern + r"\s*>")
MAILER_DAEMON = re.compile(r"mailer[-_.]?daemon", re.I)
PHRASE_TEXT = 4_000  # the telling sentence opens a report; do not scan a long body
MAX_TEXT = 20_000  # notification texts are short; a huge body is not a report worth reading

DAEMON_LOCAL = re.compile(
    r"^(mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|post[-_]master|"
    r"mail[-_.]?delivery[-_.]?system|no[-_.]?reply|do[-_.]?not[-_.]?reply)$",
    re.I,
)
DAEMON_NAME = re.compile(
    r"mail delivery (sub)?system|mailer[- ]daemon|mail deliver(y)? (system|service)|"
    r"internet mail delivery|postmaster|ndr administrator|mail administrator",
    re.I,
)
# Subjects only mail servers write, and ones a customer writes about a parcel too.
MTA_SUBJECT = re.compile(r"^\s*(\*\*\s*)?(" + "|".join(words.SERVER_SUBJECTS) + ")", re.I)
PLAIN_SUBJECT = re.compile(r"^\s*(" + "|".join(words.PLAIN_SUBJECTS) + ")", re.I)
GATEWAY_NAME = re.compile("|".join(map(re.escape, words.GATEWAY_NAMES)), re.I)
GATEWAY_LOCAL = re.compile(
    r"^(" + "|".join(map(re.escape, words.GATEWAY_LOCALS)) + r")([-_.+]\S*|[0-9a-f]{8,})?$", re.I
)
# An SMTP reply as a server quotes it ("550 5.1.1 ...", "550 User unknown"), not any number,
# or Exchange's "<mx.example.com #5.1.1>".
SMTP_LINE = re.compile(
    r"\b[45][0-5]\d[ -]+(?:#?[45]\.\d{1,3}\.\d{1,3}\b|.{0,60}?(?:user|mailbox|no such|unknown|"
    r"relay|denied|rejected|requested action|sorry|invalid|recipient|address))|"
    r"<[\w.-]+ #[45]\.\d{1,3}\.\d{1,3}>",
    re.I,
)
DELAY_WORDS = re.compile(
    r"\bdelay(ed)?\b|will (be )?retr(y|ied)|still (being )?retr|will (continue|keep) trying|"
    r"not yet been delivered|temporar|\bdeferred\b|zustellung nicht abgeschlossen|"
    r"vorübergehend|will try again",
    re.I,
)
# Plain lower-case substrings (a regex alternation this long is ~100x slower on a body): the
# boilerplate of mail servers, then words a person might also write.
MTA_PHRASES = words.SERVER_PHRASES
PLAIN_PHRASES = words.PLAIN_PHRASES
ORIGINAL_MARKERS = re.compile(
    r"^\s*(-{2,}.*(original message|copy of the message|returned message|message header|"
    r"headers? of (the )?(original|returned)|below this line|undelivered message|"
    r"original mail|rfc822|this is a copy)|"
    r"original message follows|the original message headers|"
    r"content-type: message/rfc822|return-path:\s*<|received:\s*from\s|message-id:\s*<)",
    re.I | re.M,
)
CONTACT = re.compile(
    r"contact|assistance|send mail to|questions|ご連絡|mail from:|^\s*from:|^\s*sender:", re.I
)
FOLD = re.compile(r"\r?\n(?=[ \t])")
JSON = json.JSONDecoder(strict=False)
HTML_TAG = re.compile(r"<[^>]{0,2000}>")
SNS_ID = "x-amz-sns-message-id"

# flufl.bounce logs a traceback (with the hostile mail's headers) for every detector that raises,
# then re-raises; `flufl_addresses` already turns that into "no recipients", so keep it quiet.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


@dataclass(frozen=True, slots=True)
class Look:
    """What the rules read, gathered once per message: every message gets checked, and a
    compat32 `get` scans the whole header list each time."""

    msg: Message
    raw: dict[str, str]  # the first raw value of each header, by lower-case name
    name: str
    address: str
    types: frozenset[str]  # content types of the message's own parts
    attached: bool  # it carries an attached message (message/rfc822 and the like)
    decoded: dict[str, str] = field(default_factory=dict)
    evidence: list[str | None] = field(default_factory=list)
    """`bounce_evidence` once worked out (the parse asks for it twice: auto, then bounce)."""
    texts: list[str] = field(default_factory=list)
    """The report's opening, lower-case, once read (`report_opening`)."""

    @classmethod
    def at(cls, msg: Message) -> Look:
        raw = first_raw_headers(msg)
        from_value = raw.get("from", "")
        name, address = parse_sender(decode_text(from_value, hint_for(msg, from_value)))
        types = frozenset(p.get_content_type() for p in iter_parts(msg, attached=True))
        return cls(msg, raw, name, address, types - ATTACHED_TYPES, bool(types & ATTACHED_TYPES))

    def header(self, name: str) -> str:
        key = name.lower()
        if key not in self.decoded:
            raw = self.raw.get(key)  # most names asked for are absent: nothing to decode
            self.decoded[key] = "" if raw is None else decode_text(raw, hint_for(self.msg, raw))
        return self.decoded[key]

    def report_opening(self) -> str:
        """The first `PHRASE_TEXT` characters of the notification text, lower-case."""
        if not self.texts:
            self.texts.append(notification_text(self.msg)[:PHRASE_TEXT].lower())
        return self.texts[0]


Evidence = Callable[[Look], str | None]


def detect_bounce(msg: Message | Look) -> Bounce | None:
    """The bounce's failed recipients, or None when the message is not a bounce."""
    if bounce_evidence(msg) is None:
        return None
    return failed_recipients(msg.msg if isinstance(msg, Look) else msg)


def bounce_evidence(msg: Message | Look) -> str | None:
    """Why `msg` is a bounce (a short reason for the audit trail), or None."""
    look = msg if isinstance(msg, Look) else Look.at(msg)
    if not look.evidence:
        look.evidence.append(find_evidence(look))
    return look.evidence[0]


def find_evidence(look: Look) -> str | None:
    for rule in EVIDENCE:
        reason = rule(look)
        if reason:
            return reason
    return None


def failed_recipients(msg: Message, depth: int = 0) -> Bounce:
    statuses = dsn_statuses(msg)
    if statuses is None:
        statuses = json_statuses(msg) if ses_notification(msg) else text_statuses(msg)
    if not statuses and depth < 2:
        # Some gateways wrap the real bounce as an attachment of their own notice.
        for inner in attached_messages(msg):
            if bounce_evidence(inner):
                return failed_recipients(inner, depth + 1)
    return Bounce(
        permanent=tuple(a for a, p in statuses.items() if p),
        temporary=tuple(a for a, p in statuses.items() if not p),
    )


# --- is it a bounce? -----------------------------------------------------------------------


def has_dsn_part(look: Look) -> str | None:
    msg = look.msg
    report = msg.get_content_type() == "multipart/report"
    if report and str(msg.get_param("report-type", "")).lower() == "delivery-status":
        return "delivery status notification (RFC 3464)"
    if look.types & DSN_TYPES:
        return "delivery status notification (message/delivery-status part)"
    return None


def has_failed_recipients_header(look: Look) -> str | None:
    return "X-Failed-Recipients header" if look.header("X-Failed-Recipients") else None


def from_mailer_daemon(look: Look) -> str | None:
    local = look.address.partition("@")[0]
    return "sent by MAILER-DAEMON" if MAILER_DAEMON.fullmatch(local) else None


def looks_like_bounce(look: Look) -> str | None:
    """A bounce subject or body phrase, confirmed by a sign that a mail system wrote it.

    An attached message alone is a weak sign (customers forward mail as attachments): then
    only a server's own wording counts, not words a person might use about a parcel. A subject
    that reads as a person's ("Returned mail?", "Re: ...") and a person's words in the body
    ("delivery failed") need the report itself too: an SMTP reply, a returned copy, or failed
    recipients flufl.bounce finds, since a person writes from postmaster@ as well.
    """
    system = written_by_system(look)  # first: cheap, and rules out most ordinary mail
    if system is None:
        return None
    strong = system != ATTACHED_ONLY
    subject = look.header("Subject")
    if not person_subject(subject) and (
        MTA_SUBJECT.search(subject) or (strong and PLAIN_SUBJECT.search(subject))
    ):
        return f"bounce subject {subject.strip()[:60]!r}, {system}"
    text = look.report_opening()
    if any(phrase in text for phrase in MTA_PHRASES):
        return f"bounce wording in the body, {system}"
    if strong and any(phrase in text for phrase in PLAIN_PHRASES) and report_signs(look):
        return f"bounce wording and an SMTP report in the body, {system}"
    return None


def person_subject(subject: str) -> bool:
    """A reply, a forward or a question: how people title mail, and servers do not."""
    return bool(REPLY_PREFIX.match(subject)) or subject.rstrip().endswith("?")


ATTACHED_ONLY = "the returned message attached"


def written_by_system(look: Look) -> str | None:
    """A sign, short of proof, that a mail server rather than a person sent the message."""
    local = look.address.partition("@")[0]
    if not look.address and not look.name:
        return "no sender"
    if DAEMON_LOCAL.match(local) or DAEMON_NAME.search(look.name):
        return f"from {look.address or look.name}"
    if look.header("Return-Path").strip() == "<>":
        return "null Return-Path"
    if look.header("Auto-Submitted").strip().lower() not in ("", "no"):
        return "Auto-Submitted"
    return ATTACHED_ONLY if look.attached else None


def gateway_report(look: Look) -> str | None:
    """A notice from a gateway that writes no DSN (anti-virus, content filters, SMTP services,
    MDaemon, Notes, GroupWise), scored: who sent it, its subject, its body, and the report's
    own signs (an SMTP reply, failed recipients flufl.bounce finds). Words alone never do."""
    subject = look.header("Subject")
    sender = sender_points(look)
    title = subject_points(subject)
    if not sender and not title:  # cannot reach the bar: spare ordinary mail the body scan
        return None
    body = body_points(look.report_opening())
    if title + body < 2:
        return None
    total = sender + title + body + report_signs(look)
    # The bar rises for an unknown sender and for a person's kind of subject (a reply,
    # a forward, a question): an IT person quoting "550 5.1.1 User unknown" stays a person.
    bar = 5 + (sender == 0) + person_subject(subject)
    if total >= bar:
        return f"bounce heuristics scored {total} (sender {sender}, subject {title}, body {body})"
    return None


def sender_points(look: Look) -> int:
    """2 for a mail system's own address or a null envelope, 1 for a gateway's role name or an
    attached message (each only a hint: a company's "System Administrator" writes too)."""
    system = written_by_system(look)
    if system is not None and system != ATTACHED_ONLY:
        return 2
    local = look.address.partition("@")[0]
    role = bool(GATEWAY_NAME.search(look.name) or GATEWAY_LOCAL.match(local))
    return min(2, role + look.attached)


def subject_points(subject: str) -> int:
    """2 for a server's subject, 1 for words a person also uses; a reply, forward or question
    counts 1 at most (a customer asking about a bounce)."""
    bare = REPLY_PREFIX.sub("", subject)
    points = 2 if MTA_SUBJECT.search(bare) else 1 if PLAIN_SUBJECT.search(bare) else 0
    return min(points, 1) if person_subject(subject) else points


def body_points(text: str) -> int:
    if any(phrase in text for phrase in MTA_PHRASES):
        return 2
    return 1 if any(phrase in text for phrase in PLAIN_PHRASES) else 0


def report_signs(look: Look) -> int:
    """What a report carries and a person's note seldom does (0 to 2): an SMTP reply quoted, a
    recipient in angle brackets, failed recipients that flufl.bounce's detectors find and the
    report's own text names."""
    text = look.report_opening()
    signs = bool(SMTP_LINE.search(text)) + bool(BRACKETED.search(text))
    if signs < 2:
        named = report_addresses(text)
        signs += bool(named and any(a in named for a in flufl_addresses(look.msg)))
    return min(signs, 2)


def ses_bounce_notification(look: Look) -> str | None:
    data = ses_notification(look) or {}
    kind = str(data.get("notificationType", ""))
    return f"Amazon SES {kind.lower()} notification" if kind in ("Bounce", "Delivery") else None


EVIDENCE: tuple[Evidence, ...] = (
    has_dsn_part,
    has_failed_recipients_header,
    from_mailer_daemon,
    looks_like_bounce,
    gateway_report,
    ses_bounce_notification,
)


# --- which recipients failed -----------------------------------------------------------------


def dsn_statuses(msg: Message) -> dict[str, bool] | None:
    """Recipient -> permanent?, from every per-recipient block of the DSN parts.

    None when there is no DSN part naming a recipient (then the text is read instead); an
    empty dict when every recipient named was delivered, relayed or expanded.
    """
    parts = [p for p in iter_parts(msg) if p.get_content_type() in DSN_TYPES]
    blocks = [b for p in parts for b in dsn_blocks(p)]
    if not any(block_recipient(b) for b in blocks):
        return None
    return statuses_of(blocks)


def statuses_of(blocks: list[dict[str, str]]) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for block in blocks:
        address = block_recipient(block)
        permanent = block_permanent(block)
        if address and permanent is not None:
            found.setdefault(address, permanent)
    return found


def dsn_blocks(part: Message) -> list[dict[str, str]]:
    """The header blocks of a delivery-status part, however it was parsed."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [
            {k: header_text(block, k) for k in DSN_FIELDS if block.get(k) is not None}
            for block in payload
            if isinstance(block, Message)
        ]
    return parse_blocks(part_text(part))


DSN_FIELDS = (
    "Final-Recipient",
    "Original-Recipient",
    "X-Actual-Recipient",
    "Action",
    "Status",
    "Diagnostic-Code",
)


def parse_blocks(text: str) -> list[dict[str, str]]:
    """'Name: value' blocks separated by blank lines (a DSN carried as text)."""
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        name = ""
        for line in chunk.splitlines():
            if line[:1] in (" ", "\t") and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                raw, _, value = line.partition(":")
                name = next((f for f in DSN_FIELDS if f.lower() == raw.strip().lower()), "")
                if name:
                    fields[name] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def block_recipient(block: dict[str, str]) -> str | None:
    # Original-Recipient is the address we sent to; Final-Recipient may be an alias target.
    for name in ("Original-Recipient", "Final-Recipient", "X-Actual-Recipient"):
        value = block.get(name, "").rpartition(";")[2]
        match = ADDRESS.search(value)
        if match:
            return match.group(0).lower()
    return None


def block_permanent(block: dict[str, str]) -> bool | None:
    """True for 5.x.x, False for 4.x.x, None when the block reports no failure."""
    action = block.get("Action", "").strip().lower()
    if action.startswith(("delivered", "relayed", "expanded")):
        return None
    code = status_class(block.get("Status", "")) or status_class(block.get("Diagnostic-Code", ""))
    if code:
        return None if code == "2" else code == "5"
    if action.startswith("delayed"):
        return False
    return True if action.startswith(("failed", "error")) else None


def status_class(text: str) -> str | None:
    match = ENHANCED_STATUS.search(text) or SMTP_REPLY.search(text)
    return match.group(1) if match else None


def ses_notification(msg: Message | Look) -> dict[str, Any] | None:
    """The JSON of an Amazon SES notification (bounce, complaint, delivery) relayed by SNS."""
    # SNS stamps every mail it sends; a Look has the header at hand, a Message is scanned
    stamp = msg.header(SNS_ID) if isinstance(msg, Look) else header_text(msg, SNS_ID)
    if not stamp:
        return None
    text = notification_text(msg.msg if isinstance(msg, Look) else msg).strip()
    if not text.startswith("{") or "notificationType" not in text:
        return None
    try:
        # SNS folds long lines inside strings and appends an unsubscribe footer.
        data = JSON.raw_decode(text)[0]
        if isinstance(data.get("Message"), str):
            data = JSON.raw_decode(data["Message"])[0]
    except (ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) and "notificationType" in data else None


def json_statuses(msg: Message) -> dict[str, bool]:
    data = ses_notification(msg)
    if data is None:
        return {}
    try:
        bounce = data["bounce"]
        permanent = str(bounce.get("bounceType", "")).lower() != "transient"
        return {
            str(r["emailAddress"]).lower(): permanent
            and (status_class(str(r.get("status", ""))) or "5") == "5"
            for r in bounce["bouncedRecipients"]
        }
    except (KeyError, TypeError, AttributeError):
        return {}


def text_statuses(msg: Message) -> dict[str, bool]:
    """Recipients named in the notification text, each classed by the words around it."""
    text = notification_text(msg)
    inline = statuses_of(parse_blocks(text))  # a DSN pasted into the text (broken MIME)
    if inline:
        return inline
    # flufl.bounce reads the whole message, the returned original too: keep what the report names.
    named = report_addresses(text)
    addresses = [a for a in flufl_addresses(msg) if a in named]
    addresses = addresses or header_addresses(msg, "X-Failed-Recipients")
    addresses = addresses or generic_addresses(msg, text)
    subject = header_text(msg, "Subject")
    default = not DELAY_WORDS.search(subject)
    return {a: text_permanent(text, a, default) for a in addresses}


def flufl_addresses(msg: Message) -> list[str]:
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # third-party heuristics on hostile input: no recipients
        return []
    found = (a.decode("ascii", "replace").strip("<>").lower() for a in (*permanent, *temporary))
    return sorted({a for a in found if ADDRESS.fullmatch(a)})


def generic_addresses(msg: Message, text: str) -> list[str]:
    """Addresses in the notification text that are neither the bounce's sender nor its target."""
    skip = {sender_address(msg), *header_addresses(msg, "To"), *header_addresses(msg, "Cc")}
    return [a for a in report_addresses(text) if a not in skip]


def report_addresses(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        if CONTACT.search(line):  # "please contact <support@...>" names a helper, not a victim
            continue
        for match in ADDRESS.finditer(line):
            address = match.group(0).lower().strip(".")
            if address not in found:
                found.append(address)
    return found


def text_permanent(text: str, address: str, default: bool) -> bool:
    """5.x.x or 4.x.x near the address (after it first), else the text's own status words."""
    at = text.lower().find(address)
    window = text[at : at + 600] if at >= 0 else ""
    code = status_class(window) or status_class(text)
    if code in ("4", "5"):
        return code == "5"
    if DELAY_WORDS.search(window or text):
        return False
    return default


# --- reading the message defensively -----------------------------------------------------------


def header_text(msg: Message, name: str) -> str:
    """A header as readable text, decoded as the parser decodes it; never raising."""
    raw = first_raw_headers(msg).get(name.lower(), "")
    return decode_text(raw, hint_for(msg, raw))


def first_raw_headers(msg: Message) -> dict[str, str]:
    """The first value of each header as it stood, by lower-case name.

    `raw_items` exists on both compat32 and `EmailMessage` and skips the modern policy's
    per-`get` parse, which costs more than everything else here together.
    """
    found: dict[str, str] = {}
    with suppress(Exception):  # a hand-built message with odd header objects: what we have
        for key, value in msg.raw_items():
            found.setdefault(str(key).lower(), str(value))
    return found


def decode_text(raw: str, hint: Hint = ()) -> str:
    """Unfold and decode with the parser's own decoder, so a header reads the same here as in
    the parsed mail: encoded words, and raw 8-bit bytes as UTF-8, else as the message's declared
    charsets (`hint`), else cp1252. Linear and capped (the stdlib's decode_header is quadratic).
    """
    return decode_words(FOLD.sub("", raw).strip(), hint)


def hint_for(msg: Message, raw: str) -> Hint:
    """The message's declared charsets, worked out only for a value with 8-bit bytes (rare:
    every message is checked, and the hint walks its parts)."""
    if raw.isascii():
        return ()
    with suppress(Exception):  # a hand-built message with odd parts: no hint, UTF-8 or cp1252
        return charset_hint(msg)
    return ()


def header_addresses(msg: Message, name: str) -> list[str]:
    try:
        values = [str(v) for v in msg.get_all(name, [])]
    except Exception:  # see header_text
        return []
    pairs = split_addresses(values)
    return [a.lower() for _, a in pairs if ADDRESS.fullmatch(a)]


def sender(msg: Message) -> tuple[str, str]:
    return parse_sender(header_text(msg, "From"))


def parse_sender(raw: str) -> tuple[str, str]:
    """(display name, lower-case address) of a From value; a bare MAILER-DAEMON counts."""
    pairs = split_addresses([raw])
    name, address = pairs[0] if pairs else ("", "")
    if not address and raw.strip() and "<>" not in raw:
        address = raw.strip()
    return name, address.strip().lower()


def sender_address(msg: Message) -> str:
    return sender(msg)[1]


def iter_parts(msg: Message, *, attached: bool = False) -> Iterator[Message]:
    """Every part of `msg`, not descending into attached messages (their parts are not ours).

    With `attached`, the attached message parts themselves are yielded too.
    """
    stack = deque([msg])
    while stack:
        part = stack.popleft()
        kind = part.get_content_type()
        if kind in ATTACHED_TYPES:
            if attached:
                yield part
            continue
        yield part
        if part.is_multipart() and kind not in DSN_TYPES:
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(c for c in children if isinstance(c, Message))


def attached_messages(msg: Message) -> Iterator[Message]:
    for part in iter_parts(msg, attached=True):
        payload = part.get_payload()
        if part.get_content_type() in ("message/rfc822", "message/global") and payload:
            inner = payload[0] if isinstance(payload, list) else None
            if isinstance(inner, Message):
                yield inner


def part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("latin-1")


def str_payload(part: Message) -> str:
    return part_text(part) if isinstance(part.get_payload(), str) else ""


def notification_text(msg: Message) -> str:
    """The human-readable report: text parts before any attached message, original cut off."""
    texts: list[str] = []
    for part in iter_parts(msg):
        kind = part.get_content_type()
        if kind == "text/plain" or (kind == "text/html" and not texts):
            text = part_text(part)
            texts.append(HTML_TAG.sub(" ", text) if kind == "text/html" else text)
        if sum(map(len, texts)) > MAX_TEXT:
            break
    if not texts:  # a broken multipart (no boundary) leaves its text as a plain payload
        texts = [p for p in map(str_payload, iter_parts(msg)) if p]
    text = "\n".join(texts)[:MAX_TEXT]
    cut = ORIGINAL_MARKERS.search(text, 40)
    return text[: cut.start()] if cut else text
