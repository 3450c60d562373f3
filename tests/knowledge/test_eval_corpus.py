"""Retrieval quality on ../shared/corpus/faq_stackfaq, beside bm25s on the same passages.

125 StackExchange FAQ articles (question title, answers as body) and 1,249 paraphrased
questions with the article they belong to. The figures are printed to the terminal (even
without -s); the aim is at least bm25s + Snowball stemmer's recall@5 and MRR.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import KnowledgeSettings
from daemon.knowledge.evaluate import HEADER, evaluate

pytest.importorskip("bm25s", reason="bm25s (a dev dependency) is the baseline")


def test_faq_stackfaq_recall_at_least_bm25s(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = corpus_dir / "faq_stackfaq"
    results = evaluate(folder / "kb_articles.jsonl", folder / "queries.jsonl", KnowledgeSettings())
    with capsys.disabled():
        print(f"\n[retrieval faq_stackfaq] {results[0].queries} queries")
        print(f"[retrieval faq_stackfaq] {HEADER}")
        for scores in results:
            print(f"[retrieval faq_stackfaq] {scores.row()}")
    ours, bm25s, stemmed = results
    assert ours.engine == "helpdeskd (whoosh)" and bm25s.engine == "bm25s"
    assert stemmed.engine == "bm25s + snowball"
    assert ours.queries == 1249
    assert ours.recall[5] >= stemmed.recall[5] >= bm25s.recall[5]
    assert ours.mrr >= stemmed.mrr
