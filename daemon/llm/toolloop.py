"""The tool-calling loop: ask, run the tools the model asked for, answer, repeat — bounded.

Decides how many rounds and calls a draft may use and when the loop stops. Each round sends
the route's tools (only the offered ones; none after `max_tool_rounds`, after `max_tool_calls`
or once the tool-result token budget is spent); the calls of one answer run in parallel and go
back as `tool` messages, capped and PII-masked, after an assistant turn that carries the calls
with `content: ""` (never null: llama.cpp refuses it). A tool that changes data runs at most
once per draft (`daemon.llm.effects`): its result is stored before the model is asked again,
and a second call — in a later round, or after a failed turn, a retry or a crash — gets the
stored result instead of a second ticket. The loop stops with an answer when the model
stops calling tools; it stops with a failure when a request fails, or at once when the model
calls a tool it was not offered (a sign of injection or confusion: nothing it says after that
is trusted).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from connectors.llm import ChatRequest, ChatResponse, JsonSchema, ToolCall
from daemon.config import ModelTask
from daemon.llm.effects import EffectLog
from daemon.llm.stack import CallMeta, Failure, LLMStack
from daemon.tools import Toolbox, ToolRun

log = logging.getLogger("helpdeskd.draft")


@dataclass(frozen=True, slots=True)
class LoopLimits:
    max_rounds: int
    max_calls: int
    tool_tokens: int
    tool_result_tokens: int


@dataclass(frozen=True, slots=True)
class LoopResult:
    answer: ChatResponse | None
    failure: Failure | None
    runs: tuple[ToolRun, ...]
    requests: int
    replayed: tuple[str, ...] = ()
    """Tools whose side effect had already happened for this draft: their result was reused."""

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.problem for r in self.runs if r.problem))


def run_tool_loop(
    stack: LLMStack,
    task: ModelTask,
    messages: list[dict[str, Any]],
    toolbox: Toolbox,
    schema: JsonSchema,
    meta: CallMeta,
    limits: LoopLimits,
) -> LoopResult:
    counter = stack.counters[task]
    tools = toolbox.openai_tools() if stack.capabilities(task).tools else ()
    max_tokens = stack.spec(task).max_output_tokens
    msgs = list(messages)
    effects = EffectLog(stack.engine, meta.message_pk, meta.ticket_id, meta.session)
    runs: list[ToolRun] = []
    calls_left, budget_left = limits.max_calls, limits.tool_tokens
    for round_no in range(limits.max_rounds + 1):
        open_round = round_no < limits.max_rounds and calls_left > 0 and budget_left > 0
        offer = tools if open_round else ()
        request = ChatRequest(tuple(msgs), max_tokens, tools=offer, json_schema=schema)
        answer = stack.call(task, request, meta)
        done = tuple(dict.fromkeys(effects.replayed))
        if isinstance(answer, Failure):
            return LoopResult(None, answer, tuple(runs), round_no + 1, done)
        if not answer.tool_calls:
            return LoopResult(answer, None, tuple(runs), round_no + 1, done)
        offered = {t["function"]["name"] for t in offer}
        stray = [c.name for c in answer.tool_calls if c.name not in offered]
        if stray:
            return LoopResult(None, stray_calls(stray, toolbox), tuple(runs), round_no + 1, done)
        calls = answer.tool_calls[:calls_left]
        calls_left -= len(calls)
        msgs.append(assistant_turn(answer.content, calls))
        for run in effects.run_all(toolbox, calls):
            runs.append(run)
            content = counter.trim(
                stack.masker.mask(run.content), min(limits.tool_result_tokens, max(budget_left, 0))
            )
            budget_left -= counter.count(content)
            msgs.append(tool_turn(run.call.id, content))
    raise AssertionError("unreachable: the last round offers no tools")


def stray_calls(names: list[str], toolbox: Toolbox) -> Failure:
    if all(n in toolbox.offered for n in names):
        return Failure("the model wanted more tool calls than the limits allow", "tool_limit")
    why = "; ".join(
        f"{n} ({toolbox.withheld.get(n, 'not allowed for this route')})"
        for n in names
        if n not in toolbox.offered
    )
    return Failure(f"the model called a tool it was not offered: {why}", "tool_not_allowed")


def assistant_turn(content: str, calls: tuple[ToolCall, ...]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content or "",
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments or "{}"},
            }
            for c in calls
        ],
    }


def tool_turn(call_id: str, content: str) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": content or json.dumps({"error": "omitted: the tool budget is used up"}),
    }
