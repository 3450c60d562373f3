"""Retrieval ablation: each ranking choice on and off, on every evaluation set at hand.

For every set — ../shared/corpus/faq_stackfaq (when present) and each set under
tests/retrieval_sets/dev/ (never the held-out sets) — the articles are indexed and the
questions ranked exactly as `helpdeskd eval-retrieval` does, once with the defaults and once
per variant below, each variant changing ONE choice. bm25s and bm25s + Snowball run on the same
passages as the reference. Prints one markdown table of R@1 / R@5 / MRR per set (the table kept
in benchmarks/README.md), then, per variant, on how many sets it beats or loses to the defaults.

A variant is a change of the configuration or of one module-level choice (a constant or a
function of daemon.knowledge), undone afterwards; cached analyzers are rebuilt around it.

Usage: .venv/bin/python benchmarks/retrieval_ablation.py [--set DIR]... [--only NAME,...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.config import KnowledgeSettings  # noqa: E402
from daemon.knowledge import analysis, evaluate, query, retriever  # noqa: E402
from daemon.knowledge.evaluate import (  # noqa: E402
    EvalSet,
    Scores,
    evaluate_baselines,
    evaluate_ours,
    find_sets,
    read_queries,
)
from daemon.knowledge.sources import load_source  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "faq_stackfaq"
DEV_SETS = ROOT / "tests" / "retrieval_sets" / "dev"
SMALL_TALK = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "dear",
        "greetings",
        "morning",
        "afternoon",
        "evening",
        "thanks",
        "thank",
        "thx",
        "cheers",
        "regards",
        "best",
        "kind",
        "kindly",
        "sincerely",
        "please",
        "pls",
        "help",
        "appreciate",
        "appreciated",
        "advance",
        "sir",
        "madam",
        "team",
        "support",
        "hope",
        "well",
        "wishes",
        "asap",
        "urgent",
    ]
)
"""The greeting and politeness words queries dropped until the ablation showed it cost recall."""


@contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    """`module.name = value` for the block; the analyzers' caches are emptied both ways."""
    old = getattr(module, name)
    setattr(module, name, value)
    clear_caches()
    try:
        yield
    finally:
        setattr(module, name, old)
        clear_caches()


STEMMED = "bm25s + snowball"


def clear_caches() -> None:
    analysis.index_analyzer.cache_clear()
    analysis.query_analyzer.cache_clear()


@dataclass(frozen=True)
class Variant:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    patches: tuple[tuple[Any, str, Any], ...] = ()

    def applied(self) -> AbstractContextManager[None]:
        stack = ExitStack()
        for module, name, value in self.patches:
            stack.enter_context(patched(module, name, value))
        return stack


def no_stemming(language: str) -> Callable[[str], str]:
    return str


def bm25s_stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def raw_query(subject: str, body: str) -> str:
    return f"{subject}\n{body}".strip()


def variants() -> list[Variant]:
    """The defaults, then one changed choice per row."""
    from whoosh.util.text import rcompile

    return [
        Variant("defaults"),
        # field boosts (BM25F)
        Variant("title 3, heading 2 (boosts)", {"title_boost": 3.0, "heading_boost": 2.0}),
        Variant("title 1, heading 1 (no boosts)", {"title_boost": 1.0, "heading_boost": 1.0}),
        Variant("title and headings not indexed", {"title_boost": 0.0, "heading_boost": 0.0}),
        # query building
        Variant("small-talk words kept", patches=((analysis, "QUERY_STOPS", {}),)),
        Variant(
            "small-talk words dropped", patches=((analysis, "QUERY_STOPS", {"en": SMALL_TALK}),)
        ),
        Variant("email cleaning off", patches=((evaluate, "email_query_text", raw_query),)),
        Variant("ids/codes weigh 1.5", patches=((query, "KEEP_WEIGHT", 1.5),)),
        Variant("ids/codes weigh 1", patches=((query, "KEEP_WEIGHT", 1.0),)),
        Variant("rarest 8 query terms", {"max_query_terms": 8}),
        Variant("all query terms (200)", {"max_query_terms": 200}),
        Variant("common words top-up only", patches=((query, "COMMON_MIN", 0),)),
        Variant(
            "common words top-up only, 2%",
            patches=((query, "COMMON_MIN", 0), (query, "COMMON_RATIO", 0.02)),
        ),
        # stop words and tokens
        Variant(
            "no stop words", patches=((analysis, "stopwords_for_language", lambda _: frozenset()),)
        ),
        Variant(
            "bm25s's stop words",
            patches=((analysis, "stopwords_for_language", lambda _: bm25s_stop_words()),),
        ),
        Variant(
            "tokens \\w\\w+ (bm25s's)", patches=((analysis, "TOKEN", rcompile(r"(?u)\b\w\w+\b")),)
        ),
        # stemming
        Variant("no stemming", patches=((analysis, "stemmer", no_stemming),)),
        # passage cuts
        Variant("passages of 500 chars", {"passage_chars": 500}),
        Variant("passages of 3000 chars", {"passage_chars": 3000}),
        Variant("whole articles (20000)", {"passage_chars": 20000}),
        # BM25 parameters
        Variant("k1 1.5 (bm25s's)", patches=((retriever, "K1", 1.5),)),
        Variant("k1 0.9 (Anserini's, with b 0.4)", patches=((retriever, "K1", 0.9),)),
        Variant("b 0.75 (textbook)", patches=((retriever, "B", 0.75),)),
        Variant("b 0.3", patches=((retriever, "B", 0.3),)),
        Variant("b 1.0", patches=((retriever, "B", 1.0),)),
        # whole configurations (several choices at once), for the selection rule
        Variant("half boosts (title 2 heading 1.5)", {"title_boost": 2.0, "heading_boost": 1.5}),
        Variant(
            "no boosts and k1 1.5 (bm25s-like)",
            {"title_boost": 1.0, "heading_boost": 1.0},
            ((retriever, "K1", 1.5),),
        ),
        Variant("k1 1.5 and passages of 500", {"passage_chars": 500}, ((retriever, "K1", 1.5),)),
        Variant(
            "half boosts and k1 1.5",
            {"title_boost": 2.0, "heading_boost": 1.5},
            ((retriever, "K1", 1.5),),
        ),
    ]


