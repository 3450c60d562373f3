"""`helpdeskd stats` over a store the real pipeline filled: requests, tokens and cost per intent
and per resolved ticket, and the drafts agents rejected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from daemon.app import Services
from daemon.approvals import reject
from daemon.cli import main
from daemon.cli.stats import compute_stats
from tests.llm.helpers import deliver, make_mail, snapshot


@pytest.fixture
def services(llm_services: Services) -> Iterator[Services]:
    yield llm_services


def fill(services: Services) -> None:
    deliver(
        services,
        make_mail("Where is my order 10001?", subject="Order 10001"),  # sent: 3 requests
        make_mail(
            "Can I return my shoes from order 10003 for a refund?",
            subject="Refund",
            sender="Carl <carl@example.com>",
            dmarc="fail",
        ),  # held: an unverified sender gets no tools and no auto-send
        make_mail(
            "Please delete my data under GDPR.", subject="GDPR", sender="Dora <dora@example.com>"
        ),  # escalated: triage + escalation brief
    )
    held = next(d for d in snapshot(services).drafts if d.status == "pending")
    assert held.id is not None
    reject(services, held.id, "agent-1", "wrong refund policy quoted")


def test_stats_per_intent_and_per_resolved_ticket(services: Services) -> None:
    fill(services)
    with Session(services.engine) as session:
        stats = compute_stats(session)
    per = stats["per_intent"]
    assert per["order_status"]["requests"] == 3 and per["order_status"]["cost"] == pytest.approx(
        0.03
    )
    assert per["data_privacy"]["requests"] == 2  # triage, escalation brief (no draft request)
    assert stats["total"]["requests"] == sum(b["requests"] for b in per.values())
    assert stats["total"]["input_tokens"] > 0 and stats["total"]["output_tokens"] > 0
    total = stats["total"]
    kinds = ("transport", "truncated", "unusable", "refused")
    assert total["failed"] == sum(total[k] for k in kinds)  # every failure has its kind
    assert total["retries"] == 0 and total["estimated"] == 0  # the server reported all usage
    assert stats["resolved_tickets"] == 1
    assert stats["cost_per_resolved_ticket"] == pytest.approx(0.03)
    assert stats["rejections"] == {
        "total": 1,
        "by_intent": {"refund": 1},
        "by_drafter": {"llm:llama-3.3-70b": 1},
        "top_reasons": {"wrong refund policy quoted": 1},
    }


def test_stats_command(services: Services, tmp_path: Path) -> None:
    fill(services)
    cfg = tmp_path / "helpdeskd.toml"
    cfg.write_text('state_dir = "state"\n')
    result = CliRunner().invoke(main, ["stats", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resolved_tickets"] == 1
    text = CliRunner().invoke(main, ["stats", "--config", str(cfg)]).output
    assert "order_status" in text and "cost per resolved ticket: 0.0300" in text
    assert "rejected drafts: 1" in text and "wrong refund policy quoted" in text
