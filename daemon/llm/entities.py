"""Entities: the links, addresses, phone numbers, identifiers and card digits a text holds.

Decides what counts as each kind and how two mentions are compared. A link is a URL with a
scheme (its host read by `urllib.parse`, backslashes as browsers read them), a protocol-relative
`//host`, a `www.` name, or a bare domain name (one not ending like a file name); a
`javascript:`/`data:` URL is a link to nowhere we allow. Card digits are a Luhn-valid run of
13–19 digits, 4+ digits after "ending"/"last four"/"endet auf", or the digits after a mask
(`**** 4242`, `XXXX-1234`). A phone number has 7–15 digits with a `+`/`00` prefix or
separators (dates are not phone numbers). Identifiers (order and tracking numbers) match the
configured patterns. Each span of the text counts once, claimed in that order after the
addresses and links. Values are compared normalised: addresses lower case, numbers as their
digits, identifiers upper case without spaces or dashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from daemon.llm.pii import luhn_ok

EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,24}\b")
URL = re.compile(r"(?<![\w.+-])(?:[a-z][a-z0-9+.-]{1,15}:)?//[^\s<>\"'`)\]}|]+", re.I)
SCRIPT_URL = re.compile(r"\b(?:javascript|vbscript|data|file):[^\s<>\"'`)\]]*", re.I)
BARE = re.compile(
    r"(?<![\w@.:/-])((?:www\.)?(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+([^\W\d_]{2,24}))\b"
    r"(/[^\s<>\"'`)\]}|]*)?",
    re.I,
)
FILE_ENDING = re.compile(
    r"pdf|png|jpe?g|gif|bmp|webp|svg|heic|tiff?|txt|csv|docx?|xlsx?|pptx?|od[ts]|rtf|zip|rar|"
    r"t?gz|7z|exe|msi|dmg|apk|ipa|eml|msg|ics|vcf|html?|xml|json|js|ts|py|md|log|ini|cfg|conf|"
    r"toml|ya?ml|mp[34]|mov|avi|wav",
    re.I,
)
"""Endings of file names: `invoice.pdf` is not a domain."""
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
CARD_ENDING = re.compile(
    r"\b(?:ending|ends|ending in|ends in|ends with|last (?:four|4)(?: digits)?|endet auf|"
    r"endend auf|finissant par|terminant par|termina en|terminada en)\b"
    r"[^\d\n]{0,20}(\d{4,})",
    re.I,
)
MASKED = re.compile(r"(?<![*xX•·#\w])(?:[*xX•·#]{2,6}[ -]?){1,4}(\d{4,19})\b")
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ().\-/]{5,22}\d(?![\w])")
DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
WORD = re.compile(r"[\w-]+")
MAX_DIGITS = 19
"""Digits of a known run kept (its tail): the longest card number; longer runs are not phone
or card numbers, and keeping every tail of them would cost quadratic memory."""


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str
    """address, link, card, phone or identifier."""
    text: str
    """As written."""
    key: str
    """Normalised: what two mentions are compared by (a link's key is its host)."""


def find_entities(text: str, identifier_patterns: Iterable[re.Pattern[str]]) -> list[Entity]:
    """Every entity in `text`, each span counted once (addresses, links, cards, phones,
    identifiers, in that order; URLs with a scheme before addresses, so `https://us.example@evil`
    is a link to evil)."""
    claimed = bytearray(len(text))  # one byte per character: claiming stays linear
    found: list[Entity] = []
    for finder in (find_urls, find_addresses, find_names, find_cards, find_phones):
        for start, end, entity in finder(text):
            if claim(claimed, start, end):
                found.append(entity)
    for pattern in identifier_patterns:
        for m in pattern.finditer(text):
            start, end = m.span()
            if claim(claimed, start, end):
                found.append(Entity("identifier", m.group(0), id_key(m.group(0))))
    return found


Found = Iterator[tuple[int, int, Entity]]


def find_addresses(text: str) -> Found:
    for m in EMAIL.finditer(text):
        yield m.start(), m.end(), Entity("address", m.group(0), m.group(0).lower())


def find_urls(text: str) -> Found:
    for m in URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?")
        if host := host_of(url):
            yield m.start(), m.start() + len(url), Entity("link", url, host)


def find_names(text: str) -> Found:
    for m in SCRIPT_URL.finditer(text):
        yield m.start(), m.end(), Entity("link", m.group(0)[:60], m.group(0).split(":")[0] + ":")
    for m in BARE.finditer(text):
        name, ending, path = m.group(1), m.group(2).lower(), m.group(3)
        if FILE_ENDING.fullmatch(ending) and not path and not name.lower().startswith("www."):
            continue
        written = m.group(0).rstrip(".,;:!?")
        yield m.start(), m.start() + len(written), Entity("link", written, host_of("//" + name))


def find_cards(text: str) -> Found:
    for m in CARD.finditer(text):
        digits = only_digits(m.group(0))
        if luhn_ok(digits):
            yield m.start(), m.end(), Entity("card", m.group(0), digits)
    for rx in (CARD_ENDING, MASKED):
        for m in rx.finditer(text):
            yield m.start(), m.end(), Entity("card", m.group(0), m.group(1))


def find_phones(text: str) -> Found:
    for m in PHONE.finditer(text):
        raw = m.group(0).strip()
        digits = only_digits(raw)
        plain = raw.isdigit()
        if not 7 <= len(digits) <= 15 or plain or DATE.fullmatch(raw):
            continue  # a bare digit run is an identifier, not a phone number
        yield m.start(), m.start() + len(raw), Entity("phone", raw, digits)


def host_of(url: str) -> str:
    """The host a URL leads to, as a browser reads it (backslashes are slashes, user info is
    not the host); lower case, without a trailing dot; empty when there is none."""
    cleaned = url.replace("\\", "/")
    if cleaned.startswith("//"):
        cleaned = "http:" + cleaned
    try:
        host = urlsplit(cleaned).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def only_digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def id_key(text: str) -> str:
    return re.sub(r"[\s-]+", "", text).upper()


def claim(claimed: bytearray, start: int, end: int) -> bool:
    """Mark `start:end` as taken unless some of it already is."""
    if any(claimed[start:end]):
        return False
    claimed[start:end] = b"\x01" * (end - start)
    return True


@dataclass(frozen=True, slots=True)
class Known:
    """What the context holds, normalised for comparison with a reply's entities."""

    addresses: frozenset[str]
    digits: frozenset[str]
    """Every digit run of 4+ (phones, cards and ids as their digits; the last `MAX_DIGITS`)."""
    tails: frozenset[str]
    """Every tail of 4+ digits of those runs (the last four digits of a known card)."""
    words: frozenset[str]
    """Every word and identifier, upper case without dashes."""

    @classmethod
    def of(cls, texts: Iterable[str], identifier_patterns: Iterable[re.Pattern[str]]) -> Known:
        patterns = tuple(identifier_patterns)
        addresses: set[str] = set()
        digits: set[str] = set()
        words: set[str] = set()
        for text in texts:
            for entity in find_entities(text, patterns):
                if entity.kind == "address":
                    addresses.add(entity.key)
                elif entity.kind in ("phone", "card"):
                    digits.add(entity.key[-MAX_DIGITS:])
                    digits.add(entity.key.lstrip("0")[-MAX_DIGITS:])  # 020… is +44 20…
                words.add(id_key(entity.text))
            digits.update(run[-MAX_DIGITS:] for run in re.findall(r"\d{4,}", text))
            words.update(id_key(w) for w in WORD.findall(text))
        tails = {d[i:] for d in digits for i in range(len(d) - 3)}
        return cls(frozenset(addresses), frozenset(digits), frozenset(tails), frozenset(words))

    def has_digits(self, digits: str) -> bool:
        """The same number, or the tail of a known one (last four digits), or one that ends
        with a known one of 7+ digits (a phone number with its country code)."""
        if digits in self.tails:
            return True
        return any(digits[i:] in self.digits for i in range(max(len(digits) - 6, 0)))
