"""Retrieval evaluation: how often the right article comes first, or in the top 5 or 10.

Decides how retrieval quality is measured, for `helpdeskd eval-retrieval` and the test on the
conformance corpus. Articles (JSONL) are cut into passages exactly as `helpdeskd index` would
and indexed in a temporary folder; each query goes through the same query building as an
email's text. Passages are ranked, then folded to their articles (first passage wins), and
recall@1/5/10 and MRR@10 are computed against the relevant article ids. The baseline is
bm25s, run in the same process on the same passage texts (title, headings and body), with its
English stop words and once more with the same Snowball stemmer we use, so the comparison is
of ranking, not of tokenization luck. bm25s fills its top k with passages of score 0 (sharing
no word with the question) in index order; those are dropped as not found, as ours returns
none: on a set of 20 articles that filler alone put the answer in a baseline's top 5 for one
question in four of those that match nothing. bm25s is a development dependency: without it only our
figures are given.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.config import KnowledgeSettings, KnowledgeSource
from daemon.knowledge.passages import PassageDoc, split_article
from daemon.knowledge.query import email_query_text
from daemon.knowledge.retriever import WhooshRetriever
from daemon.knowledge.sources import Article, load_source
from daemon.knowledge.sync import rebuild

CUTOFFS = (1, 5, 10)
DEPTH = 50
"""Passages fetched per query before folding them into articles."""

Ranker = Callable[[Sequence[str]], list[list[str]]]
"""Queries in, for each the ranked passage ids."""


@dataclass(frozen=True, slots=True)
class Query:
    qid: str
    text: str
    relevant: frozenset[str]


@dataclass(frozen=True, slots=True)
class Scores:
    engine: str
    recall: dict[int, float]
    mrr: float
    queries: int

    def row(self) -> str:
        recalls = "  ".join(f"{self.recall[k]:.3f}" for k in CUTOFFS)
        return f"{self.engine:<22} {recalls}  {self.mrr:.3f}"


HEADER = f"{'engine':<22} " + "  ".join(f"R@{k:<3}" for k in CUTOFFS) + "  MRR"


def read_queries(path: Path) -> list[Query]:
    """`{"qid", "query", "relevant": [article id, ...]}` per line."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                data = json.loads(line)
                out.append(Query(str(data["qid"]), data["query"], frozenset(data["relevant"])))
    return out


@dataclass(frozen=True, slots=True)
class EvalSet:
    """One evaluation set: articles and the questions asked about them."""

    name: str
    articles: Path
    queries: Path


ARTICLE_FILES = ("articles.jsonl", "kb_articles.jsonl")
QUERY_FILE = "queries.jsonl"


def find_sets(paths: Iterable[Path]) -> list[EvalSet]:
    """The sets in `paths`: a folder holding `queries.jsonl` beside `articles.jsonl` (or
    `kb_articles.jsonl`) is a set; any other folder is searched for such folders, by name."""
    found: list[EvalSet] = []
    for path in (p.resolve() for p in paths):
        folders = [path, *sorted(p for p in path.rglob("*") if p.is_dir())]
        found += [s for folder in folders if (s := set_in(folder, path)) is not None]
    return found


def set_in(folder: Path, top: Path) -> EvalSet | None:
    queries = folder / QUERY_FILE
    articles = next((folder / n for n in ARTICLE_FILES if (folder / n).is_file()), None)
    if articles is None or not queries.is_file():
        return None
    name = folder.relative_to(top.parent).as_posix() if folder != top else folder.name
    return EvalSet(name, articles, queries)


def evaluate(articles_path: Path, queries_path: Path, knowledge: KnowledgeSettings) -> list[Scores]:
    """Our retriever and the bm25s baselines (when installed) on the same passages."""
    queries = read_queries(queries_path)
    articles = load_source(articles_path).articles
    results = [evaluate_ours(articles_path, queries, articles, knowledge)]
    return results + evaluate_baselines(queries, articles, knowledge)


