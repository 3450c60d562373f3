"""Analysis: how text becomes index terms, per language, for articles and for queries alike.

Decides the tokens: words lowercased, the language's stop words dropped, Snowball-stemmed
(whoosh ships stemmers and stop lists for 16 languages, so no extra dependency), accents folded
after stemming so "Rückerstattung" and "ruckerstattung" meet. Title, heading and body words go
into ONE field per language, each token weighted by where it stood (`BoostedText`): whoosh's
Frequency format sums token boosts into the posting weight, which gives true BM25F (weighted
term frequencies saturated together) and one posting list per word instead of three. Queries
are analyzed exactly like articles. Why these choices hold beyond one data set (each measured
on and off on every evaluation set, benchmarks/retrieval_ablation.py, and kept only if no
alternative has a larger least margin over bm25s + Snowball across all of them): Snowball
stemming won on every set; the language's stop list (function words) and the word pattern
stay, since no stop words, bm25s's shorter list and bm25s's two-letter word pattern all have
a smaller least margin (function words carry no topic in any FAQ); an extra query-only list
of politeness words lost on every set and is gone (`QUERY_STOPS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache, lru_cache
from typing import Any, cast

from whoosh.analysis import Analyzer, Filter, RegexTokenizer
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map
from whoosh.util.text import rcompile

TOKEN = rcompile(r"[\w\*]+(\.?[\w\*]+)*")
"""A word: letters and digits, dotted runs kept whole (`v2.1`, `example.com`): whoosh's own."""
FOLD = accent_map
"""Accented letters to their base letters (str.translate table)."""
SEGMENT = "\x1e"
BOOST = "\x1f"


QUERY_STOPS: dict[str, frozenset[str]] = {}
"""Words dropped from queries only, per language, beyond the stop words: none. A list of
greeting and politeness words ("thanks", "please", "help", "hope", "best") was dropped here
once; keeping them won at R@1, R@5 and MRR on every evaluation set
(benchmarks/retrieval_ablation.py), because IDF already gives a word found everywhere almost
no weight, while a list removes words that are the topic somewhere ("help center", "best
rate"). Greeting and closing lines are still cut from an email by daemon.knowledge.query."""


class BoostedTokenizer(RegexTokenizer):  # type: ignore[misc]
    """Splits `boost\\x1ftext\\x1e…` segments and weights each segment's tokens by its boost."""

    def __init__(self) -> None:
        super().__init__(TOKEN)

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


class TermFilter(Filter):  # type: ignore[misc]
    """Lowercase, drop stop words and one-letter words, stem, fold accents — in one pass.

    Whoosh's LowercaseFilter, StopFilter, StemFilter and CharsetFilter do the same as four
    generator layers and a pure-Python LRU cache; this does it with one C-level cache per
    word, which halves the time spent analyzing while indexing."""

    def __init__(self, language: str, extra_stops: frozenset[str] = frozenset()) -> None:
        self.language = language
        self.stops = stopwords_for_language(language) | extra_stops

    def __getstate__(self) -> dict[str, Any]:  # pickled into the index schema: no cache
        return {"language": self.language, "stops": self.stops}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TermFilter) and self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.language, len(self.stops)))

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        term = self.cached_term()
        for token in tokens:
            text = term(token.text)
            if text:
                token.text = text
                yield token

    def cached_term(self) -> Callable[[str], str]:
        cached = self.__dict__.get("_term")
        if cached is None:
            cached = self.__dict__["_term"] = lru_cache(maxsize=200_000)(self.term)
        return cast(Callable[[str], str], cached)

    def term(self, word: str) -> str:
        """The index term of a word, or "" when it is not indexed."""
        word = word.lower()
        if len(word) < 2 or word in self.stops:
            return ""
        return str(stemmer(self.language)(word)).translate(FOLD)


@cache
def stemmer(language: str) -> Callable[[str], str]:
    return cast(Callable[[str], str], stemmer_for_language(language))


@cache
def index_analyzer(language: str) -> Analyzer:
    return BoostedTokenizer() | TermFilter(language)


@cache
def query_analyzer(language: str) -> Analyzer:
    return RegexTokenizer(TOKEN) | TermFilter(language, QUERY_STOPS.get(language, frozenset()))


def field_for(language: str) -> str:
    return f"text_{language}"


def query_terms(text: str, language: str) -> list[str]:
    """The distinct terms of `text` in first-seen order."""
    seen: dict[str, None] = {}
    for token in query_analyzer(language)(text):
        seen.setdefault(token.text, None)
    return list(seen)
