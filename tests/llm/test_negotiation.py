"""Capability negotiation in connectors/llm.py against the scripted server's real-server faults:
a refused `json_schema` (HTTP 400, 422, or llama.cpp's 500 with pydantic's text) steps down to
`json_object`, then to the prompt; a refused `tool_choice` is left out; each step is kept for the
model, logged once with the server's words, and a request refused for what it contains is never
sent again unchanged. `tool_choice` and `content: ""` go out as servers document them."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.llm import (
    Capabilities,
    ChatRequest,
    Endpoint,
    JsonSchema,
    LLMError,
    OpenAIChatModel,
    ToolChoice,
)
from tests.llm.scripted_server import (
    PYDANTIC_JSON_SCHEMA,
    PYDANTIC_NULL_CONTENT,
    Answer,
    Reply,
    ScriptedLLM,
    offered_tools,
    server_error,
)

SCHEMA = JsonSchema(
    "answer", {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
)
ASK = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"})
TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Status of one order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}
OK = json.dumps({"ok": True})


def model(server: ScriptedLLM, caps: Capabilities | None = None, **kw: Any) -> OpenAIChatModel:
    endpoint = Endpoint(
        base_url=server.url,
        api_key="k",
        model="smol",
        timeout=5.0,
        retries=2,
        backoff=0.01,
        stream=False,
        capabilities=caps or Capabilities(),
    )
    return OpenAIChatModel("triage", replace(endpoint, **kw))


def formats(server: ScriptedLLM) -> list[str | None]:
    return [(r.get("response_format") or {}).get("type") for r in server.requests]


def test_llamacpp_500_on_json_schema_steps_down_once_and_is_remembered(
    llm_server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.faults = {"json_schema_500"}
    llm_server.script = lambda req: Answer(OK)
    m = model(llm_server)
    with caplog.at_level(logging.WARNING, "helpdeskd.llm"):
        first = m.complete(ChatRequest(ASK, 32, json_schema=SCHEMA))
        second = m.complete(ChatRequest(ASK, 32, json_schema=SCHEMA))
    # Not retried as it was: one refused request, then json_object for good.
    assert formats(llm_server) == ["json_schema", "json_object", "json_object"]
    assert first.json_mode == second.json_mode == "json_object"
    assert first.attempts == 1 and m.capabilities.json_mode == "json_object"
    assert (
        "must validate against this JSON Schema" in llm_server.requests[1]["messages"][0]["content"]
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "json_schema refused (HTTP 500: " in warnings[0]
    assert "Input should be 'text' or 'json_object'" in warnings[0]
    assert m.notes == [warnings[0].split(": ", 1)[1].removesuffix(", for the rest of this process")]


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "response_format json_schema is not supported by this model"),
        (422, "Unprocessable: json_schema is not a valid response_format type"),
        (500, PYDANTIC_JSON_SCHEMA),
    ],
)
def test_schema_complaint_at_any_status_steps_down_to_the_prompt(
    llm_server: ScriptedLLM, status: int, text: str
) -> None:
    def script(req: dict[str, Any]) -> Answer | Reply:
        if req.get("response_format"):
            return replace(server_error(text), status=status)
        return Answer(OK)

    llm_server.script = script
    m = model(llm_server)
    answer = m.complete(ChatRequest(ASK, 32, json_schema=SCHEMA))
    assert formats(llm_server) == ["json_schema", "json_object", None]
    assert answer.json_mode == "prompt" and answer.content == OK
    assert len(m.notes) == 2 and all(f"HTTP {status}" in n for n in m.notes)


def test_a_request_complaint_is_never_retried_as_it_was(llm_server: ScriptedLLM) -> None:
    """Prompt mode left, and the server still says the request is invalid: one request, a
    permanent refusal carrying the server's words (no retry can change the answer)."""
    llm_server.script = lambda req: server_error(
        "1 validation error: messages.1.content field required"
    )
    m = model(llm_server, Capabilities(json_mode="prompt"))
    with pytest.raises(LLMError) as info:
        m.complete(ChatRequest(ASK, 32, json_schema=SCHEMA))
    assert len(llm_server.requests) == 1
    assert info.value.kind == "refused_request" and info.value.permanent
    assert "HTTP 500" in str(info.value) and "field required" in str(info.value)


