"""quote_header: whether a few lines are the header a mail client wrote above quoted history.

Decides by structure and evidence, in any of the 38 languages, never by a pattern per client:
an attribution ("On …, Ana <a@x> wrote:") is a window of 1–3 lines (clients wrap) ending in a
colon (or a "wrote" verb) whose words carry enough evidence — an e-mail address, a date
(numeric, CJK, or a CLDR month name with a number), a time, a "wrote" verb, a lead word — scored
by `attribution_score`; an Outlook block is consecutive "Label: value" lines whose labels are
From/Sent/To/Cc/Subject words of daemon/mail/lexicon.py and whose values hold an address, a date
or at least three labels; a separator is "--- Original Message ---" in any language, also when
HTML-to-text conversion decorated it ("*-------- Original Message --------*"); a phone footer is
a "sent from my …" phrase around a short device or app name, links stripped (a short apology
sentence may follow); a sign-off is a closing phrase of any language alone on its line. The
words are data (lexicon.py, monthnames.py); what each thing looks like is the code below.
"""

from __future__ import annotations

import re
from functools import cache

from daemon.mail.lexicon import (
    DEVICES,
    HEADER_LABELS,
    LEADS,
    ORIGINAL_MESSAGE,
    SENT_FROM,
    SIGN_OFFS,
    WROTE,
)
from daemon.mail.monthnames import MONTHS

WINDOW = 4
"""An attribution is wrapped over at most this many lines (3 in practice; 4 when a client
broke a long address over lines)."""
SPAN = 6
"""…lying within this many lines, blank lines inside a broken address included."""
QUOTED_NEEDS = 3
"""Evidence an attribution needs when `>` lines follow it."""
UNMARKED_NEEDS = 4
"""Evidence it needs when unmarked text (Outlook, "the rest is history") follows it."""
MAX_LINE = 400
"""Characters of a line looked at (an attribution line is never longer)."""

BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
"""Direction marks Gmail writes around Hebrew, Arabic and Persian attributions."""
CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f"
"""Scripts written without spaces between words (and Thai): no word boundary around a verb."""
ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+\.[^\W\d_]{2,}")
TIME = re.compile(r"(?<![\d.:])\d{1,2}[:：.]\d{2}(?::\d{2})?(?!\d)(?![./-]\d)")
NUMERIC_DATE = re.compile(
    r"(?<![\d.])(?:\d{4}[-/.]\s?\d{1,2}[-/.]\s?\d{1,2}|\d{1,2}[-/.]\s?\d{1,2}[-/.]\s?\d{2,4}"
    r"|\d{2,4}\s?[年년]\s?\d{1,2}\s?[月월])(?!\d)"
)
NUMBER = re.compile(r"\d")
LETTERS = re.compile(r"[^\W\d_]+")
CJK_CHAR = re.compile(f"[{CJK}]")
LABEL = re.compile(r"^\s*[*_]*\s*([^\W\d_][^:：]{0,28}?)\s*[*_]*\s*[:：]")
LABELS_IN_LINE = re.compile(r"([^\W\d_][^\s:：*]*(?:\s[^\W\d_][^\s:：*]*)?)\s?[*_]*[:：]")
DASHED = re.compile(r"^\s*[-_=]{2,}\s*(.+?)\s*[-_=]{2,}\s*$")
LINK = re.compile(
    r"<(?:https?|mailto):[^>]*>|\((?:https?|mailto):[^)]*\)|\[(?:https?|mailto):[^\]]*\]"
)
URL = re.compile(r"(?:https?://|www\.)\S+")
APOLOGY_WORDS = 8
"""A footer may end with a short second sentence ("Please excuse my brevity.")."""
FOOTER_GAP_WORDS = 4
"""A footer's device or app name has at most this many words (more when one names a device)."""


def normalise(line: str) -> str:
    """A line as its words read: direction marks gone, HTML-to-text bold markers and a quote's
    `>` marks stripped from its ends."""
    line = BIDI.sub("", line[:MAX_LINE]) if not line.isascii() else line[:MAX_LINE]
    return line.strip().lstrip(">").strip().strip("*").strip()


def ends_with_colon(line: str) -> bool:
    """The line ends in a colon, once decoration is stripped (the end of an attribution)."""
    return normalise(line).rstrip(" *-_").endswith((":", "："))


