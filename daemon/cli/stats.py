"""`helpdeskd stats`: what the model stack cost and how its drafts fared.

Decides how usage is attributed. A usage row names its intent and ticket when the stage knew
them; a triage row, recorded before its ticket existed, is attributed through its message. A
ticket counts as resolved once one of its messages ended `sent` (auto-sent or approved); cost
per resolved ticket is the spend on those tickets divided by their number. Rejected drafts are
counted per intent with their most common reasons (what to fix in prompts or knowledge).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from daemon.cli.common import config_option, open_services
from daemon.store.engine import session_scope
from daemon.tables import Draft, Message, State, Usage, utcnow

console = Console()


def compute_stats(session: Session, days: int | None = None) -> dict[str, Any]:
    since = utcnow() - timedelta(days=days) if days else None
    usage_query = select(Usage)
    if since is not None:
        usage_query = usage_query.where(col(Usage.at) >= since)
    rows = session.exec(usage_query).all()
    messages = {m.id: m for m in session.exec(select(Message)).all()}
    per_intent: dict[str, dict[str, float]] = defaultdict(
        lambda: {"requests": 0, "failed": 0, "input_tokens": 0, "output_tokens": 0, "cost": 0.0}
    )
    per_ticket: dict[int, float] = defaultdict(float)
    for row in rows:
        msg = messages.get(row.message_pk) if row.message_pk else None
        intent = row.intent or ((msg.route or {}).get("intent") if msg else None) or "(none)"
        bucket = per_intent[intent]
        bucket["requests"] += 1
        bucket["failed"] += not row.ok
        bucket["input_tokens"] += row.input_tokens
        bucket["output_tokens"] += row.output_tokens
        bucket["cost"] += row.cost
        ticket = row.ticket_id or (msg.ticket_id if msg else None)
        if ticket is not None:
            per_ticket[ticket] += row.cost
    resolved = {m.ticket_id for m in messages.values() if m.state == State.sent and m.ticket_id}
    resolved_cost = sum(per_ticket.get(t, 0.0) for t in resolved)
    return {
        "since": since.isoformat(timespec="seconds") if since else None,
        "per_intent": {k: per_intent[k] for k in sorted(per_intent)},
        "total": {
            key: sum(b[key] for b in per_intent.values())
            for key in ("requests", "failed", "input_tokens", "output_tokens", "cost")
        },
        "tickets_with_usage": len(per_ticket),
        "resolved_tickets": len(resolved),
        "cost_per_resolved_ticket": resolved_cost / len(resolved) if resolved else None,
        "rejections": rejections(session, messages, since),
    }


def rejections(session: Session, messages: dict[int | None, Message], since: Any) -> dict[str, Any]:
    query = select(Draft).where(Draft.status == "rejected")
    if since is not None:
        query = query.where(col(Draft.created_at) >= since)
    drafts = session.exec(query).all()
    by_intent: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    by_drafter: Counter[str] = Counter()
    for d in drafts:
        msg = messages.get(d.message_pk)
        by_intent[((msg.route or {}).get("intent") if msg else None) or "(none)"] += 1
        by_drafter[d.drafter or "?"] += 1
        reasons[(d.decision_reason or "").strip()[:80] or "(no reason)"] += 1
    return {
        "total": len(drafts),
        "by_intent": dict(by_intent.most_common()),
        "by_drafter": dict(by_drafter.most_common()),
        "top_reasons": dict(reasons.most_common(5)),
    }


@click.command()
@config_option
@click.option("--days", type=int, default=None, help="Only the last N days (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(config_path: Path | None, days: int | None, as_json: bool) -> None:
    """LLM requests, tokens and cost per intent and per resolved ticket; rejected drafts."""
    with open_services(config_path) as services, session_scope(services.engine) as session:
        data = compute_stats(session, days)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    print_stats(data)


def print_stats(data: dict[str, Any]) -> None:
    table = Table(
        title="LLM usage per intent" + (f" since {data['since']}" if data["since"] else "")
    )
    for name in ("intent", "requests", "failed", "input tokens", "output tokens", "cost"):
        table.add_column(name, justify="left" if name == "intent" else "right")
    rows = [*data["per_intent"].items(), ("total", data["total"])]
    for intent, b in rows:
        table.add_row(
            intent,
            str(int(b["requests"])),
            str(int(b["failed"])),
            f"{int(b['input_tokens']):,}",
            f"{int(b['output_tokens']):,}",
            f"{b['cost']:.4f}",
        )
    console.print(table)
    per = data["cost_per_resolved_ticket"]
    console.print(
        f"resolved tickets: {data['resolved_tickets']}; cost per resolved ticket: "
        + (f"{per:.4f}" if per is not None else "n/a")
    )
    rej = data["rejections"]
    console.print(f"rejected drafts: {rej['total']}")
    for intent, count in rej["by_intent"].items():
        console.print(f"  {intent}: {count}")
    for reason, count in rej["top_reasons"].items():
        console.print(f"  reason ×{count}: {reason}")


COMMANDS = (stats,)