def test_a_plain_500_is_still_retried(llm_server: ScriptedLLM) -> None:
    llm_server.script = lambda req: server_error("CUDA out of memory")
    with pytest.raises(LLMError) as info:
        model(llm_server).complete(ChatRequest(ASK, 32))
    assert len(llm_server.requests) == 3 and info.value.kind == "server"


@pytest.mark.parametrize(
    ("choice", "sent"), [("auto", "auto"), ("required", "required"), ("none-sent", None)]
)
def test_tool_choice_goes_with_the_tools(
    llm_server: ScriptedLLM, choice: ToolChoice, sent: str | None
) -> None:
    llm_server.script = lambda req: Answer("fine")
    m = model(llm_server, Capabilities(tool_choice=choice))
    m.complete(ChatRequest(ASK, 32, tools=(TOOL,)))
    m.complete(ChatRequest(ASK, 32))
    assert llm_server.requests[0].get("tool_choice") == sent
    assert "tool_choice" not in llm_server.requests[1]  # no tools, no tool_choice


def test_required_becomes_auto_once_the_results_are_in(llm_server: ScriptedLLM) -> None:
    """Forcing a call on every round would never let the model answer."""
    llm_server.script = lambda req: Answer("fine")
    m = model(llm_server, Capabilities(tool_choice="required"))
    after = (
        *ASK,
        {"role": "assistant", "content": "", "tool_calls": [call_dict()]},
        {"role": "tool", "tool_call_id": "call_0", "content": "{}"},
    )
    m.complete(ChatRequest(after, 32, tools=(TOOL,)))
    assert llm_server.requests[0]["tool_choice"] == "auto"


