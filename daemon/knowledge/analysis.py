"""Analysis: how text becomes index terms, per language, for articles and for queries alike.

Decides the tokens: words lowercased, the language's stop words dropped, Snowball-stemmed
(whoosh ships stemmers and stop lists for 16 languages, so no extra dependency), accents folded
after stemming so "Rückerstattung" and "ruckerstattung" meet. Title, heading and body words go
into ONE field per language, each token weighted by where it stood (`BoostedText`): whoosh's
Frequency format sums token boosts into the posting weight, which gives true BM25F (weighted
term frequencies saturated together) and one posting list per word instead of three. Queries
additionally drop greetings, closings and politeness words, which say nothing about the topic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.lang import stopwords_for_language
from whoosh.support.charset import accent_map

SEGMENT = "\x1e"
BOOST = "\x1f"


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SMALL_TALK: dict[str, frozenset[str]] = {
    "en": words(
        "hi hello hey dear greetings morning afternoon evening thanks thank thx cheers regards "
        "best kind kindly sincerely please pls help appreciate appreciated advance sir madam "
        "team support hope well wishes asap urgent"
    ),
    "de": words(
        "hallo guten tag morgen liebe lieber sehr geehrte geehrter damen herren danke dank "
        "vielen bitte gruß grüße gruss grüsse freundlichen beste viele hilfe"
    ),
    "fr": words(
        "bonjour bonsoir salut cher chère madame monsieur merci remerciements cordialement "
        "salutations bien sincèrement svp aide"
    ),
    "es": words(
        "hola buenos buenas días tardes estimado estimada gracias saludos cordiales atentamente "
        "favor ayuda"
    ),
}
"""Words of greeting and politeness, dropped from queries only (an article may mean them)."""


class BoostedTokenizer(RegexTokenizer):  # type: ignore[misc]
    """Splits `boost\\x1ftext\\x1e…` segments and weights each segment's tokens by its boost."""

    def __call__(self, value: str, **kwargs: Any) -> Iterator[Any]:
        if SEGMENT not in value and BOOST not in value:
            yield from super().__call__(value, **kwargs)
            return
        for segment in value.split(SEGMENT):
            boost, _, text = segment.rpartition(BOOST)
            weight = float(boost) if boost else 1.0
            for token in super().__call__(text, **kwargs):
                token.boost = weight
                yield token


def boosted_text(parts: Sequence[tuple[str, float]]) -> str:
    """The value of a language field: each (text, boost) part marked for `BoostedTokenizer`."""
    return SEGMENT.join(
        f"{boost:g}{BOOST}{text.replace(SEGMENT, ' ').replace(BOOST, ' ')}"
        for text, boost in parts
        if text
    )


@cache
def index_analyzer(language: str) -> Analyzer:
    return (
        BoostedTokenizer()
        | LowercaseFilter()
        | StopFilter(stoplist=stopwords_for_language(language), minsize=2)
        | StemFilter(lang=language, cachesize=200_000)
        | CharsetFilter(accent_map)
    )


@cache
def query_analyzer(language: str) -> Analyzer:
    stops = stopwords_for_language(language) | SMALL_TALK.get(language, frozenset())
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | StopFilter(stoplist=stops, minsize=2)
        | StemFilter(lang=language, cachesize=50_000)
        | CharsetFilter(accent_map)
    )


def field_for(language: str) -> str:
    return f"text_{language}"


def query_terms(text: str, language: str) -> list[str]:
    """The distinct terms of `text` in first-seen order."""
    seen: dict[str, None] = {}
    for token in query_analyzer(language)(text):
        seen.setdefault(token.text, None)
    return list(seen)