# --- evidence ------------------------------------------------------------------------------


@cache
def month_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """(month names that are one word of letters, the others: "мі.ค."-like, with spaces)."""
    names = {n.rstrip(".") for names in MONTHS.values() for n in names if not NUMBER.search(n)}
    words = frozenset(n for n in names if LETTERS.fullmatch(n))
    return words, tuple(sorted(names - words))


@cache
def verb_words() -> tuple[str, ...]:
    return tuple(sorted({v.lower() for vs in WROTE.values() for v in vs}, key=len, reverse=True))


@cache
def one_word(words: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the words that are one run of letters: found by a set lookup, the others)."""
    single = frozenset(w for w in words if LETTERS.fullmatch(w) and not CJK_CHAR.match(w))
    return single, tuple(w for w in words if w not in single)


@cache
def lead_words() -> tuple[str, ...]:
    return tuple(sorted({w.lower() for ws in LEADS.values() for w in ws}, key=len, reverse=True))


def word_at(text: str, start: int, end: int) -> bool:
    """text[start:end] is a whole word: no letter touches it (scripts without spaces: always)."""
    if CJK_CHAR.match(text[start:end]):
        return True
    before = text[start - 1 : start]
    after = text[end : end + 1]
    return not before.isalpha() and not after.isalpha()


def has_word(text: str, words: tuple[str, ...]) -> bool:
    """One of `words` (lowercase) occurs in `text` (lowercase) as a whole word."""
    single, others = one_word(words)
    if not single.isdisjoint(LETTERS.findall(text)):
        return True
    for word in others:
        at = text.find(word)
        while at >= 0:
            if word_at(text, at, at + len(word)):
                return True
            at = text.find(word, at + 1)
    return False


def closes_with_verb(text: str) -> bool:
    """The text ends with a "wrote" verb (and maybe a colon)."""
    tail = text[-40:].lower().rstrip(" :：*-")
    if not tail.endswith(verb_words()):
        return False
    return any(
        tail.endswith(v) and word_at(tail, len(tail) - len(v), len(tail)) for v in verb_words()
    )


def starts_with_lead(text: str) -> bool:
    head = text[:20].lower()
    first = LETTERS.match(head)
    single, others = one_word(lead_words())
    if first and first.group() in single:
        return True
    return head.startswith(others) and any(
        head.startswith(w) and word_at(head, 0, len(w)) for w in others
    )


def has_date(text: str) -> bool:
    """A numeric or CJK date, or a month name of any of the languages with a number."""
    if not NUMBER.search(text):
        return False
    if NUMERIC_DATE.search(text):
        return True
    lower = text.lower()
    words, others = month_words()
    return not words.isdisjoint(LETTERS.findall(lower)) or any(o in lower for o in others)


def attribution_score(text: str) -> tuple[int, bool, bool]:
    """(evidence, names someone: an address or a verb, dates it: a date or a time)."""
    lower = text.lower()
    address = "@" in text and bool(ADDRESS.search(text))
    verb = has_word(lower, verb_words())
    date = has_date(text)
    time = bool(NUMBER.search(text)) and bool(TIME.search(text))
    score = 2 * address + 2 * verb + date + time + starts_with_lead(text)
    score += verb and closes_with_verb(text)  # "… wrote:" closes the line
    return score, address or verb, date or time


# --- attribution lines ---------------------------------------------------------------------


def attribution_start(lines: list[str], end: int, floor: int, quoted: bool) -> int | None:
    """The first line of an attribution ending on line `end` (None: none does); lines above
    `floor` are taken. `quoted`: `>` lines follow it (less evidence needed)."""
    if not may_end(lines[end]):
        return None
    last = normalise(lines[end])
    closed = last.rstrip(" *-_").endswith((":", "：")) or closes_with_verb(last)
    if not last or not (closed or (quoted and ends_with_address(last))):
        return None
    needs = QUOTED_NEEDS if quoted else UNMARKED_NEEDS
    window, taken = "", 0
    for start in range(end, max(floor, end - SPAN + 1) - 1, -1):
        line = normalise(lines[start])
        if not line and continues(window):
            continue  # a client broke an address over lines ("<\nmailto:…\n> wrote:")
        if not line or taken == WINDOW or (start < end and wrote_end(line)):
            return None
        window, taken = f"{line} {window}".strip(), taken + 1
        score, who, when = attribution_score(window)
        if score >= needs and who and (quoted or when):
            return extend_up(lines, start, end, floor)
    return None


def attribution_end(lines: list[str], end: int) -> int:
    """The line after an attribution found ending at `end`: a short rest the client wrapped
    below the address ("> wrote:") belongs to it."""
    after = end + 1
    rest = normalise(lines[after]) if after < len(lines) else ""
    wrapped = 0 < len(rest) <= 40 and ends_with_colon(rest)
    return after + 1 if wrapped and closes_with_verb(rest.rstrip(":： ")) else after


def may_end(line: str) -> bool:
    """Cheap first look: the line's last character can end an attribution (a colon, an
    address's ">", a verb's letter or ")"), decoration and direction marks aside."""
    last = line.rstrip(" \t*-_\u200e\u200f\u202a\u202b\u202c")[-1:]
    return last in ":：>)" or last.isalpha()


def continues(window: str) -> bool:
    """The window visibly continues a line above: it starts with a lowercase word, "<" or "("."""
    return window[:1].islower() or window[:1] in "<(["


def ends_with_address(line: str) -> bool:
    """The line ends with an e-mail address (Gmail's old "2011/4/7 Ana <a@x>", no colon; an
    end only when `>` lines follow)."""
    return line.endswith(">") and bool(ADDRESS.search(line[-80:]))


def wrote_end(line: str) -> bool:
    """A line closing a sentence of its own: no part of a wrapped attribution below it."""
    return line.endswith(("!", "?", ":", "：")) or (
        line.endswith(".") and not line[-2:-1].isdigit()
    )


def extend_up(lines: list[str], start: int, end: int, floor: int) -> int:
    """Take the wrapped beginning of an attribution found from its end: lines above that the
    window visibly continues (it starts with a lowercase word, "<" or "(") or that carry
    evidence of their own, within `WINDOW` lines."""
    while start > floor and end - start + 1 < WINDOW:
        above = normalise(lines[start - 1])
        if not above or wrote_end(above) or len(above) > 120:
            break
        if not (continues(normalise(lines[start])) or attribution_score(above)[0] >= 2):
            break
        start -= 1
    return start


# --- header blocks -------------------------------------------------------------------------


@cache
def label_roles() -> dict[str, str]:
    return {
        label.casefold(): role
        for role, by_language in HEADER_LABELS.items()
        for labels in by_language.values()
        for label in labels
    }


def label_role(line: str) -> str | None:
    """ "from", "date", "to", "cc" or "subject" for a "Label: value" line, else None."""
    head = line[:48]
    if ":" not in head and "：" not in head:
        return None
    match = LABEL.match(head)
    return label_roles().get(match.group(1).strip().casefold()) if match else None


START_ROLES = ("from", "date")
"""The roles a header on one line starts with."""


def header_start(line: str) -> bool:
    """The line may open Outlook's one-line block: a From or Sent/Date label."""
    return label_role(BIDI.sub("", line)) in START_ROLES


