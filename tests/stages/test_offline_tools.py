"""The offline drafter calls the route's read-only tools with arguments read from the mail,
bound to the verified sender, against the example tool service over real HTTP."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from daemon.app import build_services
from daemon.cycle import run_cycle
from daemon.tables import AuditEvent, Draft
from tests.conftest import make_settings
from tests.factories import raw_mail

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXTRACT = r"(?i)\border\b\D{0,12}(\d{4,12})"


@pytest.fixture
def tool_service() -> Iterator[Any]:
    spec = importlib.util.spec_from_file_location("tool_service", EXAMPLES / "tool_service.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tool_service"] = module
    spec.loader.exec_module(module)
    service = module.ToolService()
    service.start()
    yield service
    service.stop()


def mail(sender: str, body: str, dmarc: str = "pass") -> bytes:
    domain = sender.split("@")[1]
    return raw_mail(
        auth=f"mx.example.com; dmarc={dmarc} header.from={domain}",
        sender=f"Customer <{sender}>",
        to="support@example.com",
        subject="Where is my order?",
        message_id=f"<{abs(hash(body))}@{domain}>",
        body=body,
    )


CASES = [
    # verified owner: the tool runs, its answer is in the draft
    ("alice@example.org", "pass", "Where is order 10001 please?", "Tracking: JJD000390007770001"),
    # verified, but the order is someone else's: the service says not found, nothing leaks
    ("alice@example.org", "pass", "Status of order 10002?", None),
    # unverified sender: no account data, no call at all
    ("alice@example.org", "fail", "Where is order 10001 please?", None),
]


@pytest.mark.parametrize(("sender", "dmarc", "body", "expected"), CASES)
def test_offline_draft_with_tool_results(
    tmp_path: Path, tool_service: Any, sender: str, dmarc: str, body: str, expected: str | None
) -> None:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    tool = {
        "description": "order",
        "url": f"{tool_service.url}/orders/{{order_id}}",
        "parameters": {
            "type": "object",
            "required": ["order_id", "email"],
            "properties": {"order_id": {"type": "string"}, "email": {"type": "string"}},
        },
        "identity": {"email": "sender_email"},
        "owner_field": "customer_email",
        "extract": {"order_id": EXTRACT},
    }
    settings = make_settings(
        tmp_path,
        tools={"get_order_status": tool},
        screen={"trusted_authserv_ids": ["mx.example.com"]},
    )
    (tmp_path / "mail" / "inbox" / "new" / "1").write_bytes(mail(sender, body, dmarc))
    services = build_services(settings)
    try:
        run_cycle(services)
        with Session(services.engine) as session:
            draft = session.exec(select(Draft)).one()
            calls = session.exec(select(AuditEvent).where(AuditEvent.kind == "tool_call")).all()
    finally:
        services.close()
    asked = {r.query.get("email") for r in tool_service.requests}
    assert asked <= {sender}  # never anyone else's identity
    if dmarc == "fail":
        assert tool_service.requests == [] and calls == []
    else:
        assert len(calls) == 1 and calls[0].detail["arguments"]["email"] == sender
    if expected:
        assert expected in draft.body and draft.tool_results[0]["ok"]
    assert "bob@example.net" not in draft.body and draft.status == "pending"