def test_refused_tool_choice_is_left_out_from_then_on(
    llm_server: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    vllm = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'

    def script(req: dict[str, Any]) -> Answer | Reply:
        if "tool_choice" in req:
            return Reply(status=400, body={"object": "error", "message": vllm, "code": 400})
        return Answer("fine")

    llm_server.script = script
    m = model(llm_server)
    with caplog.at_level(logging.WARNING, "helpdeskd.llm"):
        m.complete(ChatRequest(ASK, 32, tools=(TOOL,)))
        m.complete(ChatRequest(ASK, 32, tools=(TOOL,)))
    assert [r.get("tool_choice") for r in llm_server.requests] == ["auto", None, None]
    assert m.capabilities.tool_choice == "none-sent"
    assert [r.getMessage() for r in caplog.records if "tool_choice refused" in r.getMessage()]
    assert vllm in m.notes[0]


def test_tools_without_tool_choice_are_ignored_by_llamacpp(llm_server: ScriptedLLM) -> None:
    """The fault itself: with no tool_choice the model never sees the tools."""
    llm_server.faults = {"tools_need_tool_choice"}
    llm_server.script = lambda req: (
        Answer(None, [("get_order_status", {"order_id": "1"})])
        if offered_tools(req)
        else Answer("I cannot look that up.")
    )
    quiet = model(llm_server, Capabilities(tool_choice="none-sent"))
    assert quiet.complete(ChatRequest(ASK, 32, tools=(TOOL,))).tool_calls == ()
    called = model(llm_server).complete(ChatRequest(ASK, 32, tools=(TOOL,)))
    assert [c.name for c in called.tool_calls] == ["get_order_status"]


@pytest.mark.parametrize("stream", [False, True])
def test_assistant_tool_call_turn_goes_with_empty_content(
    llm_server: ScriptedLLM, stream: bool
) -> None:
    llm_server.faults = {"null_content_500"}
    llm_server.script = lambda req: Answer("Your order has shipped.")
    turn = {"role": "assistant", "content": None, "tool_calls": [call_dict()]}
    after = (*ASK, turn, {"role": "tool", "tool_call_id": "call_0", "content": '{"s": 1}'})
    answer = model(llm_server).complete(ChatRequest(after, 32, tools=(TOOL,), stream=stream))
    assert answer.content == "Your order has shipped."
    assert llm_server.requests[0]["messages"][2]["content"] == ""
    assert len(llm_server.requests) == 1


def test_null_content_fault_answers_like_llamacpp(llm_server: ScriptedLLM) -> None:
    """Sent raw (not through the connector), null content gets llama.cpp's HTTP 500."""
    import httpx

    llm_server.faults = {"null_content_500"}
    llm_server.script = lambda req: Answer("x")
    body = {"model": "m", "messages": [{"role": "assistant", "content": None}]}
    answer = httpx.post(f"{llm_server.url}/chat/completions", json=body)
    assert answer.status_code == 500
    assert answer.json()["error"]["message"] == PYDANTIC_NULL_CONTENT


def call_dict() -> dict[str, Any]:
    return {
        "id": "call_0",
        "type": "function",
        "function": {"name": "get_order_status", "arguments": '{"order_id": "1"}'},
    }


def test_probe_shows_what_a_llamacpp_like_server_does(
    llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from daemon.cli import main

    llm_server.faults = {"json_schema_500", "tools_need_tool_choice"}
    llm_server.script = lambda req: (
        Answer(None, [("get_order_status", {"order_id": "10001"})])
        if offered_tools(req)
        else Answer(OK)
    )
    config = tmp_path / "c.toml"
    config.write_text(
        f'[llm]\nbase_url = "{llm_server.url}"\n\n'
        '[models.triage]\nmodel = "smol"\n\n[models.reasoning]\nmodel = "smol"\n'
    )
    result = CliRunner().invoke(
        main, ["check-config", "--config", str(config), "--probe", "--json"]
    )
    assert result.exit_code == 0, result.output
    (probe,) = json.loads(result.output)["models"]  # one endpoint and model: asked once
    assert probe["tasks"] == ["triage", "reasoning"] and probe["model"] == "smol"
    checks = {name: (c["ok"], c["text"]) for name, c in probe["checks"].items()}
    assert checks["json_schema"][0] is False
    assert "HTTP 500" in checks["json_schema"][1]
    assert "Input should be 'text' or 'json_object'" in checks["json_schema"][1]
    assert checks["json_object"] == (True, "yes (valid JSON)")
    assert checks["tools without tool_choice"][0] is False
    assert "without a tool call" in checks["tools without tool_choice"][1]
    assert checks["tools with tool_choice auto"] == (
        True,
        'yes: called get_order_status({"order_id": "10001"})',
    )
    assert checks["streaming"][0] and checks["usage in streams"][0]
    assert checks["usage in streams"][1].startswith("yes (")
    assert checks["vision (an image)"][0]
    assert len(llm_server.requests) == 7
    table = CliRunner().invoke(main, ["check-config", "--config", str(config), "--probe"])
    assert "triage, reasoning: smol at" in table.output
    squeezed = re.sub(r"[\s│┃]", "", table.output)  # the table folds long cells
    assert "json_schema│no:HTTP500:" in re.sub(r"[\s┃]", "", table.output)
    assert "Inputshouldbe'text'or'json_object'" in squeezed
    assert "drafter:" in table.output  # the summary comes first


def test_probe_reports_an_unreachable_server(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from daemon.cli import main

    config = tmp_path / "c.toml"
    config.write_text(
        '[llm]\nbase_url = "http://127.0.0.1:9/v1"\ntimeout_seconds = 2.0\n\n'
        '[models.triage]\nmodel = "m"\n'
    )
    result = CliRunner().invoke(
        main, ["check-config", "--config", str(config), "--probe", "--json"]
    )
    checks = json.loads(result.output)["models"][0]["checks"]
    assert all(not c["ok"] and c["text"].startswith("no: cannot connect") for c in checks.values())
    plain = CliRunner().invoke(main, ["check-config", "--config", str(config), "--json"])
    assert plain.exit_code == 0 and "models" not in json.loads(plain.output)  # no probe, no request