def header_block(lines: list[str], index: int) -> int:
    """Length of a quoted header block starting at `index` (0: none): labelled lines in any
    order (Outlook starts with From, GMX with its date, Thunderbird with the subject), a From
    (or a first Date) among at least two roles, and values that hold an address or a date (or
    three labels)."""
    if not label_role(BIDI.sub("", lines[index])):
        return 0
    roles: list[str] = []
    values, end = "", index
    while end < len(lines) and end - index < 10:
        line = BIDI.sub("", lines[end][:MAX_LINE])
        role = label_role(line)
        if role:
            roles.append(role)
        elif not line.strip() or (len(roles) >= 2 and not line.startswith((" ", "\t"))):
            break
        values += " " + line
        end += 1
    if len(set(roles)) < 2 or not ("from" in roles or roles[0] == "date"):
        return 0
    evidence = ADDRESS.search(values) or has_date(values) or TIME.search(values)
    return end - index if evidence or len(roles) >= 3 else 0


def one_line_header(line: str) -> bool:
    """Outlook's block run together on one line ("From: Ana Sent: Monday …")."""
    if ":" not in line[:60] or not header_start(line):
        return False
    return any(role_of(m.group(1)) == "date" for m in list(LABELS_IN_LINE.finditer(line))[1:])


def role_of(token: str) -> str | None:
    """The role of a label token, also when a word of the value precedes it on the line."""
    roles = label_roles()
    return roles.get(token.casefold()) or roles.get(token.split()[-1].casefold())


