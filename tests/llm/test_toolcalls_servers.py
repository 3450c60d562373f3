"""Tool calling as the servers people run do it: the scripted server playing llama.cpp's server
(tools only with `tool_choice`, HTTP 500 on `content: null` and on `json_schema`), streamed
parallel calls without `index`, and a tool with a side effect that runs at most once per draft —
across rounds, calls of one answer, a follow-up turn that fails and a retried draft."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select
from tool_service import ToolService

from daemon.app import Services
from daemon.llm.prompts import DRAFT_SCHEMA
from daemon.llm.stack import CallMeta
from daemon.llm.toolloop import LoopLimits, LoopResult, run_tool_loop
from daemon.records import Address
from daemon.tables import AuditEvent
from tests.llm.helpers import deliver, make_mail, snapshot
from tests.llm.scripted_server import (
    Answer,
    Reply,
    ScriptedLLM,
    gullible_script,
    offered_tools,
    purpose_of,
    tool_messages,
)

LLAMACPP = {"json_schema_500", "null_content_500", "tools_need_tool_choice"}
ALICE = Address("Alice", "alice@example.org")
ALL = ("get_order_status", "check_refund_eligibility", "create_crm_ticket")
LIMITS = LoopLimits(max_rounds=4, max_calls=8, tool_tokens=2000, tool_result_tokens=400)
DONE = json.dumps(
    {
        "reply": "We opened a ticket for you.",
        "confidence": 0.9,
        "citations": [],
        "needs_human": False,
        "reason": "ok",
    }
)


@pytest.fixture
def services(llm_services: Services) -> Iterator[Services]:
    yield llm_services


def test_a_llamacpp_like_server_drafts_with_tools(
    services: Services, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    """All three llama.cpp faults at once: the mail is still routed and drafted by the model
    with the order's data, json_schema is refused once for the whole run, the tool round goes
    with tool_choice and the follow-up assistant turn with content ""."""
    llm_server.faults = set(LLAMACPP)
    llm_server.script = gullible_script
    deliver(services, make_mail("Where is my order 10001?\n\nAlice", subject="Order 10001"))
    snap = snapshot(services)
    msg, draft = snap.messages[0], snap.drafts[0]
    assert msg.route and msg.route["router"] == "llm", msg.reason
    assert draft.drafter == "llm:llama-3.3-70b", draft.reason
    assert draft.tool_results[0]["result"]["tracking"] == "JJD000390007770001"
    assert tool_service.emails_asked() == {"alice@example.org"}
    schema_asks = [
        r
        for r in llm_server.requests
        if (r.get("response_format") or {}).get("type") == "json_schema"
    ]
    assert len(schema_asks) == 1  # refused once, remembered for the model
    drafts = [r for r in llm_server.requests if purpose_of(r) == "draft"]
    assert drafts[0]["tool_choice"] == "auto"
    follow_up = next(r for r in drafts if tool_messages(r))
    turn = next(m for m in follow_up["messages"] if m.get("tool_calls"))
    assert turn["content"] == ""
    # route, draft, follow-up: the refused json_schema request was renegotiated inside its call
    assert [u.ok for u in snap.usage] == [True, True, True]


def test_streamed_parallel_calls_without_index_all_run(
    services: Services, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    def script(req: dict[str, Any]) -> Answer:
        if not tool_messages(req):
            calls: list[tuple[str, dict[str, Any] | str]] = [
                ("get_order_status", {"order_id": "10001"}),
                ("check_refund_eligibility", {"order_id": "10001"}),
            ]
            return Answer(None, calls, omit_index=True)
        return Answer(DONE)

    llm_server.script = script
    loop = run(services, "stream-1")
    assert loop.answer is not None and loop.failure is None
    assert [r.call.name for r in loop.runs] == ["get_order_status", "check_refund_eligibility"]
    assert all(r.result.ok for r in loop.runs)
    follow_up = llm_server.requests[-1]
    assert llm_server.requests[0]["stream"] is True
    ids = [m["tool_call_id"] for m in tool_messages(follow_up)]
    turn = next(m for m in follow_up["messages"] if m.get("tool_calls"))
    assert ids == [c["id"] for c in turn["tool_calls"]] and len(set(ids)) == 2


def crm_every_round(req: dict[str, Any]) -> Answer:
    """A model that opens a CRM ticket on every round it may, each time with a new subject."""
    n = len(tool_messages(req))
    if offered_tools(req) and n < 2:
        return Answer(None, [("create_crm_ticket", {"subject": f"follow-up, take {n}"})])
    return Answer(DONE)


def test_a_side_effect_runs_once_across_rounds(
    services: Services, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    llm_server.script = crm_every_round
    loop = run(services, "rounds-1")
    assert loop.answer is not None
    assert len(tool_service.crm_tickets) == 1
    assert loop.replayed == ("create_crm_ticket",)
    first, second = (r.content for r in loop.runs)
    assert first == second and "CRM-1" in first


def test_two_calls_of_one_answer_open_one_ticket(
    services: Services, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    def script(req: dict[str, Any]) -> Answer:
        if not tool_messages(req):
            calls: list[tuple[str, dict[str, Any] | str]] = [
                ("create_crm_ticket", {"subject": "a"}),
                ("get_order_status", {"order_id": "10001"}),
                ("create_crm_ticket", {"subject": "b"}),
            ]
            return Answer(None, calls)
        return Answer(DONE)

    llm_server.script = script
    loop = run(services, "parallel-1")
    assert len(tool_service.crm_tickets) == 1
    assert [r.call.name for r in loop.runs] == [
        "create_crm_ticket",
        "get_order_status",
        "create_crm_ticket",
    ]
    assert loop.runs[0].content == loop.runs[2].content


def test_a_failed_follow_up_and_a_retried_draft_do_not_repeat_the_side_effect(
    services: Services, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    def failing(req: dict[str, Any]) -> Answer | Reply:
        if tool_messages(req):
            return Reply(status=400, body={"error": {"message": "context length exceeded"}})
        return crm_every_round(req)

    llm_server.script = failing
    broken = run(services, "retry-1", pk=77)
    assert broken.failure is not None and "context length" in broken.failure.reason
    assert len(tool_service.crm_tickets) == 1
    with Session(services.engine) as s:  # stored (committed) before the model was asked again
        rows = s.exec(select(AuditEvent).where(AuditEvent.kind == "tool_effect")).all()
    assert [(r.message_pk, r.detail["tool"], r.detail["ok"]) for r in rows] == [
        (77, "create_crm_ticket", True)
    ]
    llm_server.script = crm_every_round  # the stage runs again (a retry, or after a crash)
    again = run(services, "retry-1", pk=77)
    assert again.answer is not None and len(tool_service.crm_tickets) == 1
    assert "CRM-1" in again.runs[0].content and again.replayed == ("create_crm_ticket",)
    other = run(services, "retry-2", pk=78)  # another message's draft is another draft
    assert other.answer is not None and len(tool_service.crm_tickets) == 2


def run(services: Services, label: str, pk: int | None = None) -> LoopResult:
    assert services.llm is not None
    stack = services.llm.stack
    toolbox = services.llm.tools.toolbox(ALL, ALICE, verified=True)
    messages = [
        {"role": "system", "content": "You write the body of a reply"},
        {"role": "user", "content": f"<customer_email>{label}: my order 10001</customer_email>"},
    ]
    meta = CallMeta("draft", message_pk=pk)
    return run_tool_loop(stack, "triage", messages, toolbox, DRAFT_SCHEMA, meta, LIMITS)
