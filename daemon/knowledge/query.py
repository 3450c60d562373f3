"""Query building: from an email to the few index terms worth searching.

Decides what of a customer's mail is searched and how much each word counts. Only the subject
(without `Re:`/`Fwd:` and ticket tags) and the new reply text (without quoted history, the
greeting and the closing lines) go in, then the subject and start of each message the
customer forwarded and of each PDF attachment's text, within `EXTRA_QUERY_CHARS`. Words are
analyzed like the articles were — stop words dropped, stemmed for the language the text is
written in (one of the configured languages, else all of them). Order ids, error codes and
product names (`E1234`, `ORD-123456`, `0x80070005`, `ERR_TIMEOUT`, `NovaCam`) are always kept
and count more. Of the rest only the
rarest `max_terms` are kept, and words found in a large share of the passages are marked
`common`: they barely move a BM25 ranking but carry the longest posting lists, so the
retriever only adds them to the best candidates of the rarer words (benchmarks/retrieval.py).
On the evaluation sets (benchmarks/retrieval_ablation.py) the id weight, 24 against 200 terms
and the common-word top-up change nothing (a question has few words, a small knowledge base
has no common ones: ties, and the rule of benchmarks/README.md cannot choose between them),
8 terms lost recall; they stay for what they are for: mail that quotes an order id, long
mails, and speed at 50,000 passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from daemon.knowledge.analysis import field_for, query_terms
from daemon.mail.language import detect_language
from daemon.mail.presented import extra_budget

KEEP_WEIGHT = 1.5
COMMON_RATIO = 0.05
COMMON_MIN = 2000
"""A term on more than COMMON_RATIO of the passages, and on more than COMMON_MIN of them, is
`common`: it is scored only for the best candidates of the rarer terms (retriever.rank). Below
COMMON_MIN passages a posting list costs under a millisecond and is always read in full, so a
small knowledge base is ranked exactly."""

SUBJECT_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|sv|vs|tr|antw|rv|r)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
TAG = re.compile(r"\[(#\d+|[^\]]{0,30}(ticket|external|extern)[^\]]*)\]", re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^\s*(on\b.{0,200}\bwrote:|am\b.{0,200}\bschrieb.{0,40}:|le\b.{0,200}\ba écrit\s*:|"
    r"el\b.{0,200}\bescribió:|-{2,}\s*(original message|ursprüngliche nachricht)\s*-{2,}|"
    r"from:\s.+|von:\s.+|de:\s.+)\s*$",
    re.IGNORECASE,
)
GREETING = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|hallo|liebe[rs]?|"
    r"sehr geehrte[rs]?|guten (tag|morgen)|bonjour|bonsoir|hola|buenos días|estimad[oa]s?)\b",
    re.IGNORECASE,
)
CLOSING = re.compile(
    r"^\s*(thanks?|thank you|many thanks|best|regards|kind regards|best regards|cheers|"
    r"sincerely|yours|mit freundlichen|viele grüße|beste grüße|danke|cordialement|merci|"
    r"bien à vous|saludos|gracias|atentamente)\b",
    re.IGNORECASE,
)
CODE = re.compile(r"#?\b[\w-]*\d[\w-]*")
"""Order ids and error codes: any word with a digit (#12345, E1234, ORD-12345, 0x80070005)."""
NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[A-Za-z]*[a-z][A-Z]\w*")
"""Constants and product names: ERR_CONNECTION_REFUSED, NovaCam, iPhone."""


@dataclass(frozen=True, slots=True)
class QueryTerm:
    field: str
    text: str
    weight: float
    common: bool = False
    df: int = 1
    """Passages holding the term (from the index, when the plan was made)."""


EXTRA_QUERY_CHARS = 1500
"""Most characters of forwarded messages and attachment text a query takes (fewer beside a
long note: `daemon.mail.presented.extra_budget`): the rarest-terms cut would otherwise fill
the query with a forwarded newsletter's words instead of the customer's."""


def email_query_text(subject: str, body: str, extras: Sequence[tuple[str, str]] = ()) -> str:
    """What of an email is searched: the cleaned subject and the new text's topic lines, then
    the (subject, text) of each forwarded message or attachment, within a budget."""
    note = clean_body(body)
    pieces = [clean_subject(subject), note]
    left = extra_budget(note, EXTRA_QUERY_CHARS)
    for index, (extra_subject, text) in enumerate(extras):
        share = max(left // (len(extras) - index), 0)
        piece = f"{clean_subject(extra_subject)}\n{clean_body(text)}".strip()[:share]
        left -= len(piece)
        pieces.append(piece)
    return "\n".join(p for p in pieces if p).strip()


def clean_subject(subject: str) -> str:
    subject = TAG.sub(" ", subject)
    return SUBJECT_PREFIX.sub("", subject).strip()


def clean_body(body: str) -> str:
    """The body up to any quoted history, without `>` lines, greeting and closing lines."""
    lines: list[str] = []
    for line in body.splitlines():
        if QUOTE_HEADER.match(line):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    content = [i for i, line in enumerate(lines) if line.strip()]
    if content and is_greeting(lines[content[0]]):
        lines[content[0]] = GREETING.sub("", lines[content[0]]).split(",", 1)[-1]
    for i in content[1:][-4:]:  # a mail that is only "Thanks for …" keeps its one line
        if CLOSING.match(lines[i]) and len(lines[i]) < 60:
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def is_greeting(line: str) -> bool:
    return bool(GREETING.match(line)) and len(line.strip()) < 80


def kept_terms(text: str, language: str) -> set[str]:
    """The terms of order ids, error codes and product names (of a code, only the parts
    with digits: `order-12345` keeps 12345, not "order")."""
    keep = {t for m in NAME.finditer(text) for t in query_terms(m.group(0), language)}
    for m in CODE.finditer(text):
        keep.update(t for t in query_terms(m.group(0), language) if any(c.isdigit() for c in t))
    return keep


def plan_query(
    text: str,
    languages: Sequence[str],
    doc_frequency: Callable[[str, str], int],
    doc_count: int,
    max_terms: int,
) -> list[QueryTerm]:
    """The weighted terms to search, per language field; empty when nothing can match."""
    plan: list[QueryTerm] = []
    for language in query_languages(text, languages):
        field = field_for(language)
        keep = kept_terms(text, language)
        found = [(t, doc_frequency(field, t)) for t in query_terms(text, language)]
        found = [(t, df) for t, df in found if df > 0]
        plan += select_terms(field, found, keep, doc_count, max_terms)
    return plan


def select_terms(
    field: str,
    found: list[tuple[str, int]],
    keep: set[str],
    doc_count: int,
    max_terms: int,
) -> list[QueryTerm]:
    """Kept words first, then the others from the rarest up, `max_terms` in all."""
    chosen = sorted(found, key=lambda item: (item[0] not in keep, item[1]))[:max_terms]
    return [
        QueryTerm(
            field,
            term,
            KEEP_WEIGHT if term in keep else 1.0,
            common=term not in keep and df > max(COMMON_RATIO * doc_count, COMMON_MIN),
            df=df,
        )
        for term, df in chosen
    ]


def query_languages(text: str, languages: Sequence[str]) -> Sequence[str]:
    """The configured language the text is in, or all of them when it cannot be told."""
    if len(languages) == 1:
        return languages
    found = detect_language(text)
    return [found] if found is not None and found in languages else languages
