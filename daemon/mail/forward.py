"""forward: the messages a customer forwarded, split from the note they wrote above them.

Decides where a forwarded message starts and what its header says. Inline forwards are found
by a marker line from `FORWARD_MARKERS` (Gmail's "---------- Forwarded message ---------",
Apple Mail's "Begin forwarded message:", Thunderbird's "-------- Weitergeleitete Nachricht
--------", in 33 languages, decorations around the phrase ignored; Yahoo's fields glued onto
the marker line; iOS Mail's `>` quoted forward under the note) or, when the subject says
the mail is a forward ("Fwd:", "WG:", "TR:", "RV:", … `FORWARD_PREFIX`), by Outlook's
"-----Original Message-----" / "________" separator or its "From:/Sent:/To:/Subject:" header
block alone: in a reply the same block is quoted history (`daemon.mail.reply`), in a forward it
is the message forwarded. The header block after a marker is read with the labels of
`HEADER_LABELS`; what follows it is the forwarded text, split again (a forward of a forward) up
to `MAX_FORWARDED` messages. Attached messages (`message/rfc822` parts, not inside a delivery
report) are read with the same body reader as the mail itself, from the tree the
parser built under its bomb limits (`daemon.mail.mime`), `MAX_ATTACHED_DEPTH` levels deep
(those a bounce or an abuse report returns are skipped by `daemon.mail.message`). A marker
under an attribution ("On … wrote:" and its `>` quote) belongs to quoted history and is left
to the reply reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import parseaddr, parsedate_tz

from daemon.mail.body import read_body
from daemon.mail.mime import (
    MAX_DEPTH,
    Hint,
    Parsed,
    header_text,
    raw_header,
    read_addresses,
    read_date,
    read_message,
)
from daemon.mail.pdftext import PDF_LIMITS, PdfLimits
from daemon.records import Address, Forwarded

MAX_FORWARDED = 20
"""Forwarded messages read from one mail; more is a defect, not structure."""
MAX_ATTACHED_DEPTH = 5
"""Attached messages inside attached messages read this deep."""
MAX_TEXT_CHARS = 100_000
"""Text kept of one forwarded message (the whole mail's text is bounded by the parser)."""
HEADER_LINES = 12
"""Lines a forward's header block may take (a long To: list wraps)."""

# The phrases of a forward marker line, per language ("|" between them): the whole line is the
# phrase, with any dashes, stars, underscores, ">" or a colon around it (`DECORATION`).
FORWARD_MARKERS: dict[str, str] = {
    "en": (
        "forwarded message|begin forwarded message|forwarded email|forwarded mail|"
        "start of forwarded message|forwarded e-mail"
    ),
    "de": (
        "weitergeleitete nachricht|anfang der weitergeleiteten nachricht|nachricht weitergeleitet|"
        "weitergeleitete e-mail|weitergeleitete mail"
    ),
    "fr": (
        "message transféré|début du message réexpédié|message réexpédié|e-mail transféré|"
        "courriel transféré|début du message transféré"
        "|message transmis"
    ),
    "es": "mensaje reenviado|inicio del mensaje reenviado|correo reenviado",
    "it": "messaggio inoltrato|inizio messaggio inoltrato|e-mail inoltrata",
    "pt": (
        "mensagem encaminhada|início da mensagem encaminhada|início da mensagem reencaminhada|"
        "mensagem reencaminhada"
    ),
    "nl": "doorgestuurd bericht|begin doorgestuurd bericht|doorgestuurde e-mail",
    "pl": (
        "przekazana wiadomość|wiadomość przekazana|początek przekazywanej wiadomości|"
        "przekazywana wiadomość"
    ),
    "ru": (
        "пересылаемое сообщение|перенаправленное сообщение|пересланное сообщение|"
        "начало переадресованного сообщения|пересланное письмо"
    ),
    "uk": (
        "переслане повідомлення|пересланий лист|початок пересланого повідомлення|"
        "початок пересланого листа"
    ),
    "sv": (
        "vidarebefordrat meddelande|vidarebefordrat mejl|vidarebefordrat e-postmeddelande|"
        "början på vidarebefordrat meddelande"
    ),
    "da": "videresendt meddelelse|videresendt besked|start på videresendt besked",
    "no": "videresendt melding|start på videresendt melding|videresendt e-post",
    "fi": "välitetty viesti|edelleenlähetetty viesti|välitetyn viestin alku|välitetty viesti alkaa",
    "cs": "přeposlaná zpráva|přeposlaná zpráva začíná|začátek přeposílané zprávy",
    "sk": "preposlaná správa|začiatok preposlanej správy",
    "sl": "posredovano sporočilo",
    "hr": "proslijeđena poruka|početak proslijeđene poruke",
    "sr": "prosleđena poruka|прослеђена порука",
    "hu": "továbbított üzenet|továbbított levél|továbbított levél kezdete",
    "ro": "mesaj redirecționat|mesaj redirectionat|mesaj transmis|început mesaj redirecționat",
    "tr": "iletilen ileti|iletilmiş ileti|iletilen mesaj|yönlendirilmiş ileti",
    "el": "προωθημένο μήνυμα|αρχή προωθημένου μηνύματος",
    "bg": "препратено съобщение|препратено писмо",
    "ja": "転送されたメッセージ|転送メッセージ|転送メッセージの開始",
    "zh": (
        "转发的邮件|转发邮件|轉寄的郵件|转发的消息|"
        "以下为转发的邮件|以下是轉寄的郵件|以下是转发的邮件"
    ),
    "ko": "전달된 메시지|전달된 메일|전달 메시지",
    "he": "הודעה שהועברה|הודעה מועברת|תחילת הודעה שהועברה",
    "ar": "رسالة معاد توجيهها|رسالة محولة|الرسالة المُعاد توجيهها|بداية الرسالة المُعاد توجيهها",
    "vi": "thư đã chuyển tiếp|tin nhắn đã chuyển tiếp|bắt đầu tin nhắn được chuyển tiếp",
    "ca": "missatge reenviat|inici del missatge reenviat",
    "id": "pesan yang diteruskan|awal pesan yang diteruskan",
    "th": "ข้อความที่ส่งต่อ|เริ่มข้อความที่ส่งต่อ",
}
# Separators that start a forward only when the subject says the mail is one (Outlook and
# others write them above a reply's quoted history as well).
ORIGINAL_MARKERS: dict[str, str] = {
    "en": "original message",
    "de": "ursprüngliche nachricht|originalnachricht",
    "fr": "message d'origine|message original",
    "es": "mensaje original",
    "it": "messaggio originale",
    "pt": "mensagem original",
    "nl": "oorspronkelijk bericht|origineel bericht",
    "pl": "wiadomość oryginalna|oryginalna wiadomość",
    "ru": "исходное сообщение|оригинальное сообщение",
    "sv": "ursprungligt meddelande|originalmeddelande",
    "da": "oprindelig meddelelse",
    "no": "opprinnelig melding",
    "fi": "alkuperäinen viesti",
    "cs": "původní zpráva",
    "hu": "eredeti üzenet",
    "tr": "özgün ileti|orijinal mesaj",
    "zh": "原始邮件|原始郵件",
}
# Header labels of a forward's header block, per field, in the languages of the markers.
HEADER_LABELS: dict[str, str] = {
    "from": (
        "from|von|de|da|van|från|fra|od|от|від|lähettäjä|feladó|kimden|mittente|nadawca|afzender|"
        "remitente|expéditeur|absender|odesílatel|pošiljatelj|de la|από|"
        "発信者|差出人|发件人|寄件者|보낸 사람|מאת|من|người gửi"
    ),
    "date": (
        "date|sent|datum|gesendet|envoyé|envoyé le|enviado|enviada|enviado el|enviado em|fecha|"
        "data|inviato|verzonden|skickat|sendt|wysłano|wysłane|отправлено|дата|надіслано|lähetetty|"
        "päivämäärä|gönderildi|tarih|odesláno|elküldve|dátum|datě|ημερομηνία|στάλθηκε|日付|送信日時|日期|"
        "发送时间|寄件日期|날짜|보낸 날짜|תאריך|التاريخ|ngày"
    ),
    "subject": (
        "subject|betreff|objet|sujet|asunto|oggetto|onderwerp|ämne|emne|temat|тема|aihe|assunto|"
        "tárgy|konu|předmět|predmet|subiect|θέμα|件名|主题|主旨|제목|נושא|الموضوع|chủ đề"
    ),
    "to": (
        "to|an|à|a|para|aan|till|til|do|кому|komu|vastaanottaja|címzett|kime|destinatario|adresat|"
        "pour|odbiorca|destinataire|empfänger|προς|宛先|收件人|받는 사람|אל|إلى|người nhận"
    ),
    "cc": "cc|kopie|копия|kopia|kopio|másolat|bilgi|κοιν|抄送|참조",
    "reply-to": "reply-to|antwort an|répondre à|responder a|rispondi a",
}

FORWARD_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:(?:re|aw|sv|antw|odp|ответ)\s*:\s*)*"
    r"(?:fwd?|wg|tr|rv|i|enc|doorst|pd|vl|vb|vs|fs|přep|př|пересл|ilt|tov|prosl|"
    r"転送|转发|轉寄|전달|πρθ|הועבר)\s*[:：]",
    re.I,
)
DECORATION = " \t-_=*~#>:：\xa0"
"""What HTML-to-text conversion and the clients themselves put around a marker phrase."""
MARKER_CHARS = 120
"""A longer line is never a marker line (so most lines cost one length check)."""
FORWARD_PHRASES = frozenset(p for phrases in FORWARD_MARKERS.values() for p in phrases.split("|"))
ORIGINAL_PHRASES = frozenset(p for phrases in ORIGINAL_MARKERS.values() for p in phrases.split("|"))
RULE_LINE = re.compile(r"^\s*[_\-=]{10,}\s*$")
LABELS = {label: name for name, labels in HEADER_LABELS.items() for label in labels.split("|")}
HEADER_LINE = re.compile(
    r"^\s*[*_]*("
    + "|".join(re.escape(x).replace(r"\ ", r"\s") for x in sorted(LABELS, key=len, reverse=True))
    + r")[*_]*\s*[:：][*_]*[ \t]*(.*)$",
    re.I,
)
QUOTED = re.compile(r"^\s*>")
GLUED_LABEL = re.compile(
    "("
    + "|".join(
        re.escape(x.capitalize()) for x in sorted(LABELS, key=len, reverse=True) if len(x) > 1
    )
    + r")\s?:"
)
"""A capitalised label and its colon, anywhere in a line (one-letter labels left out: "A:" is
too often part of a value)."""


