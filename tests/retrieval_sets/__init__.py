"""Retrieval evaluation sets built from public FAQs and chatbot logs (see README.md).

Decides which sets exist and which of them is held out. Each set is a folder with
`articles.jsonl` (what `helpdeskd index` reads) and `queries.jsonl` (what
`helpdeskd eval-retrieval --queries` reads: `{"qid", "query", "relevant": [article id]}`).
`dev/` sets may be looked at while choosing ranking defaults; `heldout/` sets are only run to
report a figure after the choices are made, so that a default is never tuned on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SPLITS = ("dev", "heldout")


@dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    split: str
    folder: Path

    @property
    def articles(self) -> Path:
        return self.folder / "articles.jsonl"

    @property
    def queries(self) -> Path:
        return self.folder / "queries.jsonl"


def eval_sets(split: str | None = None) -> list[EvalSet]:
    """Every set (or those of one split), in a stable order: dev first, then held out."""
    splits = SPLITS if split is None else (split,)
    return [
        EvalSet(folder.name, name, folder)
        for name in splits
        for folder in sorted((ROOT / name).iterdir())
        if (folder / "articles.jsonl").is_file()
    ]
