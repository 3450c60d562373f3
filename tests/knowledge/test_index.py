"""The index and the retriever: build, search, incremental updates, generations, one writer."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from daemon.config import KnowledgeSettings, KnowledgeSource
from daemon.knowledge import rebuild_index
from daemon.knowledge.index import IndexBusy, current_dir, open_current, write_lock
from daemon.knowledge.postings import BLOCKS_READABLE, posting_blocks
from daemon.knowledge.retriever import WhooshRetriever, open_retriever
from daemon.knowledge.sync import rebuild, update
from tests.conftest import make_settings

ARTICLES = {
    "policies/refunds.md": "# Refund policy\n\nWe refund within 30 days of delivery.\n\n"
    "## Damaged items\n\nIf the parcel arrived damaged, send a photo for a free replacement.\n",
    "policies/privacy.md": "# Privacy\n\nWe delete personal data on request within a month.\n",
    "manuals/novacam.md": "# NovaCam manual\n\n## Error E1234\n\nThe firmware update failed: "
    "hold the reset button for ten seconds and install the firmware again.\n\n"
    "## Battery\n\nCharge the battery for two hours before first use.\n",
    "account/password.md": "# Resetting a password\n\nUse the forgot password link on the "
    "sign-in page; the link in the email expires after one hour.\n",
}

SEARCHES: list[tuple[str, tuple[str, ...], str]] = [
    ("My parcel arrived damaged, what now?", (), "kb/policies/refunds"),
    ("NovaCam shows E1234 after the update", (), "kb/manuals/novacam"),
    ("how long until I get my money back (refund)", (), "kb/policies/refunds"),
    ("I forgot my password and the link expired", (), "kb/account/password"),
    ("please delete my personal data", ("policies",), "kb/policies/privacy"),
    ("charging the battery", ("manuals", "faq"), "kb/manuals/novacam"),
]


def write_kb(folder: Path, articles: dict[str, str]) -> None:
    for rel, text in articles.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def touch_later(path: Path, seconds: int = 10) -> None:
    """Make an edit visible to the mtime check even within the same clock tick."""
    mtime = path.stat().st_mtime + seconds
    os.utime(path, (mtime, mtime))


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    write_kb(tmp_path / "kb", ARTICLES)
    return tmp_path / "kb"


@pytest.fixture
def knowledge() -> KnowledgeSettings:
    return KnowledgeSettings(max_segments=3)


@pytest.fixture
def built(tmp_path: Path, kb: Path, knowledge: KnowledgeSettings) -> Path:
    root = tmp_path / "index"
    rebuild(root, [KnowledgeSource(path=kb)], knowledge)
    return root


def ids(retriever: WhooshRetriever, query: str, namespaces: tuple[str, ...] = ()) -> list[str]:
    return [p.id for p in retriever.search(query, namespaces, 5)]


@pytest.mark.parametrize(("query", "namespaces", "expected"), SEARCHES)
def test_search_finds_the_right_passage_first(
    built: Path,
    knowledge: KnowledgeSettings,
    query: str,
    namespaces: tuple[str, ...],
    expected: str,
) -> None:
    retriever = WhooshRetriever(built, knowledge)
    found = retriever.search(query, namespaces, 5)
    assert found[0].id == expected
    assert not namespaces or {p.namespace for p in found} <= set(namespaces)
    retriever.close()


def test_passages_carry_title_path_source_and_text(built: Path, kb: Path) -> None:
    retriever = WhooshRetriever(built, KnowledgeSettings())
    (top, *_) = retriever.search("E1234 firmware", (), 1)
    assert top.title == "NovaCam manual"  # short: one passage, its sections inside
    assert top.namespace == "manuals"
    assert top.source == f"{kb / 'manuals/novacam.md'}"
    assert top.text.startswith("## Error E1234\n\nThe firmware update failed")
    assert top.score > 0


def test_incremental_update_adds_changes_and_removes(
    built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    sources = [KnowledgeSource(path=kb)]
    retriever = WhooshRetriever(built, knowledge)
    assert ids(retriever, "gift wrapping") == []

    write_kb(kb, {"faq/gifts.md": "# Gift wrapping\n\nWe wrap gifts for free.\n"})
    summary = update(built, sources, knowledge)
    assert (summary.added, summary.changed, summary.removed) == (1, 0, 0)
    assert ids(retriever, "gift wrapping") == ["kb/faq/gifts"]

    (kb / "faq/gifts.md").write_text("# Gift wrapping\n\nGift wrapping costs 2 euros.\n")
    touch_later(kb / "faq/gifts.md")
    summary = update(built, sources, knowledge)
    assert (summary.added, summary.changed, summary.removed) == (0, 1, 0)
    assert "2 euros" in retriever.search("gift wrapping", (), 1)[0].text

    (kb / "faq/gifts.md").unlink()
    summary = update(built, sources, knowledge)
    assert (summary.added, summary.changed, summary.removed) == (0, 0, 1)
    assert ids(retriever, "gift wrapping") == []

    summary = update(built, sources, knowledge)
    assert (summary.added, summary.changed, summary.removed, summary.passages) == (0, 0, 0, 0)


def test_unchanged_mtime_means_the_file_is_not_read(
    built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    path = kb / "policies/privacy.md"
    stat = path.stat()
    path.write_text("# Privacy\n\nCompletely different words: zebra.\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    update(built, [KnowledgeSource(path=kb)], knowledge)
    assert ids(WhooshRetriever(built, knowledge), "zebra") == []


def test_articles_of_other_sources_stay_until_a_rebuild(
    tmp_path: Path, built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    extra = tmp_path / "extra"
    write_kb(extra, {"notes.md": "# Holiday hours\n\nClosed on public holidays.\n"})
    update(built, [KnowledgeSource(path=extra)], knowledge)
    update(built, [KnowledgeSource(path=kb)], knowledge)
    retriever = WhooshRetriever(built, knowledge)
    assert ids(retriever, "public holidays") == ["extra/notes"]
    rebuild(built, [KnowledgeSource(path=kb)], knowledge)
    assert ids(retriever, "public holidays") == []


def test_searcher_is_reused_and_reopened_on_a_new_generation(
    built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    retriever = WhooshRetriever(built, knowledge)
    retriever.search("refund", (), 3)
    first = retriever.snapshot()
    assert first is not None
    retriever.search("battery", (), 3)
    assert retriever.snapshot() is first  # nothing changed: the same searcher

    write_kb(kb, {"faq/new.md": "# Loyalty points\n\nPoints expire after a year.\n"})
    update(built, [KnowledgeSource(path=kb)], knowledge)
    assert ids(retriever, "loyalty points") == ["kb/faq/new"]
    second = retriever.snapshot()
    assert second is not first and second is not None
    assert second.location[0] == first.location[0]  # a commit: same folder, new generation

    old_folder = current_dir(built)
    rebuild(built, [KnowledgeSource(path=kb)], knowledge)
    assert ids(retriever, "loyalty points") == ["kb/faq/new"]
    assert current_dir(built) != old_folder and old_folder is not None
    assert not old_folder.exists()  # the old generation is gone, the reader moved on


def test_merging_segments_never_shows_deleted_or_duplicate_passages(
    built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    """The whoosh-reloaded bug: refresh() after merging commits returns deleted documents."""
    retriever = WhooshRetriever(built, knowledge)
    retriever.search("battery", (), 3)
    for round_ in range(8):
        body = f"# NovaCam manual\n\n## Battery\n\nCharge the battery for {round_} hours.\n"
        (kb / "manuals/novacam.md").write_text(body)
        touch_later(kb / "manuals/novacam.md", 10 * (round_ + 1))
        update(built, [KnowledgeSource(path=kb)], knowledge)
        found = retriever.search("charge the battery hours", (), 50)
        assert len(found) == len({p.id for p in found})
        battery = [p for p in found if p.id == "kb/manuals/novacam"]
        assert [p.text for p in battery] == [
            f"## Battery\n\nCharge the battery for {round_} hours."
        ]
        ix = open_current(built)
        assert ix is not None
        with ix.reader() as reader:
            assert len(reader.leaf_readers()) <= knowledge.max_segments
            assert reader.doc_count() == 4  # 4 short articles, one passage each
        ix.close()


def test_one_writer_at_a_time_and_readers_never_wait(
    built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    retriever = WhooshRetriever(built, knowledge)
    with write_lock(built):
        with pytest.raises(IndexBusy):
            update(built, [KnowledgeSource(path=kb)], knowledge, wait=False)
        results: list[list[str]] = []
        reader = threading.Thread(target=lambda: results.append(ids(retriever, "refund")))
        reader.start()
        reader.join(timeout=10)
        assert results and results[0][0].startswith("kb/policies/refunds")


def test_a_broken_index_finds_nothing_and_the_next_update_rebuilds_it(
    built: Path, kb: Path, knowledge: KnowledgeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    folder = current_dir(built)
    assert folder is not None
    for toc in folder.glob("*.toc"):
        toc.write_bytes(b"torn by a power cut")
    retriever = WhooshRetriever(built, knowledge)
    with caplog.at_level(logging.WARNING, "helpdeskd.index"):
        assert retriever.search("refund", (), 3) == []
    assert "helpdeskd index --rebuild" in caplog.text
    summary = update(built, [KnowledgeSource(path=kb)], knowledge)
    assert summary.rebuilt
    assert ids(retriever, "refund")[0].startswith("kb/policies/refunds")


def test_open_retriever_before_any_index_then_after_a_build(
    tmp_path: Path, kb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, knowledge={"sources": [{"path": str(kb)}]})
    with caplog.at_level(logging.WARNING, "helpdeskd.retrieve"):
        retriever = open_retriever(settings)
    assert "no knowledge index" in caplog.text
    assert retriever.search("refund", (), 3) == []
    assert rebuild_index(settings) == 4
    assert retriever.search("refund", (), 3)[0].id.startswith("kb/policies/refunds")
    retriever.close()


def flatten(blocks: Iterator[tuple[Sequence[int], Sequence[float]]]) -> list[tuple[int, float]]:
    return [
        (doc, weight) for ids, weights in blocks for doc, weight in zip(ids, weights, strict=True)
    ]


def test_block_reads_match_the_public_matcher_api(tmp_path: Path, kb: Path) -> None:
    """Several segments, deleted passages: the fast path and whoosh's public API agree."""
    assert BLOCKS_READABLE  # the pinned whoosh-reloaded has the block reader we use
    knowledge = KnowledgeSettings(max_segments=50)
    root = tmp_path / "index"
    rebuild(root, [KnowledgeSource(path=kb)], knowledge)
    for round_ in range(3):
        write_kb(kb, {f"faq/extra{round_}.md": f"# Battery care {round_}\n\nCharge the battery.\n"})
        (kb / "policies/refunds.md").write_text(f"# Refund policy\n\nRefund round {round_}.\n")
        touch_later(kb / "policies/refunds.md", 10 * (round_ + 1))
        update(root, [KnowledgeSource(path=kb)], knowledge)
    ix = open_current(root)
    assert ix is not None
    with ix.reader() as reader:
        assert len(reader.leaf_readers()) > 1 and reader.has_deletions()
        terms = [text.decode() for field, text in reader.all_terms() if field == "text_en"]
        assert "batteri" in terms and "refund" in terms
        for text in terms:
            fast = flatten(posting_blocks(reader, "text_en", text))
            public = flatten(posting_blocks(reader, "text_en", text, fast=False))
            assert fast == public, text
            assert all(not reader.is_deleted(doc) for doc, _ in fast)
    ix.close()


def test_a_missing_source_folder_keeps_its_articles(
    tmp_path: Path, built: Path, kb: Path, knowledge: KnowledgeSettings
) -> None:
    kb.rename(tmp_path / "elsewhere")
    summary = update(built, [KnowledgeSource(path=kb)], knowledge)
    assert summary.problems == [(str(kb), "does not exist: its articles are kept")]
    assert summary.removed == 0
    assert ids(WhooshRetriever(built, knowledge), "refund")[0].startswith("kb/policies/refunds")