@dataclass(frozen=True, slots=True)
class Split:
    """A text as the customer's note and the messages forwarded below it."""

    note: str
    forwarded: tuple[Forwarded, ...] = ()


def is_forward_subject(subject: str) -> bool:
    return bool(FORWARD_PREFIX.match(subject))


def split_forward(text: str, subject: str = "", limit: int = MAX_FORWARDED) -> Split:
    """The note above the first forwarded message of `text`, and every message forwarded
    (outermost first; a forward inside a forward follows its parent)."""
    lines = text.split("\n")
    found = find_start(lines, is_forward_subject(subject))
    if found is None or limit <= 0:
        return Split(text.strip())
    if found.glued is not None:
        fields, body_at = read_glued(found.glued), found.line + 1
    else:
        fields, body_at = read_header_block(lines, found.header)
    body = unquote(lines[body_at:])
    inner = split_forward(body, fields.get("subject", ""), limit - 1)
    first = Forwarded(
        sender=read_sender(fields.get("from", "")),
        date=read_inline_date(fields.get("date")),
        subject=fields.get("subject", ""),
        text=inner.note[:MAX_TEXT_CHARS],
    )
    note = "\n".join(lines[: found.line]).strip()
    return Split(note, (first, *inner.forwarded)[:limit])


@dataclass(frozen=True, slots=True)
class Start:
    """Where a forward starts: its marker (or header) line, the line its header block starts
    on, and the header fields when they were glued onto the marker line (Yahoo)."""

    line: int
    header: int
    glued: str | None = None