# --- separators ----------------------------------------------------------------------------


@cache
def original_phrases() -> frozenset[str]:
    return frozenset(p.casefold() for ps in ORIGINAL_MESSAGE.values() for p in ps)


def separator(line: str) -> bool:
    """ "-----Original Message-----" in any language, or "-- Ana wrote --", decoration stripped."""
    match = DASHED.match(normalise(line))
    if not match:
        return False
    phrase = match.group(1).strip("*_ ").casefold()
    return phrase in original_phrases() or closes_with_verb(phrase)


# --- phone and app footers -----------------------------------------------------------------


@cache
def footer_phrases() -> dict[str, tuple[tuple[str, str], ...]]:
    """The footer phrases as (before the gap, after it), by the first character of the first
    part ("" for phrases that start with the gap: "…から送信")."""
    pairs = {tuple(p.lower().split("…", 1)) for ps in SENT_FROM.values() for p in ps}
    by_first: dict[str, list[tuple[str, str]]] = {}
    for before, after in sorted(pairs, key=lambda p: -len(p[0]) - len(p[1])):
        by_first.setdefault(before[:1], []).append((before, after))
    return {first: tuple(group) for first, group in by_first.items()}


@cache
def devices() -> re.Pattern[str]:
    words = "|".join(re.escape(d) for d in sorted(DEVICES, key=len, reverse=True))
    return re.compile(rf"(?<![^\W\d_])(?:{words})", re.I)  # "BlackBerry®", "iPhone-omról"


def footer_text(line: str) -> str:
    """A line as a footer reads: links, decoration and final punctuation stripped."""
    text = URL.sub("", LINK.sub("", normalise(line)))
    return text.strip().rstrip(".!。 ").strip().lower()


def phone_footer(line: str) -> bool:
    """ "Sent from my iPhone", "Von meinem Mobilgerät gesendet", "iPhoneから送信" …: a footer
    phrase around a short device or app name (a sentence is not a footer)."""
    text = footer_text(line)
    if not text or len(text) > 160:
        return False
    first, _, apology = text.partition(". ")  # "… K-9 Mail. Please excuse my brevity."
    if apology and len(apology.split()) <= APOLOGY_WORDS and footer_phrase(first.rstrip(".")):
        return True
    return footer_phrase(text)


def footer_phrase(text: str) -> bool:
    """`text` is a footer phrase around a device or app name."""
    phrases = footer_phrases()
    for before, after in phrases.get(text[:1], ()) + phrases.get("", ()):
        if (
            len(text) > len(before) + len(after)
            and text.startswith(before)
            and text.endswith(after)
        ):
            gap = text[len(before) : len(text) - len(after)].strip(" .")
            if gap and footer_gap(gap):
                return True
    return False


def footer_gap(gap: str) -> bool:
    """The part of a footer that names the device or app: short, not a clause."""
    if any(mark in gap for mark in ",;?!") or ". " in gap:
        return False
    words = len(gap.split())
    return words <= FOOTER_GAP_WORDS or (words <= 7 and bool(devices().search(gap)))


# --- sign-offs -----------------------------------------------------------------------------

SIGN_OFF_END = " ,.!:;-–—。！、"
"""What may follow a sign-off on its line ("Thanks,", "Best regards!")."""
DASH_TAIL = re.compile(r"\s*[-–—]\s*\S.*$")
"""A name after a dash on the sign-off's line ("Thanks -Bob")."""


@cache
def sign_off_phrases() -> frozenset[str]:
    return frozenset(p.lower().rstrip(SIGN_OFF_END) for ps in SIGN_OFFS.values() for p in ps)


def sign_off(line: str) -> bool:
    """A closing line of any language ("Best regards,", "S pozdravem", "よろしくお願いします"),
    maybe with "-Name" after it."""
    text = normalise(line).lower()
    if len(text) > 40:
        return False
    return DASH_TAIL.sub("", text).rstrip(SIGN_OFF_END) in sign_off_phrases()
