"""The long-running mode with a slow model: fetching mail never waits for an LLM call."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select
from tool_service import ToolService

from daemon.scheduler import run_forever
from daemon.tables import Message
from tests.llm.helpers import llm_settings, make_mail, start_services
from tests.llm.scripted_server import Answer, ScriptedLLM, gullible_script


def count_messages(services: object) -> int:
    with Session(services.engine) as session:  # type: ignore[attr-defined]
        return int(session.exec(select(func.count()).select_from(Message)).one())


def test_mail_is_fetched_while_a_slow_llm_call_runs(
    tmp_path: Path, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    def slow_first(request: dict[str, Any]) -> Answer:
        if len(llm_server.requests) == 1:
            time.sleep(3.0)  # the first mail's triage: a model that takes its time
        return gullible_script(request)

    llm_server.script = slow_first
    settings = llm_settings(
        tmp_path,
        llm_server.url,
        tool_service.url,
        pipeline={"poll_seconds": 1},
        llm={"timeout_seconds": 10.0, "stream_idle_seconds": 5.0},
    )
    services = start_services(settings)
    inbox = tmp_path / "mail" / "inbox" / "new"
    (inbox / "1.eml").write_bytes(make_mail("Where is my order 10001?", subject="Order"))
    stop = threading.Event()
    seen: dict[str, float] = {}

    def drive() -> None:
        deadline = time.monotonic() + 8
        while not llm_server.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)  # the first mail's triage call is now waiting on the model
        (inbox / "2.eml").write_bytes(make_mail("And my other order 10003?", subject="Order"))
        started = time.monotonic()
        while count_messages(services) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        seen["fetched_after"] = time.monotonic() - started
        seen["in_flight"] = llm_server.in_flight
        stop.set()

    threading.Thread(target=drive, daemon=True).start()
    try:
        run_forever(services, stop)  # in the main thread: it installs signal handlers
    finally:
        services.close()
    assert count_messages(services) == 2
    assert seen["fetched_after"] < 2.0 and seen["in_flight"] >= 1, seen