def evaluate_ours(
    articles_path: Path, queries: list[Query], articles: list[Article], knowledge: KnowledgeSettings
) -> Scores:
    """helpdeskd's figures: the articles indexed as `helpdeskd index` would, in a temp folder."""
    with tempfile.TemporaryDirectory(prefix="helpdeskd-eval-") as tmp:
        rebuild(Path(tmp), [KnowledgeSource(path=articles_path)], knowledge)
        retriever = WhooshRetriever(Path(tmp), knowledge)
        try:
            return score("helpdeskd (whoosh)", whoosh_ranker(retriever), queries, articles)
        finally:
            retriever.close()


def evaluate_baselines(
    queries: list[Query], articles: list[Article], knowledge: KnowledgeSettings
) -> list[Scores]:
    """bm25s and bm25s + Snowball on our passages (none when bm25s is not installed)."""
    passages = [p for a in articles for p in split_article(a, knowledge.passage_chars)]
    return [
        score(name, ranker, queries, articles)
        for name, ranker in bm25s_rankers(passages, knowledge.languages[0])
    ]


def whoosh_ranker(retriever: WhooshRetriever) -> Ranker:
    def rank(texts: Sequence[str]) -> list[list[str]]:
        return [
            [p.id for p in retriever.search(email_query_text("", text), (), DEPTH)]
            for text in texts
        ]

    return rank


def score(name: str, ranker: Ranker, queries: list[Query], articles: list[Article]) -> Scores:
    owner = article_of([a.key for a in articles])
    ranked = ranker([q.text for q in queries])
    hits = dict.fromkeys(CUTOFFS, 0)
    reciprocal = 0.0
    for query, passage_ids in zip(queries, ranked, strict=True):
        found = fold(passage_ids, owner)
        position = next((i for i, a in enumerate(found) if a in query.relevant), None)
        for k in CUTOFFS:
            hits[k] += position is not None and position < k
        if position is not None and position < max(CUTOFFS):
            reciprocal += 1 / (position + 1)
    n = max(len(queries), 1)
    return Scores(name, {k: hits[k] / n for k in CUTOFFS}, reciprocal / n, len(queries))


def article_of(keys: Iterable[str]) -> Callable[[str], str]:
    """Passage id → article key (`key`, `key#anchor`; keys may contain '#' themselves)."""
    known = set(keys)

    def owner(passage_id: str) -> str:
        if passage_id in known:
            return passage_id
        return passage_id.rsplit("#", 1)[0]

    return owner


def fold(passage_ids: Iterable[str], owner: Callable[[str], str]) -> list[str]:
    """Articles in the order of their best passage."""
    return list(dict.fromkeys(owner(p) for p in passage_ids))


def bm25s_rankers(passages: list[PassageDoc], language: str) -> list[tuple[str, Ranker]]:
    try:
        import bm25s
    except ImportError:
        return []
    from whoosh.lang import stemmer_for_language

    texts = [f"{p.title}\n{p.text}" for p in passages]
    ids = [p.id for p in passages]
    stem_word = stemmer_for_language(language)

    def stem(words: list[str]) -> list[str]:  # bm25s stems a batch of words at once
        return [stem_word(w) for w in words]

    return [
        ("bm25s", bm25s_ranker(bm25s, texts, ids, None)),
        ("bm25s + snowball", bm25s_ranker(bm25s, texts, ids, stem)),
    ]


def bm25s_ranker(bm25s: Any, texts: list[str], ids: list[str], stemmer: Any) -> Ranker:
    model = bm25s.BM25()
    model.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )

    def rank(queries: Sequence[str]) -> list[list[str]]:
        tokens = bm25s.tokenize(list(queries), stopwords="en", stemmer=stemmer, show_progress=False)
        docs, scores = model.retrieve(tokens, k=min(DEPTH, len(ids)), show_progress=False)
        return [
            [ids[d] for d, s in zip(row, row_scores, strict=True) if s > 0]
            for row, row_scores in zip(docs, scores, strict=True)
        ]

    return rank
