"""Retrieval quality on the dev evaluation sets (tests/retrieval_sets/dev), beside bm25s.

Real customer phrasings against short FAQ articles, the shape the StackExchange set does not
have. The figures are printed to the terminal (even without -s). Never the held-out set: it
is not used to choose anything here (benchmarks/retrieval_ablation.py refuses it too).
"""

from __future__ import annotations

import pytest

from daemon.config import KnowledgeSettings
from daemon.knowledge.evaluate import HEADER, evaluate
from tests.retrieval_sets import EvalSet, eval_sets

pytest.importorskip("bm25s", reason="bm25s (a dev dependency) is the baseline")
DEV = eval_sets("dev")


@pytest.mark.parametrize("eval_set", DEV, ids=[s.name for s in DEV])
def test_dev_set_beats_bm25s_and_is_never_below_bm25s_with_stemming(
    eval_set: EvalSet, capsys: pytest.CaptureFixture[str]
) -> None:
    results = evaluate(eval_set.articles, eval_set.queries, KnowledgeSettings())
    with capsys.disabled():
        print(f"\n[retrieval dev/{eval_set.name}] {results[0].queries} queries")
        print(f"[retrieval dev/{eval_set.name}] {HEADER}")
        for scores in results:
            print(f"[retrieval dev/{eval_set.name}] {scores.row()}")
    ours, bm25s, stemmed = results
    assert (bm25s.engine, stemmed.engine) == ("bm25s", "bm25s + snowball")
    assert ours.recall[5] > bm25s.recall[5] and ours.mrr > bm25s.mrr
    # the criterion, no tolerance: never below bm25s + the same stemmer
    assert ours.recall[5] >= stemmed.recall[5]
    assert ours.mrr >= stemmed.mrr
