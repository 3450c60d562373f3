"""The Whoosh retriever: ranked passages for a query, fast, from whatever index is current.

Decides how a search runs. Whoosh keeps the index (postings, stored passages, deletions,
segments); the ranking is BM25F computed here over its posting lists: each planned term's
postings are read once, a block at a time (postings.py), and accumulated into a score per
passage; common terms only top up the best candidates (`rank`); the top k come from a heap.
Whoosh's own collector walks a tree of union matchers per posting and took 224 ms at p95 on
the same index and terms where this takes 10 ms (benchmarks/retrieval.py); the formula is the
same BM25. One searcher is kept open and reused; before each search the index generation is
checked, and a new generation (a commit, a merge, a rebuild) opens a new searcher instead of
`refresh()`, which returns deleted and duplicate documents after merges in whoosh-reloaded.
Whoosh readers share file handles, so searches are serialized by a lock (a search takes
milliseconds; the drafting around it takes seconds).
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from daemon.config import KnowledgeSettings, Settings
from daemon.kernel.stage import Retriever
from daemon.knowledge.embeddings import hybrid_or_plain
from daemon.knowledge.index import current_dir, open_index
from daemon.knowledge.postings import posting_blocks
from daemon.knowledge.query import QueryTerm, plan_query
from daemon.records import Passage

log = logging.getLogger("helpdeskd.retrieve")
K1 = 1.2
B = 0.4
"""BM25's term saturation (the textbook k1) and length normalisation. b is 0.4, Anserini's
default, not the textbook 0.75: a knowledge-base passage is one answer to one question (the
title), and a longer answer is longer because the matter takes more explaining, not because it
is less about its question (the "scope" case of length, which calls for weak normalisation);
0.75 makes a short answer outrank the right long one on a shared word. Chosen by the rule in
benchmarks/README.md (the configuration whose smallest margin over bm25s + Snowball, at R@5
and MRR across every evaluation set, is largest): b 0.4 is the only candidate above it on
every set; k1 1.5, b 0.3 and b 1.0 were each below on one."""
RESCORE = 100
"""Candidates that common terms are added to (at least 4·k)."""


@dataclass
class Snapshot:
    """One open generation of the index and what scoring needs from it, computed once."""

    ix: Any
    searcher: Any
    location: tuple[str, int]
    """(generation folder, whoosh TOC generation): a change means a new snapshot."""
    norms: dict[str, list[float]] = field(default_factory=dict)
    namespaces: dict[tuple[str, ...], frozenset[int]] = field(default_factory=dict)

    @property
    def reader(self) -> Any:
        return self.searcher.reader()

    def norm(self, fieldname: str) -> list[float]:
        """K1·(1 − B + B·length/avg) per document: the length part of BM25, precomputed."""
        if fieldname not in self.norms:
            reader = self.reader
            avg = self.searcher.avg_field_length(fieldname) or 1.0
            self.norms[fieldname] = [
                K1 * (1 - B + B * (reader.doc_field_length(d, fieldname, 0) or 0) / avg)
                for d in range(reader.doc_count_all())
            ]
        return self.norms[fieldname]

    def allowed(self, names: tuple[str, ...]) -> frozenset[int] | None:
        """The documents in these namespaces (None: no filter)."""
        if not names:
            return None
        if names not in self.namespaces:
            docs: set[int] = set()
            for name in names:
                docs.update(self.searcher.document_numbers(namespace=name))
            self.namespaces[names] = frozenset(docs)
        return self.namespaces[names]

    def close(self) -> None:
        self.searcher.close()


class WhooshRetriever:
    """The `Retriever` of daemon.stages.retrieve over the index in `root`."""

    def __init__(self, root: Path, knowledge: KnowledgeSettings) -> None:
        self.root = root
        self.knowledge = knowledge
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]:
        return [passage for passage, _ in self.search_terms(query, namespaces, k)]

    def search_terms(
        self, query: str, namespaces: Sequence[str], k: int
    ) -> list[tuple[Passage, list[QueryTerm]]]:
        """Like `search`, with the planned terms (for snippets and explanations)."""
        if k <= 0:
            return []
        with self._lock:
            try:
                return self.search_snapshot(query, tuple(sorted(namespaces)), k)
            except (OSError, EOFError) as exc:
                # a generation deleted between our check and our read: reopen once
                log.info("index changed under a search (%s); reopening", exc)
                self.drop_snapshot()
                return self.search_snapshot(query, tuple(sorted(namespaces)), k)

    def search_snapshot(
        self, query: str, namespaces: tuple[str, ...], k: int
    ) -> list[tuple[Passage, list[QueryTerm]]]:
        snap = self.snapshot()
        if snap is None:
            return []
        reader = snap.reader
        plan = plan_query(
            query,
            self.knowledge.languages,
            reader.doc_frequency,
            reader.doc_count(),
            self.knowledge.max_query_terms,
        )
        ranked = rank(snap, plan, snap.allowed(namespaces), k)
        return [(to_passage(reader.stored_fields(d), score), plan) for d, score in ranked]

    def snapshot(self) -> Snapshot | None:
        """The open snapshot, replaced when the index has a new generation."""
        path = current_dir(self.root)
        snap = self._snapshot
        if snap is not None and snap.location == (str(path), snap.ix.latest_generation()):
            return snap
        self.drop_snapshot()
        ix = open_index(path) if path is not None else None
        if ix is not None:
            where = (str(path), ix.latest_generation())
            self._snapshot = Snapshot(ix, ix.searcher(), where)
        return self._snapshot

    def drop_snapshot(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None

    def close(self) -> None:
        with self._lock:
            self.drop_snapshot()


def rank(
    snap: Snapshot, plan: list[QueryTerm], allowed: frozenset[int] | None, k: int
) -> list[tuple[int, float]]:
    """The top k (document, score) pairs by BM25F over the planned terms.

    Rare terms are scored over their whole posting lists. Common terms (see query.py) only
    top up the best `RESCORE` candidates, walked in document order with `skip_to`, unless
    the rare terms found fewer than k passages: then they are scored in full as well."""
    scores: dict[int, float] = {}
    for term in plan:
        if not term.common:
            accumulate(scores, snap, term)
    scores = only_allowed(scores, allowed)
    common = [t for t in plan if t.common]
    if len(scores) < k:
        for term in common:
            accumulate(scores, snap, term)
        scores = only_allowed(scores, allowed)
    elif common:
        best = heapq.nlargest(max(RESCORE, 4 * k), scores.items(), key=itemgetter(1))
        candidates = sorted(doc for doc, _ in best)
        for term in common:
            top_up(scores, candidates, snap, term)
    return heapq.nlargest(k, scores.items(), key=itemgetter(1))


def term_factor(snap: Snapshot, term: QueryTerm) -> float:
    """weight × IDF × (K1 + 1): everything in a term's BM25 part but the posting's own."""
    count, df = snap.reader.doc_count_all(), term.df
    return term.weight * math.log(1 + (count - df + 0.5) / (df + 0.5)) * (K1 + 1)


def only_allowed(scores: dict[int, float], allowed: frozenset[int] | None) -> dict[int, float]:
    if allowed is None:
        return scores
    return {doc: score for doc, score in scores.items() if doc in allowed}


def accumulate(scores: dict[int, float], snap: Snapshot, term: QueryTerm) -> None:
    """Add the term's BM25 part to every document on its posting list (the hot loop)."""
    get = scores.get
    norms = snap.norm(term.field)
    factor = term_factor(snap, term)
    for ids, weights in posting_blocks(snap.reader, term.field, term.text):
        for doc, weight in zip(ids, weights, strict=True):
            scores[doc] = get(doc, 0.0) + factor * weight / (weight + norms[doc])


