"""The rule router: what the customer wants, from the intent table's keywords and patterns.

Decides the intent from the intent table in config (keywords and patterns per intent; the
highest-priority intent with a match wins, then the one with most matches), and copies that
intent's tools, namespaces, policy and risk onto the `Route`. The subject and the customer's
own note are matched first; only when they match no intent ("see below", "FYI") are the
messages they forwarded and their PDF texts matched too (`EXTRA_RULE_CHARS`, labelled:
`daemon.mail.presented`), so a forwarded newsletter never outvotes what the customer asked,
and a bare forward of an order confirmation is still routed by it. Only the first
`RULE_CHARS` characters of the note are matched: what a customer wants stands at the start,
and sixty keyword patterns over 1 MiB of text (the most parse keeps) take seconds. The LLM router
(`daemon.llm.router`) calls `route_mail` first and falls back to its answer on any error.
"""

from __future__ import annotations

import functools
import re

from daemon.config import IntentSettings, Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.mail.presented import extras_of, labelled_text, note_of
from daemon.records import ParsedMail, Route

RULE_CHARS = 20_000
EXTRA_RULE_CHARS = 4_000
"""Characters of forwarded messages and PDF text matched when the note matched nothing."""


class RuleRouter:
    """Keyword and pattern rules from `[intents.*]`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.patterns = {
            name: [re.compile(p, re.I) for p in intent.patterns]
            for name, intent in settings.intents.items()
        }

    def route(self, item: Item, ctx: Context) -> Route:
        return self.route_mail(item.mail)

    def route_mail(self, mail: ParsedMail) -> Route:
        scored = self.score(f"{mail.subject}\n{note_of(mail)[:RULE_CHARS]}")
        if not scored and extras_of(mail):
            scored = self.score(f"{mail.subject}\n{labelled_text(mail, 0, EXTRA_RULE_CHARS)}")
        if not scored:
            name = self.settings.fallback_intent
            return self.make_route(name, mail, confidence=0.3, hits=())
        _priority, count, name, hits = max(scored)
        return self.make_route(name, mail, confidence=min(0.5 + 0.1 * count, 0.9), hits=hits)

    def score(self, text: str) -> list[tuple[int, int, str, tuple[str, ...]]]:
        """(priority, hits, intent, what matched) of every intent that matches `text`."""
        lowered = text.lower()
        scored = []
        for name, intent in self.settings.intents.items():
            hits = self.matches(name, intent, lowered)
            if hits:
                scored.append((intent.priority, len(hits), name, hits))
        return scored

    def matches(self, name: str, intent: IntentSettings, text: str) -> tuple[str, ...]:
        words = [k for k in intent.keywords if contains_phrase(text, k.lower())]
        found = [p.pattern for p in self.patterns[name] if p.search(text)]
        return (*words, *found)

    def make_route(
        self, name: str, mail: ParsedMail, *, confidence: float, hits: tuple[str, ...]
    ) -> Route:
        intent = self.settings.intents[name]
        return Route(
            intent=name,
            language=mail.language,
            risk=intent.risk,
            wants_human=name == "human_request",
            confidence=confidence,
            tools=intent.tools,
            namespaces=intent.namespaces,
            policy=intent.policy,
            router="rules",
            matched=hits,
        )


def contains_phrase(text: str, phrase: str) -> bool:
    """A keyword matches whole words only ("order" not in "border", "sue you" not in "issue
    you"); a single word also matches its common inflections (orders, ordered, ordering)."""
    return keyword_pattern(phrase).search(text) is not None


@functools.lru_cache(maxsize=4096)
def keyword_pattern(phrase: str) -> re.Pattern[str]:
    words = re.escape(phrase.strip().lower())
    suffix = r"(?:s|es|ed|d|ing|er|ers)?" if re.fullmatch(r"\w+", phrase.strip()) else ""
    return re.compile(rf"(?<!\w){words}{suffix}(?!\w)")