def find_start(lines: list[str], forward_subject: bool) -> Start | None:
    """Where the first forwarded message starts, or None. A `>` quoted marker counts only
    when it opens its quote (iOS Mail quotes the forward under the note); one under an
    attribution ("On … wrote:") belongs to quoted history."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        quoted = QUOTED.match(line) is not None
        if quoted and not opens_quote(lines, index):
            continue
        text = strip_quote(line) if quoted else line
        phrase = marker_phrase(text)
        if phrase in FORWARD_PHRASES or (forward_subject and phrase in ORIGINAL_PHRASES):
            return Start(index, index + 1)
        glued = glued_fields(text)
        if glued is not None:
            return Start(index, index + 1, glued)
        if quoted or not forward_subject:
            continue
        if RULE_LINE.match(text[:200]) and header_block_at(lines, index + 1):
            return Start(index, index + 1)
        if header_block_at(lines, index):
            return Start(index, index)
    return None


def opens_quote(lines: list[str], index: int) -> bool:
    """The `>` line at `index` starts its quote, and no attribution line (ending in a colon)
    stands above it."""
    above = next((line for line in reversed(lines[:index]) if line.strip()), "")
    return not QUOTED.match(above) and not above.rstrip().endswith((":", "："))


GLUED = re.compile(r"^[\s\-_=*~#>]*(?P<phrase>[^\-:]{3,60}?)\s*-{3,}\s*(?P<rest>\S.*:.*)$")


def glued_fields(line: str) -> str | None:
    """The header fields Yahoo glues onto its marker line ("----- Forwarded Message -----
    From: X <x@y>To: …Sent: …Subject: …"), or None."""
    if "---" not in line:
        return None
    match = GLUED.match(line[:2000])
    if match is None or marker_phrase(match.group("phrase")) not in FORWARD_PHRASES:
        return None
    return match.group("rest")


def read_glued(text: str) -> dict[str, str]:
    """Fields glued together without line breaks, split where a capitalised label and its
    colon start ("…08:27:50 MEZBetreff: …")."""
    starts = [
        (m.start(), label_of_text(m.group(1)), m.end())
        for m in GLUED_LABEL.finditer(text)
        if label_of_text(m.group(1))
    ]
    fields: dict[str, str] = {}
    for (_, name, begin), (end, _, _) in zip(
        starts, [*starts[1:], (len(text), "", 0)], strict=True
    ):
        fields.setdefault(name, clean_value(text[begin:end]))
    return fields


def marker_phrase(line: str) -> str:
    """The line as a marker phrase would be looked up: decoration stripped, spaces folded,
    lower case ("*-------- Original Message --------*" -> "original message")."""
    if len(line) > MARKER_CHARS:
        return ""
    return " ".join(line.strip(DECORATION).split()).lower()


def header_block_at(lines: list[str], index: int) -> bool:
    """An Outlook-style header block starts at `index`: a From (or, as GMX and web.de write
    it, a Sent) line, and within the next few lines (blank ones between allowed, as HTML
    renders them) the From it lacks and a date or subject line."""
    line = lines[index] if index < len(lines) else ""
    if ":" not in line[:60] and "：" not in line[:60]:
        return False  # most lines: no label can start them
    first = HEADER_LINE.match(line[:300])
    if first is None or label_of(first) not in ("from", "date"):
        return False
    seen = {label_of(first)}
    for line in lines[index + 1 : index + HEADER_LINES]:
        match = HEADER_LINE.match(line[:300])
        if match:
            seen.add(label_of(match))
    return "from" in seen and bool(seen & {"date", "subject"} - {label_of(first)})


def read_header_block(lines: list[str], index: int) -> tuple[dict[str, str], int]:
    """The fields of the header block at `index` (blank and `>` lines before it skipped) and
    the line its body starts on. A line that is no header ends the block; a value may wrap
    onto an indented line; a blank line inside the block is skipped when a field not read yet
    follows it (HTML renders Outlook's header lines as paragraphs)."""
    while index < len(lines) and not strip_quote(lines[index]).strip():
        index += 1
    fields: dict[str, str] = {}
    last = ""
    end = index
    while end < len(lines) and end - index < HEADER_LINES:
        line = strip_quote(lines[end])
        match = HEADER_LINE.match(line[:1000])
        if match:
            last = label_of(match)
            fields.setdefault(last, clean_value(match.group(2)))
        elif last and line[:1] in (" ", "\t") and line.strip():
            fields[last] = f"{fields[last]} {clean_value(line)}".strip()
        elif line.strip() or not new_field_follows(lines, end, fields):
            break
        end += 1
    return fields, end


def new_field_follows(lines: list[str], index: int, fields: dict[str, str]) -> bool:
    """The next line is a header line of a field not read yet."""
    following = strip_quote(lines[index + 1]) if index + 1 < len(lines) else ""
    match = HEADER_LINE.match(following[:1000])
    return match is not None and label_of(match) not in fields


def label_of(match: re.Match[str]) -> str:
    """The field a matched header label names ("from", "date", …)."""
    return label_of_text(match.group(1))


def label_of_text(label: str) -> str:
    return LABELS.get(" ".join(label.lower().split()), "")


def strip_quote(line: str) -> str:
    return line.lstrip()[1:].removeprefix(" ") if QUOTED.match(line) else line


def unquote(lines: list[str]) -> str:
    """The forwarded text; `> ` taken off when every line of it carries one (Apple Mail's
    plain-text forwards)."""
    content = [line for line in lines if line.strip()]
    if content and all(QUOTED.match(line) for line in content):
        lines = [strip_quote(line) for line in lines]
    return "\n".join(lines).strip()


def clean_value(value: str) -> str:
    return " ".join(value.replace("*", " ").split()).strip()


def read_sender(value: str) -> Address | None:
    """ "Name <a@b>", "a@b", "Name [mailto:a@b]" or a bare name, as an Address."""
    if not value:
        return None
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value)
    name, addr = parseaddr(value)
    if "@" not in addr:
        return Address(name=value.strip(" <>\"'"), email="")
    return Address(name=name.strip(), email=addr.strip())


