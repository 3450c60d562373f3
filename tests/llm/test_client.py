"""connectors/llm.py through the real openai SDK over real HTTP and SSE to the scripted server:
answers, tool calls, JSON modes and their fallback, streaming with usage, vision content, and
every fault the issue names (timeout, 429 with Retry-After, 500, malformed JSON, truncated and
stalled streams, finish_reason checks)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest

from connectors.llm import (
    Capabilities,
    ChatRequest,
    Endpoint,
    JsonSchema,
    LLMError,
    OpenAIChatModel,
)
from tests.llm.scripted_server import Answer, Reply, ScriptedLLM, chunk

SCHEMA = JsonSchema(
    "answer",
    {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
    },
)
ASK = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"})


def model(
    server: ScriptedLLM, caps: Capabilities | None = None, **overrides: Any
) -> OpenAIChatModel:
    endpoint = Endpoint(
        base_url=server.url,
        api_key="test-key",
        model="scripted-1",
        timeout=5.0,
        idle_timeout=2.0,
        retries=2,
        backoff=0.05,
        capabilities=caps or Capabilities(),
    )
    return OpenAIChatModel("triage", replace(endpoint, **overrides))


def ask(m: OpenAIChatModel, **kwargs: Any) -> Any:
    return m.complete(ChatRequest(messages=ASK, max_tokens=64, **kwargs))


@pytest.mark.parametrize("stream", [False, True])
def test_plain_answer_with_usage(llm_server: ScriptedLLM, stream: bool) -> None:
    llm_server.script = lambda req: Answer("Hi there, how can I help with your order today?")
    answer = ask(model(llm_server), stream=stream)
    assert answer.content == "Hi there, how can I help with your order today?"
    assert answer.finish_reason == "stop" and answer.streamed is stream
    assert answer.usage is not None and answer.usage.input_tokens > 5
    sent = llm_server.requests[-1]
    assert sent["max_tokens"] == 64 and sent["model"] == "scripted-1"
    assert sent.get("stream", False) is stream
    if stream:
        assert sent["stream_options"] == {"include_usage": True}


def test_stream_without_usage_capability(llm_server: ScriptedLLM) -> None:
    llm_server.script = lambda req: Answer("fine")
    answer = ask(model(llm_server, Capabilities(stream_usage=False)))
    assert answer.streamed and answer.usage is None
    assert "stream_options" not in llm_server.requests[-1]


TOOL_CASES = [
    ("single", [("get_order_status", {"order_id": "10001"})], False),
    (
        "parallel",
        [
            ("get_order_status", {"order_id": "10001"}),
            ("check_refund_eligibility", {"order_id": "10003"}),
        ],
        False,
    ),
    (
        "parallel, no index",
        [("get_order_status", {"order_id": "1"}), ("get_order_status", {"order_id": "2"})],
        True,
    ),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("label", "calls", "omit_index"), TOOL_CASES)
def test_tool_calls(
    llm_server: ScriptedLLM, stream: bool, label: str, calls: list[Any], omit_index: bool
) -> None:
    llm_server.script = lambda req: Answer(None, calls, omit_index=omit_index)
    tools = ({"type": "function", "function": {"name": "get_order_status", "parameters": {}}},)
    answer = ask(model(llm_server), tools=tools, stream=stream)
    assert answer.finish_reason == "tool_calls"
    got = [(c.name, json.loads(c.arguments)) for c in answer.tool_calls]
    assert got == calls, label
    assert len({c.id for c in answer.tool_calls}) == len(calls)
    assert llm_server.requests[-1]["tools"] == list(tools)


def test_tools_refused_for_a_model_without_function_calling(llm_server: ScriptedLLM) -> None:
    tools = ({"type": "function", "function": {"name": "x", "parameters": {}}},)
    with pytest.raises(LLMError) as info:
        ask(model(llm_server, Capabilities(tools=False)), tools=tools)
    assert info.value.permanent and not llm_server.requests


@pytest.mark.parametrize(
    ("mode", "response_format"),
    [
        ("json_schema", "json_schema"),
        ("json_object", "json_object"),
        ("prompt", None),
    ],
)
def test_json_modes(llm_server: ScriptedLLM, mode: Any, response_format: str | None) -> None:
    llm_server.script = lambda req: Answer('{"ok": true}')
    answer = ask(model(llm_server, Capabilities(json_mode=mode)), json_schema=SCHEMA)
    assert json.loads(answer.content) == {"ok": True} and answer.json_mode == mode
    sent = llm_server.requests[-1]
    assert (sent.get("response_format") or {}).get("type") == response_format
    system = sent["messages"][0]["content"]
    # The schema is spelled out in the (first) system message whenever the server won't enforce it.
    assert ('"required": ["ok"]' in system) is (mode != "json_schema")
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


def test_server_refusing_json_schema_gets_json_object_then_remembers(
    llm_server: ScriptedLLM,
) -> None:
    def script(req: dict[str, Any]) -> Answer | Reply:
        if (req.get("response_format") or {}).get("type") == "json_schema":
            return Reply(
                400, {"error": {"message": "response_format json_schema is not supported"}}
            )
        return Answer('{"ok": false}')

    llm_server.script = script
    m = model(llm_server)
    assert json.loads(ask(m, json_schema=SCHEMA).content) == {"ok": False}
    assert [r.get("response_format", {}).get("type") for r in llm_server.requests] == [
        "json_schema",
        "json_object",
    ]
    assert m.capabilities.json_mode == "json_object"
    ask(m, json_schema=SCHEMA)
    assert len(llm_server.requests) == 3  # no second refusal: the downgrade was remembered


def test_vision_content_is_sent_as_data_url(llm_server: ScriptedLLM) -> None:
    llm_server.script = lambda req: Answer("a cat")
    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    m = model(llm_server, Capabilities(vision=True))
    m.complete(ChatRequest(messages=({"role": "user", "content": parts},), max_tokens=32))
    assert llm_server.requests[-1]["messages"][0]["content"][1]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )


# --- faults --------------------------------------------------------------------------------


def test_timeout_is_retried_then_reported(llm_server: ScriptedLLM) -> None:
    llm_server.script = lambda req: Reply(body={}, delay=1.5)
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ask(model(llm_server, timeout=0.3, retries=1), stream=False)
    assert info.value.kind == "timeout" and info.value.attempts == 2
    assert len(llm_server.requests) == 2
    assert time.monotonic() - started < 1.5


def test_429_waits_for_retry_after_then_succeeds(llm_server: ScriptedLLM) -> None:
    def script(req: dict[str, Any]) -> Answer | Reply:
        if len(llm_server.requests) == 1:
            return Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "1"})
        return Answer("ok now")

    llm_server.script = script
    started = time.monotonic()
    answer = ask(model(llm_server))
    waited = time.monotonic() - started
    assert answer.content == "ok now" and answer.attempts == 2
    assert 0.95 <= waited < 2.5, waited


def test_429_asking_too_long_gives_up_at_once(llm_server: ScriptedLLM) -> None:
    llm_server.script = lambda req: Reply(429, {"error": {}}, headers={"Retry-After": "120"})
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ask(model(llm_server, max_retry_wait=5))
    assert info.value.kind == "rate_limited" and "Retry-After 120s" in str(info.value)
    assert len(llm_server.requests) == 1 and time.monotonic() - started < 1


@pytest.mark.parametrize("failures", [1, 2, 3])
def test_500_is_retried_up_to_the_bound(llm_server: ScriptedLLM, failures: int) -> None:
    def script(req: dict[str, Any]) -> Answer | Reply:
        if len(llm_server.requests) <= failures:
            return Reply(500, {"error": {"message": "boom"}})
        return Answer("recovered")

    llm_server.script = script
    m = model(llm_server, retries=2)
    if failures <= 2:
        assert ask(m).content == "recovered"
    else:
        with pytest.raises(LLMError) as info:
            ask(m)
        assert info.value.kind == "server" and info.value.attempts == 3
    assert len(llm_server.requests) == min(failures + 1, 3)


BROKEN_STREAM = [
    chunk("m", {"role": "assistant", "content": ""}),
    chunk("m", {"content": "Your ord"}),
]

FAULTS: list[tuple[str, Reply, str]] = [
    ("malformed JSON body", Reply(raw=b'{"id": "x", "choices": [{"message": '), "malformed"),
    ("truncated stream", Reply(sse=BROKEN_STREAM), "truncated"),
    ("bad JSON chunk", Reply(sse=[*BROKEN_STREAM, "{not json"]), "malformed"),
    (
        "cut at max_tokens",
        Reply(sse=[*BROKEN_STREAM, chunk("m", {}, "length"), "[DONE]"]),
        "truncated",
    ),
    (
        "content filter",
        Reply(sse=[*BROKEN_STREAM, chunk("m", {}, "content_filter"), "[DONE]"]),
        "filtered",
    ),
    (
        "empty answer",
        Reply(
            sse=[chunk("m", {"role": "assistant", "content": ""}), chunk("m", {}, "stop"), "[DONE]"]
        ),
        "empty",
    ),
    ("bad credentials", Reply(401, {"error": {"message": "invalid key"}}), "auth"),
]


@pytest.mark.parametrize(("label", "reply", "kind"), FAULTS, ids=[f[0] for f in FAULTS])
def test_unusable_answers_are_errors(
    llm_server: ScriptedLLM, label: str, reply: Reply, kind: str
) -> None:
    llm_server.script = lambda req: reply
    with pytest.raises(LLMError) as info:
        ask(model(llm_server), stream=reply.sse is not None)
    assert info.value.kind == kind, label
    assert len(llm_server.requests) == 1  # none of these is retried


def test_stalled_stream_is_detected_by_the_idle_timeout(llm_server: ScriptedLLM) -> None:
    lines = [*BROKEN_STREAM, chunk("m", {}, "stop"), "[DONE]"]
    llm_server.script = lambda req: Reply(sse=lines, stall_after=2, stall=3.0)
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ask(model(llm_server, idle_timeout=0.4))
    assert info.value.kind == "stalled"
    assert time.monotonic() - started < 1.5


def test_slow_trickling_stream_hits_the_overall_deadline(llm_server: ScriptedLLM) -> None:
    words = [chunk("m", {"content": "word "}) for _ in range(10)]

    class Trickle(Reply):
        pass

    def script(req: dict[str, Any]) -> Reply:
        return Reply(sse=[*words, chunk("m", {}, "stop"), "[DONE]"], stall_after=1, stall=0.3)

    llm_server.script = script
    # Each gap is under the idle timeout, but the answer as a whole is late.
    with pytest.raises(LLMError) as info:
        ask(model(llm_server, idle_timeout=1.0, timeout=0.2))
    assert info.value.kind == "timeout"
