"""Every evaluation set is well formed: what `helpdeskd eval-retrieval` reads, with every
relevant id an article of the same set and no query copied word for word from its title."""

from __future__ import annotations

import json
import re

import pytest

from daemon.knowledge.evaluate import read_queries
from daemon.knowledge.sources import load_source
from tests.retrieval_sets import EvalSet, eval_sets

SETS = eval_sets()


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_there_are_dev_sets_and_one_held_out_set() -> None:
    assert {s.split for s in SETS} == {"dev", "heldout"}
    assert len(eval_sets("dev")) >= 2
    assert [s.name for s in eval_sets("heldout")] == ["covid_jhu"]


@pytest.mark.parametrize("eval_set", SETS, ids=[f"{s.split}/{s.name}" for s in SETS])
def test_set_is_well_formed(eval_set: EvalSet) -> None:
    loaded = load_source(eval_set.articles)
    assert loaded.problems == []
    titles = {a.key: a.title for a in loaded.articles}
    assert len(titles) == len(loaded.articles) >= 20
    queries = read_queries(eval_set.queries)
    assert len(queries) >= 100
    assert len({q.qid for q in queries}) == len(queries)
    assert len({words(q.text) for q in queries}) == len(queries)
    for query in queries:
        assert query.relevant and query.relevant <= titles.keys(), query.qid
        assert all(words(query.text) != words(titles[r]) for r in query.relevant), query.qid


@pytest.mark.parametrize("eval_set", SETS, ids=[f"{s.split}/{s.name}" for s in SETS])
def test_set_is_small_enough_for_the_repository(eval_set: EvalSet) -> None:
    size = eval_set.articles.stat().st_size + eval_set.queries.stat().st_size
    assert size < 1_000_000
    first = json.loads(eval_set.articles.read_text(encoding="utf-8").splitlines()[0])
    assert {"id", "title", "body", "namespace", "url"} <= first.keys()