def read_inline_date(value: str | None) -> str | None:
    """ISO 8601 when the date is in RFC 5322 form with a zone, else as written (localized
    dates, and Outlook's "Monday, December 7, 2026 9:00 PM", whose zone is unknown)."""
    if not value:
        return None
    parts = parsedate_tz(value)
    if parts is not None and parts[9] is not None and not re.search(r"\b[AP]M\b", value, re.I):
        iso = read_date(value, [])
        if iso is not None:
            return iso
    return value


# --- attached messages ------------------------------------------------------------------


def attached_messages(parsed: Parsed, defects: list[str], depth: int = 0) -> Iterator[Parsed]:
    """Every attached message, depth first, as a parsed tree, not looking inside a delivery
    report (its attached mail is the mail returned, not one forwarded)."""
    yield from attached_in(parsed.msg, parsed, defects, depth)


def attached_in(msg: Message, parsed: Parsed, defects: list[str], depth: int) -> Iterator[Parsed]:
    if not msg.is_multipart() or msg.get_content_type() == "multipart/report":
        return
    for part in msg.get_payload():
        if not isinstance(part, Message):
            continue
        if part.get_content_type() != "message/rfc822":
            if depth < MAX_DEPTH:
                yield from attached_in(part, parsed, defects, depth + 1)
            continue
        inner = attached_tree(part, parsed, defects)
        if inner is not None:
            yield inner
            if depth + 1 < MAX_ATTACHED_DEPTH:
                yield from attached_messages(inner, defects, depth + 1)


