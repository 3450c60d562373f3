"""The token budget: counting (quicktok, or the chars/3 estimate, calibrated by server usage)
and prompts that fit at any thread length — measured on the requests the server received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import quicktok
from sqlmodel import Session
from tool_service import ToolService

from daemon.app import Services
from daemon.llm.budget import CUT_MARK, TokenCounter, resolve_encoding, take_ranked
from daemon.tables import Message, MessageContent, MessageParse
from tests.llm.helpers import deliver, llm_settings, make_mail, snapshot, start_services
from tests.llm.scripted_server import ScriptedLLM, prompt_tokens, purpose_of

LLAMA = quicktok.get_encoding("llama3")
PROSE = (
    "The parcel left our warehouse on Monday; the carrier's site says it is in transit, but "
    "nothing moved since. Kundennummer 4711, Größe 42, ¿dónde está? 配送状況を教えてください。 "
)


@pytest.mark.parametrize(
    ("tokenizer", "model", "exact"),
    [
        ("auto", "meta-llama/Llama-3.3-70B-Instruct", True),
        ("auto", "llama-3.3-70b", True),
        ("auto", "qwen-3-32b", True),
        ("qwen3", "anything", True),
        ("auto", "deepseek-v4-flash", False),
        ("estimate", "llama-3.3-70b", False),
    ],
)
def test_counter_uses_quicktok_when_the_encoding_is_known(
    tokenizer: str, model: str, exact: bool
) -> None:
    counter = TokenCounter(resolve_encoding(tokenizer, model))
    assert (counter.method == "quicktok") is exact
    text = PROSE * 20
    if exact:
        encoding = resolve_encoding(tokenizer, model)
        assert encoding is not None
        assert counter.count(text) == len(encoding.encode(text))
    else:
        assert counter.count(text) == -(-len(text) // 3)
        # The estimate is conservative against a real tokenizer on mixed-language prose.
        assert counter.count(text) >= len(LLAMA.encode(text))


def test_calibration_follows_what_the_server_reports() -> None:
    counter = TokenCounter(None)
    raw = counter.raw(PROSE * 40)
    for _ in range(30):
        counter.calibrate(raw, int(raw * 1.4))  # the server counts 40% more than chars/3
    assert counter.factor == pytest.approx(1.4 * 1.05, rel=0.01)
    assert counter.count(PROSE * 40) >= raw * 1.4
    counter.calibrate(10, 1000)  # tiny prompts are ignored: all overhead
    assert counter.factor == pytest.approx(1.47, rel=0.01)


@pytest.mark.parametrize("limit", [16, 100, 700, 5000])
@pytest.mark.parametrize("encoding", [LLAMA, None])
def test_trim_fits_and_keeps_head_and_tail(limit: int, encoding: Any) -> None:
    counter = TokenCounter(encoding)
    text = "START " + PROSE * 200 + " END"
    cut = counter.trim(text, limit)
    assert counter.count(cut) <= limit
    if counter.count(text) > limit and limit >= 100:
        assert cut.startswith("START") and cut.endswith("END")
        assert CUT_MARK.split("{n}")[0] in cut


def test_take_ranked_keeps_rank_order_within_budget() -> None:
    counter = TokenCounter(LLAMA)
    items = [f"passage {i}: " + PROSE * (i + 1) for i in range(10)]
    taken = take_ranked(counter, items, 400, 150)
    assert taken and taken[0].startswith("passage 0")
    assert sum(counter.count(t) + 6 for t in taken) <= 400


# --- prompts as the server received them ------------------------------------------------------

BUDGET = 3000


@pytest.fixture
def services(
    tmp_path: Path, llm_server: ScriptedLLM, tool_service: ToolService
) -> Iterator[Services]:
    svc = start_services(
        llm_settings(
            tmp_path,
            llm_server.url,
            tool_service.url,
            budget={"prompt_tokens": BUDGET, "recent_turns": 3},
            screen={"replies_per_ticket_per_hour": 1000, "burst_messages": 1000},
        )
    )
    yield svc
    svc.close()


def add_history(services: Services, ticket_id: int, turns: int, size: int) -> None:
    """Earlier mail of the ticket, written straight into the store (fast, any length)."""
    with Session(services.engine) as session:
        for i in range(turns):
            text = f"Earlier mail #{i}: " + (PROSE * (size // len(PROSE) + 1))[:size]
            row = Message(
                source="inbox",
                source_key=f"history-{ticket_id}-{i}",
                sha256=f"{i:064d}",
                size=size,
                state="sent",
                ticket_id=ticket_id,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            parsed = {"reply_text": text, "text": text}
            session.add(MessageContent(message_pk=row.id, raw=b""))
            session.add(MessageParse(message_pk=row.id, parsed=parsed))
        session.commit()


@pytest.mark.parametrize(
    ("history", "size", "new_mail"),
    [(0, 0, 500), (2, 2000, 500), (30, 3000, 500), (200, 3000, 500), (5, 500, 100_000)],
)
def test_every_prompt_fits_at_any_thread_length(
    services: Services, llm_server: ScriptedLLM, history: int, size: int, new_mail: int
) -> None:
    first = make_mail("Where is my order 10001?", subject="Order 10001")
    deliver(services, first)
    ticket_id = snapshot(services).messages[0].ticket_id
    assert ticket_id is not None
    add_history(services, ticket_id, history, size)
    first_id = first.split(b"Message-ID: <")[1].split(b">")[0].decode()
    body = "Still waiting for order 10001. " + (PROSE * (new_mail // len(PROSE) + 1))[:new_mail]
    before = len(llm_server.requests)
    deliver(services, make_mail(body, subject="Re: Order 10001", in_reply_to=first_id))
    sent = llm_server.requests[before:]
    drafts = [r for r in sent if purpose_of(r) == "draft"]
    assert drafts, [purpose_of(r) for r in sent]
    sizes = {
        purpose_of(r): max(prompt_tokens(x) for x in sent if purpose_of(x) == purpose_of(r))
        for r in sent
    }
    print(f"\nhistory {history}x{size} chars, new mail {new_mail} chars -> prompt tokens {sizes}")
    for request in sent:
        assert prompt_tokens(request) <= BUDGET, (purpose_of(request), prompt_tokens(request))
    user = drafts[-1]["messages"][1]["content"]
    assert "Still waiting for order 10001." in user  # the new mail is never dropped
    if history > 3:
        assert "<customer_thread_summary>" in user
    if new_mail > 10_000:
        assert "characters cut to fit the token budget" in user
    assert snapshot(services).messages[-1].state in ("sent", "awaiting_approval")


def test_tool_results_are_capped(
    services: Services, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    deliver(services, make_mail("Where is my order 10001?", subject="Order 10001"))
    tool_turns = [m for r in llm_server.requests for m in r["messages"] if m.get("role") == "tool"]
    assert tool_turns
    counter = TokenCounter(LLAMA)
    cap = services.settings.budget.tool_result_tokens
    assert all(counter.raw(m["content"]) <= cap for m in tool_turns)
    assert json.loads(tool_turns[0]["content"])["order_id"] == "10001"