def run(sets: list[EvalSet], chosen: list[Variant]) -> dict[str, dict[str, Scores]]:
    """set name → row name (variants, then the bm25s baselines) → scores."""
    table: dict[str, dict[str, Scores]] = {}
    for evalset in sets:
        queries = read_queries(evalset.queries)
        articles = load_source(evalset.articles).articles
        print(f"{evalset.name}: {len(articles)} articles, {len(queries)} queries", file=sys.stderr)
        rows: dict[str, Scores] = {}
        for variant in chosen:
            with variant.applied():
                knowledge = KnowledgeSettings(**variant.settings)
                rows[variant.name] = evaluate_ours(evalset.articles, queries, articles, knowledge)
            print(f"  {variant.name}: {cell(rows[variant.name])}", file=sys.stderr)
        for scores in evaluate_baselines(queries, articles, KnowledgeSettings()):
            rows[scores.engine] = scores
        table[evalset.name] = rows
    return table


def cell(scores: Scores) -> str:
    return f"{scores.recall[1]:.3f} / {scores.recall[5]:.3f} / {scores.mrr:.3f}"


def markdown(table: dict[str, dict[str, Scores]]) -> str:
    names = list(table)
    rows = list(dict.fromkeys(row for found in table.values() for row in found))
    lines = [
        "| choice | "
        + " | ".join(names)
        + " | R@5 / MRR vs defaults (sets +/−) | least margin over bm25s + Snowball |",
        "|---|" + "---|" * len(names) + "---|---|",
    ]
    for row in rows:
        cells = [cell(table[n][row]) if row in table[n] else "—" for n in names]
        extra = f"{versus(table, row)} | {least_margin(table, row)}"
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {extra} |")
    return "\n".join(lines)


def least_margin(table: dict[str, dict[str, Scores]], row: str) -> str:
    """The selection rule's figure: the row's smallest margin over bm25s + Snowball, at R@5
    and at MRR, across the sets, with the set and the margin in questions of that set."""
    margins = []
    for name, rows in table.items():
        if row not in rows or STEMMED not in rows:
            continue
        this, ref = rows[row], rows[STEMMED]
        for what, a, b in (("R@5", this.recall[5], ref.recall[5]), ("MRR", this.mrr, ref.mrr)):
            margins.append(
                (a - b, f"{a - b:+.3f} ({(a - b) * this.queries:+.1f} q, {name} {what})")
            )
    return min(margins)[1] if margins else "—"


def versus(table: dict[str, dict[str, Scores]], row: str) -> str:
    """How many sets the row beats (+) and loses to (−) the defaults on, at R@5 and MRR."""
    r5 = [0, 0]
    mrr = [0, 0]
    for rows in table.values():
        if row not in rows or "defaults" not in rows:
            continue
        base, this = rows["defaults"], rows[row]
        for count, a, b in ((r5, this.recall[5], base.recall[5]), (mrr, this.mrr, base.mrr)):
            count[0] += a > b + 1e-9
            count[1] += a < b - 1e-9
    return f"+{r5[0]} −{r5[1]} / +{mrr[0]} −{mrr[1]}"


def default_sets() -> list[EvalSet]:
    found = find_sets([CORPUS]) if CORPUS.is_dir() else []
    return found + (find_sets([DEV_SETS]) if DEV_SETS.is_dir() else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--set",
        dest="sets",
        type=Path,
        action="append",
        default=[],
        help="a set folder, or a folder of sets (default: corpus + dev sets)",
    )
    parser.add_argument("--only", default="", help="comma-separated variant names to run")
    args = parser.parse_args()
    sets = find_sets(args.sets) if args.sets else default_sets()
    if any("heldout" in s.name for s in sets):
        parser.error("held-out sets are never used to choose defaults")
    only = set(filter(None, args.only.split(",")))
    chosen = [v for v in variants() if not only or v.name in only or v.name == "defaults"]
    print(markdown(run(sets, chosen)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