def attached_tree(part: Message, parsed: Parsed, defects: list[str]) -> Parsed | None:
    """The message in a message/rfc822 part: the tree the parser built, or, for a part sent
    base64 or quoted-printable (not allowed, but written), its decoded bytes parsed anew by
    the same bounded reader."""
    lifted = parsed.lifted.get(id(part))
    if lifted is not None and lifted.data is not None:
        inner = read_message(lifted.data)
        defects.extend(f"attached message: {d}" for d in inner.defects)
        return inner
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return Parsed(payload[0], defects, parsed.lifted)
    return None


def read_attached(
    parsed: Parsed, hint: Hint, defects: list[str], pdf: PdfLimits = PDF_LIMITS
) -> list[Forwarded]:
    """Each attached message as a `Forwarded`, its body read by the mail's own body reader
    (on the tree and lifted bodies the parser already has); an inline forward in it follows."""
    found: list[Forwarded] = []
    for tree in attached_messages(parsed, defects):
        if len(found) >= MAX_FORWARDED:
            defects.append(f"more than {MAX_FORWARDED} forwarded messages: the rest not read")
            break
        inner = tree.msg
        body = read_body(Parsed(inner, defects, tree.lifted), hint, defects, pdf)
        subject = " ".join((header_text(inner, "Subject", hint, defects) or "").split())
        split = split_forward(body.text, subject, MAX_FORWARDED - len(found) - 1)
        senders = read_addresses(inner, "From", hint, defects, local=True)
        found.append(
            Forwarded(
                sender=senders[0] if senders else None,
                date=read_date(raw_header(inner, "Date"), defects),
                subject=subject,
                text=split.note[:MAX_TEXT_CHARS],
                attachments=body.attachments,
                kind="attached",
            )
        )
        found += split.forwarded
    return found[:MAX_FORWARDED]
