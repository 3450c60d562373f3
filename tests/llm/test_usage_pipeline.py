"""Usage and fallbacks through the whole pipeline, real mail into the scripted server: the
offline drafter that stands in for a failing model still shows the order status (it keeps the
read-only tools), `stats` tells transport failures, truncations and unusable answers apart,
a triage confidence of 100 is read as a percentage, and the outbox log line shows a
Message-ID that cannot be read as an address."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from tool_service import ToolService

from daemon.app import Services
from daemon.cli.stats import compute_stats, print_stats
from daemon.logs import msgid_for_log, redact
from tests.llm.helpers import (
    deliver,
    example_tools,
    llm_settings,
    make_mail,
    snapshot,
    start_services,
)
from tests.llm.scripted_server import (
    Answer,
    Reply,
    ScriptedLLM,
    chunk,
    gullible_script,
    purpose_of,
)

ORDER_MAIL = "Hi, where is my order 10001? It has been a week.\n\nAlice"
TRACKING = "JJD000390007770001"
EXTRACT = r"(?i)\border\b\D{0,12}(\d{4,12})"


@pytest.fixture
def services(llm_services: Services) -> Iterator[Services]:
    yield llm_services


def on(purpose: str, fault: Callable[[dict[str, Any]], Answer | Reply]) -> Any:
    def script(request: dict[str, Any]) -> Answer | Reply:
        return fault(request) if purpose_of(request) == purpose else gullible_script(request)

    return script


def test_the_fallback_drafter_keeps_the_read_only_tools(
    tmp_path: Path, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    """The drafting model fails (HTTP 500 on every attempt): the offline draft still carries
    the order status, looked up for the verified sender only, as in the no-LLM demo."""
    tools = example_tools(tool_service.url)
    tools["get_order_status"]["extract"] = {"order_id": EXTRACT}  # as the demo configures it
    services = start_services(llm_settings(tmp_path, llm_server.url, tool_service.url, tools=tools))
    llm_server.script = on("draft", lambda r: Reply(500, {"error": {"message": "model crashed"}}))
    deliver(services, make_mail(ORDER_MAIL, subject="Order 10001"))
    snap = snapshot(services)
    msg, draft = snap.messages[0], snap.drafts[0]
    assert msg.state == "awaiting_approval" and "server error HTTP 500" in (msg.reason or "")
    assert draft.drafter == "offline"
    assert TRACKING in draft.body and "Status: shipped" in draft.body
    assert [t["name"] for t in draft.tool_results] == ["get_order_status"]
    assert tool_service.emails_asked() == {"alice@example.org"}
    drafts = [u for u in snap.usage if u.kind == "llm:draft"]
    assert [(u.outcome, u.retries) for u in drafts] == [("transport", 1)]
    services.close()


def test_stats_separates_transport_truncation_and_unusable_answers(
    services: Services, llm_server: ScriptedLLM
) -> None:
    faults: dict[str, Callable[[dict[str, Any]], Answer | Reply]] = {
        "Order 10001": lambda r: Reply(500, {"error": {"message": "down"}}),
        "Order 10002": lambda r: Reply(sse=[chunk("m", {"content": '{"reply": "Your'})]),
        "Order 10003": lambda r: Answer(json.dumps({"answer": "ships tomorrow"})),
    }

    def script(request: dict[str, Any]) -> Answer | Reply:
        if purpose_of(request) != "draft":
            return gullible_script(request)
        text = json.dumps(request["messages"])
        return next((f(request) for k, f in faults.items() if k in text), gullible_script(request))

    llm_server.script = script
    deliver(
        services,
        *(
            make_mail(f"Where is my order {n}?", subject=f"Order {n}")
            for n in (10001, 10002, 10003)
        ),
    )
    with Session(services.engine) as session:
        stats = compute_stats(session)
    total = stats["total"]
    assert (total["transport"], total["truncated"], total["unusable"]) == (1, 1, 1)
    assert total["failed"] == 3 and total["retries"] == 1 and total["timeouts"] == 0
    assert total["estimated"] == 1  # the truncated stream: its output estimated
    assert stats["per_intent"]["order_status"]["unusable"] == 1


def test_stats_text_names_each_kind_of_failure(
    services: Services, llm_server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    llm_server.script = on("draft", lambda r: Answer("Sure, it ships tomorrow.", delay=3.0))
    deliver(services, make_mail(ORDER_MAIL, subject="Order 10001"))
    with Session(services.engine) as session:
        print_stats(compute_stats(session))
    text = " ".join(capsys.readouterr().out.split())
    assert "failed requests: 1 — transport 1 (timeouts 2), truncated 0, unusable answers 0" in text
    assert "retries: 1; tokens estimated on 1 request(s)" in text


def test_a_triage_confidence_of_100_is_read_as_a_percentage(
    services: Services, llm_server: ScriptedLLM
) -> None:
    def sure(request: dict[str, Any]) -> Answer:
        data = json.loads(gullible_script(request).content or "{}")
        return Answer(json.dumps({**data, "confidence": 100}))

    llm_server.script = on("triage", sure)
    deliver(services, make_mail(ORDER_MAIL, subject="Order 10001"))
    route = snapshot(services).messages[0].route or {}
    assert route["router"] == "llm" and route["confidence"] == 1.0


def test_the_outbox_log_line_shows_a_message_id_not_an_address(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="helpdeskd.outbox"):
        deliver(services, make_mail(ORDER_MAIL, subject="Order 10001"))
    [sent] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sent ")]
    shown = redact(sent)  # what a handler writes, after the address masking
    reply = snapshot(services).replies[0]
    local = reply.message_id.strip("<>").rsplit("@", 1)[0]
    assert shown.startswith(f"sent mid:{local} (ticket ")
    assert "@" not in shown.split(" (ticket")[0]


@pytest.mark.parametrize(
    ("message_id", "shown"),
    [
        ("<helpdeskd.reply.4.7.0af3@support.example.com>", "mid:helpdeskd.reply.4.7.0af3"),
        ("abc@x.org", "mid:abc"),
        ("", "mid:(none)"),
        (None, "mid:(none)"),
    ],
)
def test_msgid_for_log(message_id: str | None, shown: str) -> None:
    assert msgid_for_log(message_id) == shown
    assert redact(msgid_for_log(message_id)) == shown
