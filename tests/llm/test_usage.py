"""Honest usage through the real stack and the scripted server: tokens estimated (and flagged)
when the server reports none — streams without usage, timeouts, truncated streams — retries and
timeouts logged, counted and bounded by the stage budget, streams cut by a timer at their
deadline, unusable answers told apart from transport failures."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from connectors.llm import ChatRequest, Endpoint, LLMError, OpenAIChatModel
from daemon.app import Services
from daemon.deadline import stage_deadline
from daemon.llm.prompts import triage_schema
from daemon.llm.stack import CallMeta, Failure, LLMStack
from daemon.metrics import REGISTRY
from daemon.tables import Usage
from tests.llm.scripted_server import (
    Answer,
    Reply,
    ScriptedLLM,
    chunk,
    count_tokens,
    prompt_tokens,
    slow_first,
)

MODEL = "llama-3.3-70b"
ASK = (
    {"role": "system", "content": "You answer questions about parcels. Be brief and exact."},
    {"role": "user", "content": "Where is my parcel? I ordered it ten days ago. " * 8},
)
TEXT = "Your parcel left our warehouse on Monday and should arrive by Thursday. " * 3


@pytest.fixture
def services(llm_services: Services) -> Iterator[Services]:
    yield llm_services


def stack_of(services: Services) -> LLMStack:
    assert services.llm is not None
    return services.llm.stack


def rows(services: Services) -> list[Usage]:
    with Session(services.engine) as session:
        return list(session.exec(select(Usage).order_by(col(Usage.id))).all())


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def call(services: Services, stream: bool | None = None, **kwargs: Any) -> Any:
    request = ChatRequest(messages=ASK, max_tokens=200, stream=stream, **kwargs)
    return stack_of(services).call("triage", request, CallMeta("route", message_pk=1))


def test_a_stream_without_usage_is_estimated_and_flagged(
    services: Services, llm_server: ScriptedLLM
) -> None:
    llm_server.script = lambda req: Answer(TEXT, stream_usage=False)
    before = metric("helpdeskd_llm_estimated_total", model=MODEL)
    tokens_in = metric("helpdeskd_llm_tokens_total", task="triage", direction="input")
    answer = call(services, stream=True)
    assert answer.usage is None  # the server sent none although asked
    assert llm_server.requests[-1]["stream_options"] == {"include_usage": True}
    [row] = rows(services)
    assert row.estimated and row.ok and row.outcome == "ok"
    # The estimate is the configured tokenizer's (llama3): the same count the server would give.
    server_in = prompt_tokens(llm_server.requests[-1])
    assert server_in * 0.7 <= row.input_tokens <= server_in * 1.5
    assert row.output_tokens == count_tokens(TEXT)
    assert metric("helpdeskd_llm_estimated_total", model=MODEL) == before + 1
    assert row.task == "triage"  # the estimate reaches the token counter too
    after = metric("helpdeskd_llm_tokens_total", task="triage", direction="input")
    assert after == tokens_in + row.input_tokens


def test_usage_reported_by_the_server_is_not_flagged(
    services: Services, llm_server: ScriptedLLM
) -> None:
    llm_server.script = lambda req: Answer(TEXT)
    call(services, stream=True)
    [row] = rows(services)
    assert not row.estimated and row.input_tokens == prompt_tokens(llm_server.requests[-1])


def test_a_timed_out_request_is_retried_with_a_warning_and_its_prompt_counted(
    services: Services, llm_server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """The first attempt is still running on the server when the retry arrives: the log says
    so, both prompts are counted (the second by the server, the first estimated)."""
    llm_server.script = slow_first(3.0, lambda req: Answer(TEXT))
    retries = metric("helpdeskd_llm_retries_total", model=MODEL, reason="timeout")
    timeouts = metric("helpdeskd_llm_timeouts_total", model=MODEL)
    with caplog.at_level(logging.WARNING, logger="helpdeskd.llm"):
        answer = call(services, stream=False)
    assert answer.content == TEXT and answer.attempts == 2 and answer.retried == ("timeout",)
    warning = next(r for r in caplog.records if "attempt 1/2" in r.getMessage())
    assert warning.levelno == logging.WARNING
    text = warning.getMessage()
    assert "timeout after 2.0s" in text and "retrying in 0.50s" in text
    assert "may still be working on the first request" in text
    assert len(llm_server.requests) == 2
    [row] = rows(services)
    assert row.ok and row.retries == 1 and row.timeouts == 1 and row.estimated
    server_in = prompt_tokens(llm_server.requests[-1])
    assert row.input_tokens > 1.6 * server_in  # the timed-out prompt is in, not free
    assert metric("helpdeskd_llm_retries_total", model=MODEL, reason="timeout") == retries + 1
    assert metric("helpdeskd_llm_timeouts_total", model=MODEL) == timeouts + 1


def test_a_request_that_always_times_out_records_its_estimated_prompts(
    services: Services, llm_server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.script = lambda req: Answer(TEXT, delay=3.0)
    with caplog.at_level(logging.WARNING, logger="helpdeskd.llm"):
        failure = call(services, stream=False)
    assert failure.kind == "timeout" and "no answer within 2s after 2 attempt(s)" in failure.reason
    assert any(
        "attempt 2/2 failed" in r.getMessage() and "no retries left" in r.getMessage()
        for r in caplog.records
    )
    [row] = rows(services)
    assert not row.ok and row.outcome == "transport" and row.estimated
    assert row.timeouts == 2 and row.retries == 1 and row.output_tokens == 0
    assert row.input_tokens >= 2 * prompt_tokens(llm_server.requests[-1]) * 0.7
    assert row.cost == pytest.approx(0.01)  # billed (per_request): the server did the work


def test_no_retry_that_cannot_finish_within_the_stage_budget(
    services: Services, llm_server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """2 s timeout, 3 s stage budget: the retry would need 0.5 s wait + 2 s — it is not made,
    and the log says why."""
    llm_server.script = lambda req: Answer(TEXT, delay=3.0)

    def in_a_worker() -> None:  # a pipeline worker's thread (the timer path of the deadline)
        with stage_deadline("route", 3.0):
            out.append(call(services, stream=False))

    out: list[Any] = []
    with caplog.at_level(logging.WARNING, logger="helpdeskd.llm"):
        worker = threading.Thread(target=in_a_worker)
        worker.start()
        worker.join(10)
    assert out and out[0].kind == "timeout" and "cut to the stage budget" in out[0].reason
    assert len(llm_server.requests) == 1
    assert any(
        "no retry" in r.getMessage() and "stage budget" in r.getMessage() for r in caplog.records
    )
    [row] = rows(services)
    assert row.timeouts == 1 and row.retries == 0 and row.input_tokens > 0


def test_the_stage_budget_cuts_an_attempt_shorter_than_the_timeout(
    services: Services, llm_server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.script = lambda req: Answer(TEXT, delay=3.0)
    with stage_deadline("route", 1.8):  # the 2 s timeout is cut to 1.3 s (0.5 s reserve)
        failure = call(services, stream=False)
    assert "timeout after 1." in caplog.text  # cut from 2 s
    assert failure.kind == "timeout"  # ended inside the budget: no StageTimeout was raised


def test_a_truncated_stream_records_the_output_received(
    services: Services, llm_server: ScriptedLLM
) -> None:
    got = '{"intent": "order_status", "language": "en", "ri'
    llm_server.script = lambda req: Reply(
        sse=[chunk("m", {"role": "assistant", "content": ""}), chunk("m", {"content": got})]
    )
    failure = call(services, stream=True)
    assert failure.kind == "truncated"
    [row] = rows(services)
    assert row.outcome == "truncated" and row.estimated and not row.ok
    assert row.output_tokens == count_tokens(got) and row.input_tokens > 0


def test_an_answer_that_breaks_the_schema_is_unusable_not_ok(
    services: Services, llm_server: ScriptedLLM
) -> None:
    schema = triage_schema(["order_status", "general"], [])
    llm_server.script = lambda req: Answer('{"intent": "shipping", "confidence": 0.9}')
    answer = call(services, stream=False, json_schema=schema)
    assert answer.content  # the caller still gets it (and falls back with its own reason)
    [row] = rows(services)
    assert row.outcome == "unusable" and not row.ok and not row.estimated
    assert row.error is not None and "ignores the schema" in row.error


def test_a_confidence_of_100_is_a_percentage(services: Services, llm_server: ScriptedLLM) -> None:
    schema = triage_schema(["order_status", "general"], [])
    answer = {"intent": "general", "language": "en", "risk": "none", "wants_human": False}
    llm_server.script = lambda req: Answer(json.dumps({**answer, "confidence": 100}))
    call(services, stream=False, json_schema=schema)
    [row] = rows(services)
    assert row.outcome == "ok"


def test_a_streaming_deadline_is_enforced_by_a_timer(llm_server: ScriptedLLM) -> None:
    """The server dribbles a chunk every 3 s; the 1 s deadline ends the call at about 1 s, not
    when the next chunk arrives, with the text received so far."""
    llm_server.script = lambda req: Answer("Your parcel is on its way. " * 10, interval=3.0)
    endpoint = Endpoint(
        base_url=llm_server.url, api_key="k", model="m", timeout=1.0, idle_timeout=5.0, retries=0
    )
    model = OpenAIChatModel("triage", endpoint)
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        model.complete(ChatRequest(messages=ASK, max_tokens=100, stream=True))
    took = time.monotonic() - started
    assert caught.value.kind == "timeout" and "cut at its deadline" in str(caught.value)
    assert took < 2.5  # the next chunk comes at 3 s: the timer, not the chunk, ended it
    model.close()


def test_the_request_deadline_cuts_a_dribbling_stream(llm_server: ScriptedLLM) -> None:
    llm_server.script = lambda req: Answer("Your parcel is on its way. " * 10, interval=0.3)
    endpoint = Endpoint(base_url=llm_server.url, api_key="k", model="m", timeout=30.0)
    model = OpenAIChatModel("triage", endpoint)
    request = ChatRequest(
        messages=ASK, max_tokens=100, stream=True, deadline=time.monotonic() + 1.0
    )
    with pytest.raises(LLMError) as caught:
        model.complete(request)
    assert caught.value.kind == "timeout"
    assert caught.value.received.startswith("Your parcel")  # what came before the cut
    model.close()


def test_no_request_is_sent_when_the_stage_budget_is_spent(
    services: Services, llm_server: ScriptedLLM
) -> None:
    spent = ChatRequest(messages=ASK, max_tokens=50, deadline=time.monotonic() - 1)
    failure = stack_of(services).call("triage", spent, CallMeta("route", message_pk=1))
    assert isinstance(failure, Failure)
    assert failure.kind == "timeout" and "no time left" in failure.reason
    assert llm_server.requests == [] and rows(services) == []
