"""Snippets: the part of a passage worth showing next to a search hit.

Decides which sentence stands for a passage in `helpdeskd search`: the one holding the most
distinct query terms (analyzed the way the index was, so "refunds" finds "refund"), cut to
about `width` characters. Nothing here affects ranking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from daemon.knowledge.analysis import index_analyzer
from daemon.knowledge.query import QueryTerm

SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def make_snippet(text: str, plan: Sequence[QueryTerm], width: int = 200) -> str:
    sentences = [s.strip() for s in SENTENCE.split(text) if s.strip()]
    if not sentences:
        return ""
    wanted = {(t.field.removeprefix("text_"), t.text) for t in plan}
    best = max(sentences, key=lambda s: len(matches(s, wanted)))
    return shorten(" ".join(best.split()), width)


def matches(sentence: str, wanted: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found = set()
    for language in {lang for lang, _ in wanted}:
        found |= {(language, t.text) for t in index_analyzer(language)(sentence)}
    return found & wanted


def shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width - 1)
    return text[: cut if cut > 0 else width - 1] + "…"
