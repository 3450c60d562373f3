"""`check-config --probe`: ask each configured model's server what it really does.

Decides which tiny requests tell a capability apart and how each answer reads. Seven checks per
model, each one request with a few output tokens and no retry: `json_schema`, `json_object`,
tools without `tool_choice`, tools with `tool_choice: "auto"`, streaming, usage in streams, and
an image. A cell is "yes", "no" with the server's own error text, or what came back instead
(answered without calling the tool, not JSON, a stream without usage). The checks go straight
through the openai SDK — no negotiation, no fallback, nothing recorded — because the point is
to show the operator what the server says, so `[models.*]` can be set to match. Models that
share an endpoint and a model id are asked once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import openai

from daemon.config import ModelTask, Settings
from daemon.llm.stack import endpoint_for

MAX_TOKENS = 48
PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Status of one order.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}
ASK_JSON = [
    {"role": "user", "content": 'Answer with the JSON object {"ok": true} and nothing else.'}
]
ASK_TOOL = [{"role": "user", "content": "Where is my order 10001? Use the tool to look it up."}]
ASK_HELLO = [{"role": "user", "content": "Say hello."}]
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
ASK_IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What colour is this image?"},
            {"type": "image_url", "image_url": {"url": PIXEL}},
        ],
    }
]


@dataclass(frozen=True, slots=True)
class Cell:
    ok: bool
    text: str


@dataclass(frozen=True, slots=True)
class ModelProbe:
    tasks: tuple[ModelTask, ...]
    model: str
    base_url: str
    cells: dict[str, Cell]


Check = Callable[[openai.OpenAI, str], Cell]


def probe_models(settings: Settings) -> list[ModelProbe]:
    """Every distinct (endpoint, model) of `[models.*]`, asked each check in turn."""
    groups: dict[tuple[str, str], list[ModelTask]] = {}
    for task in settings.models:
        e = endpoint_for(settings, task)
        groups.setdefault((e.base_url, e.model), []).append(task)
    return [probe_one(settings, tasks) for tasks in groups.values()]


def probe_one(settings: Settings, tasks: list[ModelTask]) -> ModelProbe:
    e = endpoint_for(settings, tasks[0])
    client = openai.OpenAI(
        base_url=e.base_url, api_key=e.api_key or "no-key", max_retries=0, timeout=e.timeout
    )
    try:
        cells = {name: run_check(check, client, e.model) for name, check in CHECKS}
    finally:
        client.close()
    return ModelProbe(tuple(tasks), e.model, e.base_url, cells)


def run_check(check: Check, client: openai.OpenAI, model: str) -> Cell:
    try:
        return check(client, model)
    except openai.APIStatusError as exc:
        return Cell(False, f"no: HTTP {exc.status_code}: {server_text(exc)}")
    except openai.APITimeoutError:
        return Cell(False, "no: no answer within the timeout")
    except openai.APIConnectionError as exc:
        return Cell(False, f"no: cannot connect ({exc.__cause__ or exc})")
    except (ValueError, openai.OpenAIError) as exc:  # a body the SDK cannot read
        return Cell(False, f"no: unreadable answer ({type(exc).__name__}: {exc})"[:300])


def server_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        return json.dumps(body)[:300]
    return str(exc.message)[:300]


# --- the checks ----------------------------------------------------------------------------


def create(client: openai.OpenAI, model: str, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=model, max_tokens=MAX_TOKENS, **kwargs)


def check_json_schema(client: openai.OpenAI, model: str) -> Cell:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "probe", "schema": schema}}
    return json_answer(create(client, model, messages=ASK_JSON, response_format=fmt))


def check_json_object(client: openai.OpenAI, model: str) -> Cell:
    fmt = {"type": "json_object"}
    return json_answer(create(client, model, messages=ASK_JSON, response_format=fmt))


def json_answer(completion: Any) -> Cell:
    content = (completion.choices[0].message.content or "") if completion.choices else ""
    try:
        json.loads(content)
    except ValueError:
        return Cell(True, f"accepted; the answer is not JSON: {content[:80]!r}")
    return Cell(True, "yes (valid JSON)")


def check_tools(client: openai.OpenAI, model: str) -> Cell:
    return tool_answer(create(client, model, messages=ASK_TOOL, tools=[PROBE_TOOL]))


def check_tool_choice(client: openai.OpenAI, model: str) -> Cell:
    completion = create(client, model, messages=ASK_TOOL, tools=[PROBE_TOOL], tool_choice="auto")
    return tool_answer(completion)


def tool_answer(completion: Any) -> Cell:
    message = completion.choices[0].message if completion.choices else None
    calls = (message.tool_calls or []) if message is not None else []
    if calls:
        call = calls[0]
        return Cell(True, f"yes: called {call.function.name}({call.function.arguments})"[:160])
    text = (message.content or "") if message is not None else ""
    return Cell(False, f"accepted, but answered without a tool call: {text[:60]!r}")


def check_streaming(client: openai.OpenAI, model: str) -> Cell:
    chunks = list(cast(Iterable[Any], create(client, model, messages=ASK_HELLO, stream=True)))
    finish = next(
        (c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason),
        None,
    )
    if finish is None:
        return Cell(False, f"no: {len(chunks)} chunk(s), none with a finish_reason")
    return Cell(True, f"yes ({len(chunks)} chunks, finish_reason {finish})")


def check_stream_usage(client: openai.OpenAI, model: str) -> Cell:
    stream = create(
        client, model, messages=ASK_HELLO, stream=True, stream_options={"include_usage": True}
    )
    usage = next((c.usage for c in cast(Iterable[Any], stream) if c.usage is not None), None)
    if usage is None:
        return Cell(False, "no: the stream carried no usage")
    return Cell(True, f"yes ({usage.prompt_tokens} in, {usage.completion_tokens} out)")


def check_vision(client: openai.OpenAI, model: str) -> Cell:
    completion = create(client, model, messages=ASK_IMAGE)
    text = (completion.choices[0].message.content or "") if completion.choices else ""
    return Cell(True, f"accepted (whether the model saw it: read its answer): {text[:60]!r}")


CHECKS: tuple[tuple[str, Check], ...] = (
    ("json_schema", check_json_schema),
    ("json_object", check_json_object),
    ("tools without tool_choice", check_tools),
    ("tools with tool_choice auto", check_tool_choice),
    ("streaming", check_streaming),
    ("usage in streams", check_stream_usage),
    ("vision (an image)", check_vision),
)


def as_json(probes: list[ModelProbe]) -> list[dict[str, Any]]:
    return [
        {
            "tasks": list(p.tasks),
            "model": p.model,
            "base_url": p.base_url,
            "checks": {name: {"ok": c.ok, "text": c.text} for name, c in p.cells.items()},
        }
        for p in probes
    ]