def top_up(scores: dict[int, float], docs: list[int], snap: Snapshot, term: QueryTerm) -> None:
    """Add the term's part to `docs` (ascending) only, skipping the rest of its list."""
    norms = snap.norm(term.field)
    factor = term_factor(snap, term)
    matcher = snap.reader.postings(term.field, term.text)
    for doc in docs:
        if not matcher.is_active():
            return
        matcher.skip_to(doc)
        if matcher.is_active() and matcher.id() == doc:
            weight = matcher.weight()
            scores[doc] += factor * weight / (weight + norms[doc])


def to_passage(stored: dict[str, Any], score: float) -> Passage:
    return Passage(
        id=stored["id"],
        title=stored["title"],
        namespace=stored["namespace"],
        text=stored["text"],
        score=round(score, 4),
        source=stored.get("source", ""),
    )


def open_retriever(settings: Settings) -> Retriever:
    """The Whoosh retriever (fused with the embeddings when [knowledge] embeddings is on);
    it also picks up an index built after start-up."""
    if current_dir(settings.index_dir) is None:
        log.warning(
            "no knowledge index in %s yet: drafts will cite nothing until "
            "`helpdeskd index` runs (or the index job does)",
            settings.index_dir,
        )
    return hybrid_or_plain(WhooshRetriever(settings.index_dir, settings.knowledge), settings)
