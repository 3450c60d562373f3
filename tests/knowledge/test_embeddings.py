"""Hybrid retrieval against the scripted server's /v1/embeddings over real HTTP: vectors at
index time in batches, reused when unchanged and across generations, fused with the keyword
ranking; every failure leaves the keyword ranking, with a logged reason."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.config import KnowledgeSettings, Settings, check_settings
from daemon.knowledge import rebuild_index, update_index
from daemon.knowledge.embeddings import STORE_DIR, HybridRetriever, store_path
from daemon.knowledge.index import current_dir
from daemon.knowledge.retriever import WhooshRetriever, open_retriever
from tests.conftest import make_settings
from tests.llm.scripted_server import Reply, ScriptedLLM, gullible_script

ARTICLES = [
    ("ship/track", "Tracking a package", "Each package gets a tracking number by email."),
    ("ship/where", "Where we deliver", "We deliver to every address in the country."),
    ("pay/refund", "Refunds", "A refund reaches your card within five days of the return."),
    ("pay/invoice", "Invoices", "Download an invoice from the orders page of your account."),
    ("acct/password", "Resetting a password", "Use the forgot password link to sign in."),
]
QUERY = "where is my parcel"
"""No article says "parcel": the keywords find "where", the scripted vectors fold parcel into
package (tests/llm/scripted_server.py SYNONYMS)."""


@pytest.fixture
def server() -> Iterator[ScriptedLLM]:
    llm = ScriptedLLM(gullible_script)
    llm.start()
    yield llm
    llm.stop()


def write_articles(path: Path, articles: list[tuple[str, str, str]]) -> None:
    lines = [
        json.dumps({"id": i, "title": t, "body": b, "namespace": i.split("/")[0]})
        for i, t, b in articles
    ]
    path.write_text("\n".join(lines) + "\n")


def hybrid_settings(tmp_path: Path, server: ScriptedLLM, **knowledge: Any) -> Settings:
    kb = tmp_path / "kb.jsonl"
    write_articles(kb, ARTICLES)
    return make_settings(
        tmp_path,
        llm={"base_url": server.url},
        knowledge={
            "sources": [{"path": str(kb)}],
            "past_tickets": False,
            "embeddings": True,
            "embedding_model": "scripted-embed",
            "embedding_batch": 2,
            **knowledge,
        },
    )


def inputs(server: ScriptedLLM) -> list[str]:
    return [text for r in server.embedding_requests for text in r["input"]]


def ids(passages: list[Any]) -> list[str]:
    return [p.id for p in passages]


def test_index_embeds_every_passage_in_batches_and_search_fuses(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    assert sorted(inputs(server)) == sorted(f"{t}\n{b}" for _, t, b in ARTICLES)
    assert [len(r["input"]) for r in server.embedding_requests] == [2, 2, 1]
    assert all(r["model"] == "scripted-embed" for r in server.embedding_requests)
    generation = current_dir(settings.index_dir)
    assert generation is not None and store_path(settings.index_dir, generation).is_file()

    plain = WhooshRetriever(settings.index_dir, settings.knowledge)
    hybrid = open_retriever(settings)
    try:
        assert isinstance(hybrid, HybridRetriever)
        keyword = ids(plain.search(QUERY, (), 3))
        fused = ids(hybrid.search(QUERY, (), 3))
    finally:
        plain.close()
        hybrid.close()
    assert "ship/track" not in keyword  # no shared word
    assert fused[0] == "ship/track"  # the vectors found it; fusion put it first
    assert "ship/where" in fused  # the keyword hit stays in the list
    assert server.embedding_requests[-1]["input"] == [QUERY]


def test_namespaces_also_filter_the_vector_ranking(tmp_path: Path, server: ScriptedLLM) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    retriever = open_retriever(settings)
    try:
        found = ids(retriever.search(QUERY, ("pay",), 5))
    finally:
        retriever.close()
    assert found and all(i.startswith("pay/") for i in found)


def test_unchanged_passages_are_not_sent_again(tmp_path: Path, server: ScriptedLLM) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    sent = len(inputs(server))
    update_index(settings, None)
    assert len(inputs(server)) == sent  # nothing changed: nothing asked

    kb = tmp_path / "kb.jsonl"
    changed = [*ARTICLES[:2], ("pay/refund", "Refunds", "Refunds take ten days."), *ARTICLES[3:]]
    write_articles(kb, changed)
    os.utime(kb, (kb.stat().st_atime, kb.stat().st_mtime + 10))
    update_index(settings, None)
    assert inputs(server)[sent:] == ["Refunds\nRefunds take ten days."]


def test_a_new_generation_reuses_vectors_and_drops_the_old_file(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    first = current_dir(settings.index_dir)
    sent = len(inputs(server))
    rebuild_index(settings)
    second = current_dir(settings.index_dir)
    assert first is not None and second is not None and first != second
    assert len(inputs(server)) == sent  # every text was known: copied, not recomputed
    stores = sorted(p.name for p in (settings.index_dir / STORE_DIR).glob("*.sqlite"))
    assert stores == [f"{second.name}.sqlite"]
    retriever = open_retriever(settings)
    try:
        assert ids(retriever.search(QUERY, (), 3))[0] == "ship/track"
    finally:
        retriever.close()


def keyword_only(settings: Settings) -> list[str]:
    plain = WhooshRetriever(settings.index_dir, settings.knowledge)
    try:
        return ids(plain.search(QUERY, (), 3))
    finally:
        plain.close()


def test_server_down_falls_back_to_keywords_with_a_logged_reason(
    tmp_path: Path, server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    retriever = open_retriever(settings)
    server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="helpdeskd.embeddings"):
            found = ids(retriever.search(QUERY, (), 3))
            again = ids(retriever.search(QUERY, (), 3))
    finally:
        retriever.close()
    assert found == again == keyword_only(settings)
    reasons = [
        r.getMessage()
        for r in caplog.records
        if r.name == "helpdeskd.embeddings" and r.levelno >= logging.WARNING
    ]
    assert len(reasons) == 1  # once per reason, not per search
    assert "keyword ranking alone" in reasons[0] and server.url in reasons[0]


def test_wrong_dimension_falls_back(
    tmp_path: Path, server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    server.embed = lambda request: [[1.0] * 8 for _ in request["input"]]
    retriever = open_retriever(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="helpdeskd.embeddings"):
            found = ids(retriever.search(QUERY, (), 3))
    finally:
        retriever.close()
    assert found == keyword_only(settings)
    assert "8 dimensions, the index's 64" in caplog.text


def test_a_slow_query_embedding_falls_back(
    tmp_path: Path, server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    settings = hybrid_settings(tmp_path, server, embedding_timeout_seconds=0.2)
    rebuild_index(settings)
    server.embed = lambda request: Reply(delay=1.0, body={"data": []})
    retriever = open_retriever(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="helpdeskd.embeddings"):
            found = ids(retriever.search(QUERY, (), 3))
    finally:
        retriever.close()
    assert found == keyword_only(settings)
    assert "timed out" in caplog.text.lower()


def test_failing_index_time_embeddings_leave_the_keyword_index(
    tmp_path: Path, server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    server.embed = lambda request: Reply(status=500, body={"error": {"message": "down"}})
    settings = hybrid_settings(tmp_path, server)
    with caplog.at_level(logging.WARNING, logger="helpdeskd.embeddings"):
        passages = rebuild_index(settings)
        retriever = open_retriever(settings)
        try:
            found = ids(retriever.search(QUERY, (), 3))
        finally:
            retriever.close()
    assert passages == len(ARTICLES)
    assert found == keyword_only(settings)
    assert "embeddings incomplete" in caplog.text
    assert "no embeddings for the current index generation" in caplog.text
    server.embed = lambda request: [[1.0] * 64 for _ in request["input"]]
    update_index(settings, None)  # nothing changed in the index, but the vectors are missing
    assert len(server.embedding_requests) > 3


def test_off_by_default_asks_nothing(tmp_path: Path, server: ScriptedLLM) -> None:
    settings = hybrid_settings(tmp_path, server, embeddings=False)
    assert KnowledgeSettings().embeddings is False
    rebuild_index(settings)
    retriever = open_retriever(settings)
    try:
        retriever.search(QUERY, (), 3)
    finally:
        retriever.close()
    assert isinstance(retriever, WhooshRetriever)
    assert server.embedding_requests == []
    assert not (settings.index_dir / STORE_DIR).exists()


def test_config_needs_a_model_and_a_known_provider(tmp_path: Path, server: ScriptedLLM) -> None:
    settings = hybrid_settings(tmp_path, server, embedding_model="")
    assert ("knowledge.embedding_model", "required when embeddings = true") in check_settings(
        settings
    )
    other = hybrid_settings(tmp_path, server, embedding_provider="reasoning")
    assert ("knowledge.embedding_provider", "no [models.reasoning]") in check_settings(other)


def test_an_unreadable_vector_file_falls_back(
    tmp_path: Path, server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    settings = hybrid_settings(tmp_path, server)
    rebuild_index(settings)
    generation = current_dir(settings.index_dir)
    assert generation is not None
    store_path(settings.index_dir, generation).write_bytes(b"not a database" * 100)
    retriever = open_retriever(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="helpdeskd.embeddings"):
            found = ids(retriever.search(QUERY, (), 3))
    finally:
        retriever.close()
    assert found == keyword_only(settings)
    assert "keyword ranking alone" in caplog.text


def test_embeddings_off_loads_neither_numpy_nor_the_openai_sdk() -> None:
    """Off by default: the retriever, the index job and the knowledge commands import the
    embeddings module, but its heavy dependencies load only when embeddings are on."""
    import subprocess
    import sys

    code = (
        "import sys, daemon.knowledge.retriever, daemon.knowledge.sync, daemon.cli.knowledge;"
        "print(sorted(m for m in ('openai', 'numpy', 'httpx2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
