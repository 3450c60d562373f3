"""Postings: a term's posting list, read a block at a time.

Decides how the retriever reads postings, the innermost loop of every search. Whoosh's public
matcher API hands out one posting per four method calls (`is_active`, `id`, `weight`,
`next`); whoosh-reloaded's on-disk format (W3, pinned in pyproject.toml) keeps postings in
blocks of up to 128 already-decoded ids and weights, and taking a block whole halves the time
a search spends ranking (benchmarks/retrieval.py). That reaches into the leaf matcher's
private block reader, so it is used only when the matcher is exactly the W3 leaf matcher with
the methods it needs; anything else (another codec, another whoosh) goes through the public
API with the same result, and tests/knowledge compare the two on segmented indexes with
deleted documents. Document numbers come out global (segment offsets added), deleted ones out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

Block = tuple[Sequence[int], Sequence[float]]
BLOCK_METHODS = ("_read_ids", "_read_weights", "_next_block", "is_active")
BLOCKS_READABLE = all(hasattr(W3LeafMatcher, name) for name in BLOCK_METHODS)


def posting_blocks(reader: Any, field: str, text: str, *, fast: bool = True) -> Iterator[Block]:
    """(document numbers, weights) of every live posting of the term, a block at a time."""
    for leaf, offset in reader.leaf_readers():
        try:
            matcher = leaf.postings(field, text)
        except TermNotFound:  # not in this segment
            continue
        raw = matcher.child if isinstance(matcher, FilterMatcher) else matcher
        if fast and BLOCKS_READABLE and type(raw) is W3LeafMatcher:
            deleted = leaf.deleted_docs_set if leaf.has_deletions() else frozenset()
            yield from leaf_blocks(raw, offset, deleted)
        else:
            yield public_block(matcher, offset)


def leaf_blocks(raw: Any, offset: int, deleted: frozenset[int] | set[int]) -> Iterator[Block]:
    # The whole of each block is read from its start and deleted documents are dropped here,
    # so it does not matter how far a FilterMatcher wrapper had already advanced the matcher.
    while raw.is_active():
        raw._read_ids()
        raw._read_weights()
        ids, weights = raw._ids, raw._weights
        if deleted:
            kept = [i for i, doc in enumerate(ids) if doc not in deleted]
            ids, weights = [ids[i] for i in kept], [weights[i] for i in kept]
        if offset:
            ids = [doc + offset for doc in ids]
        yield ids, weights
        raw._next_block()


def public_block(matcher: Any, offset: int) -> Block:
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id() + offset)
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights
