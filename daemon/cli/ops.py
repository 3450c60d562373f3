"""Operator commands: run, status, check-config, escalations, requeue."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import col, func, select

from daemon.cli.common import (
    EXIT_CONFIG,
    config_option,
    iso,
    load,
    open_services,
    open_store,
    print_problems,
)
from daemon.config import Settings, config_warnings, load_settings
from daemon.errors import ConfigError
from daemon.ownership import owned_tickets
from daemon.store.engine import session_scope
from daemon.tables import Cursor, Escalation, Message, Outbox, Quarantine, Ticket

if TYPE_CHECKING:
    from daemon.llm.probe import ModelProbe  # imports the openai SDK: only when probing

console = Console()


@click.command()
@config_option
@click.option("--once", is_flag=True, help="Do one cycle (poll, process, send) and exit 0.")
def run(config_path: Path | None, once: bool) -> None:
    """Poll every source and answer mail until stopped (SIGTERM), or once with --once."""
    from daemon.cycle import run_cycle
    from daemon.scheduler import run_forever
    from daemon.source_alerts import check_alerts

    with open_services(config_path) as services:
        if once:
            report = run_cycle(services)
            check_alerts(services)  # the source-failing metric and ALERT, as the poll job
            for poll in report.polls:
                status = f"error: {poll.error}" if poll.error else "ok"
                click.echo(f"source {poll.source}: {poll.fetched} new ({status})")
            click.echo(
                f"processed {report.processed} message(s); outbox: sent "
                f"{report.outbox.sent}, retrying {report.outbox.retried}, failed "
                f"{report.outbox.failed}, unknown {report.outbox.unknown}"
            )
            return
        run_forever(services)


@click.command("check-config")
@config_option
@click.option("--probe", is_flag=True, help="Ask each configured model's server what it supports.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check_config(config_path: Path | None, probe: bool, as_json: bool) -> None:
    """Validate the configuration: every problem with its key (exit 78), or a summary (exit 0).
    With --probe, also send tiny requests to each model and show what its server does."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        if as_json:
            problems = [{"key": key, "advice": advice} for key, advice in exc.problems]
            click.echo(json.dumps({"ok": False, "problems": problems}, indent=2))
        else:
            print_problems(exc.problems)
        sys.exit(EXIT_CONFIG)
    if not probe:
        if as_json:
            click.echo(json.dumps({"ok": True, **summary_data(settings)}, indent=2))
        else:
            click.echo(summary(settings))
        return
    from daemon.llm.probe import as_json as probe_json
    from daemon.llm.probe import probe_models

    probes = probe_models(settings)
    if as_json:
        data = {"ok": True, **summary_data(settings), "models": probe_json(probes)}
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(summary(settings))
    for table in probe_tables(probes):
        console.print(table)


def probe_tables(probes: list[ModelProbe]) -> list[Table]:
    tables = []
    for p in probes:
        table = Table(
            title=f"{', '.join(p.tasks)}: {p.model} at {p.base_url}", title_justify="left"
        )
        table.add_column("check")
        table.add_column("what the server did", overflow="fold")
        for name, cell in p.cells.items():
            table.add_row(name, f"[{'green' if cell.ok else 'red'}]{escape(cell.text)}[/]")
        tables.append(table)
    return tables


def summary_data(s: Settings) -> dict[str, object]:
    """`check-config --json` (stable field names): what `summary` prints, as values."""
    from daemon.llm.describe import describe_models

    return {
        "config": str(s.config_path) if s.config_path else None,
        "state_dir": str(s.state_dir),
        "database": s.database_url,
        "index": str(s.index_dir),
        "sources": [
            {"name": x.name, "kind": x.kind, "path": str(getattr(x, "path", "")) or None}
            for x in s.sources
        ],
        "outbox": {"kind": s.outbox.kind, "path": str(getattr(s.outbox, "path", "")) or None},
        "from": {"name": s.mail.from_name, "address": s.mail.from_address},
        "drafter": describe_models(s),
        "knowledge_sources": len(s.knowledge.sources),
        "intents": {n: {"policy": i.policy, "risk": i.risk} for n, i in s.intents.items()},
        "auto_send": [n for n, p in s.policies.items() if p.auto_send],
        "escalation_address": s.escalation.agents_address or None,
        "ownership": s.ownership.enabled,
        "warnings": list(config_warnings(s)),
    }


def summary(s: Settings) -> str:
    from daemon.llm.describe import describe_models

    lines = [
        f"config:     {s.config_path or '(embedded defaults)'}",
        f"state dir:  {s.state_dir}",
        f"database:   {s.database_url}",
        f"index:      {s.index_dir}",
        "sources:    "
        + ", ".join(f"{x.name} ({x.kind}: {getattr(x, 'path', '')})" for x in s.sources),
        f"outbox:     {s.outbox.kind} ({getattr(s.outbox, 'path', '')})",
        f"from:       {s.mail.from_name} <{s.mail.from_address}>",
        f"drafter:    {describe_models(s)}",
        f"knowledge:  {len(s.knowledge.sources)} source folder(s)",
        "intents:    "
        + ", ".join(
            f"{n}→{i.policy}" + (f" (risk {i.risk})" if i.risk else "")
            for n, i in s.intents.items()
        ),
        "auto-send:  " + (", ".join(n for n, p in s.policies.items() if p.auto_send) or "never"),
        f"escalation: {s.escalation.agents_address or 'stored only (no agents address)'}",
        "ownership:  "
        + (
            "on: escalated or agent-answered tickets stay with the humans until handed back"
            if s.ownership.enabled
            else "off: follow-ups on escalated tickets go through the policy"
        ),
    ]
    lines += [f"warning:    {w}" for w in config_warnings(s)]
    return "\n".join(lines)


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(config_path: Path | None, as_json: bool) -> None:
    """Counts per state, quarantined messages, each source's last poll, the outbox, and the
    tickets a human owns."""
    from daemon.source_alerts import check_alerts

    with open_store(config_path) as services, session_scope(services.engine) as session:
        check_alerts(services)  # a dying OAuth2 token or a long failure shows as ALERT here
        states = dict(
            session.exec(select(Message.state, func.count()).group_by(Message.state)).all()
        )
        outbox = dict(session.exec(select(Outbox.state, func.count()).group_by(Outbox.state)).all())
        quarantined = session.exec(
            select(Quarantine)
            .where(col(Quarantine.released_at).is_(None))
            .order_by(col(Quarantine.id))
        ).all()
        cursors = session.exec(select(Cursor).order_by(col(Cursor.source))).all()
        linked = session.exec(
            select(Ticket.id, Ticket.linked_ticket_id)
            .where(col(Ticket.linked_ticket_id).is_not(None), Ticket.status != "closed")
            .order_by(col(Ticket.id))
        ).all()
        owned = owned_tickets(session)
    data: dict[str, object] = {
        "states": states,
        "outbox": outbox,
        "quarantined": [
            {"message": q.message_pk, "stage": q.stage, "error": q.error, "at": iso(q.at)}
            for q in quarantined
        ],
        "sources": [
            {
                "source": c.source,
                "last_poll": iso(c.last_poll_at),
                "last_success": iso(c.last_success_at),
                "failing_since": iso(c.failing_since),
                "error": c.last_error,
                "fetched": c.fetched_total,
            }
            for c in cursors
        ],
        # tickets a stranger opened by naming another ticket's Message-ID (daemon/stages/thread.py)
        "linked_tickets": [{"ticket": t, "names": other} for t, other in linked],
        "ownership": "on" if services.settings.ownership.enabled else "off (recorded only)",
        "owned_tickets": [
            {"ticket": o.ticket_id, "owner": o.owner, "since": iso(o.since), "reason": o.reason}
            for o in owned
        ],
        "oauth": oauth_data(services.settings),
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    print_status(data)


def oauth_data(settings: Settings) -> list[dict[str, object]]:
    """Each XOAUTH2 account's refresh token: days left (when known) and what is wrong."""
    from daemon.oauth_tokens import refreshed_accounts, token_health

    rows: list[dict[str, object]] = []
    for name, account in refreshed_accounts(settings):
        health = token_health(name, account)
        days = round(health.expires_in / 86400, 1) if health.expires_in is not None else None
        advice = f"re-authorise: helpdeskd oauth login {name}" if health.problem else None
        rows.append(
            {
                "source": name,
                "expires_in_days": days,
                "problem": health.problem or None,
                "action": advice,
            }
        )
    return rows


def print_oauth(rows: object) -> None:
    assert isinstance(rows, list)
    for r in rows:
        left = (
            "unknown lifetime"
            if r["expires_in_days"] is None
            else f"{r['expires_in_days']} days left"
        )
        trouble = f": {r['problem']}; {r['action']}" if r["problem"] else ""
        console.print(f"oauth {r['source']}: refresh token {left}{trouble}")


def print_status(data: dict[str, object]) -> None:
    states = data["states"]
    assert isinstance(states, dict)
    table = Table(title="messages by state")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in sorted(states.items()):
        table.add_row(state, str(count))
    console.print(table)
    sources = Table(title="sources")
    for col_name in ("source", "last poll", "last success", "fetched", "failing since", "error"):
        sources.add_column(col_name)
    for s in data["sources"]:  # type: ignore[attr-defined]
        sources.add_row(
            s["source"],
            s["last_poll"] or "never",
            s["last_success"] or "never",
            str(s["fetched"]),
            s["failing_since"] or "",
            s["error"] or "",
        )
    console.print(sources)
    console.print(f"outbox: {data['outbox'] or 'empty'}")
    quarantined = data["quarantined"]
    assert isinstance(quarantined, list)
    if quarantined:
        q = Table(title=f"quarantined ({len(quarantined)})")
        for col_name in ("message", "stage", "error"):
            q.add_column(col_name)
        for row in quarantined:
            q.add_row(str(row["message"]), row["stage"], row["error"][:120])
        console.print(q)
        console.print("release with: helpdeskd requeue MESSAGE_ID...")
    print_owned(data)
    print_oauth(data["oauth"])
    print_linked(data["linked_tickets"])


def print_owned(data: dict[str, object]) -> None:
    owned = data["owned_tickets"]
    assert isinstance(owned, list)
    console.print(f"human ownership: {data['ownership']}; {len(owned)} ticket(s) owned by a human")
    if not owned:
        return
    table = Table(title=f"owned by a human ({len(owned)})")
    for col_name in ("ticket", "owner", "since", "why"):
        table.add_column(col_name)
    for row in owned:
        table.add_row(
            str(row["ticket"]), row["owner"], row["since"] or "", (row["reason"] or "")[:80]
        )
    console.print(table)
    console.print("hand back with: helpdeskd tickets handback TICKET_ID")


def print_linked(linked: object) -> None:
    assert isinstance(linked, list)
    if linked:
        pairs = ", ".join(f"{x['ticket']} (names {x['names']})" for x in linked[:20])
        more = f" and {len(linked) - 20} more" if len(linked) > 20 else ""
        console.print(
            f"tickets opened by naming another customer's ticket ({len(linked)}): {pairs}{more}"
        )


@click.group()
def escalations() -> None:
    """Escalated tickets: the human queue."""


@escalations.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include closed escalations.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def escalations_list(config_path: Path | None, show_all: bool, as_json: bool) -> None:
    """List open escalations, newest first."""
    with open_store(config_path) as store, session_scope(store.engine) as session:
        query = select(Escalation).order_by(col(Escalation.id).desc())
        if not show_all:
            query = query.where(Escalation.status == "open")
        rows = [escalation_row(e) for e in session.exec(query).all()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for name in ("id", "ticket", "when", "reason"):
        table.add_column(name)
    for e in rows:
        when = str(e["created"])[:16].replace("T", " ")
        table.add_row(str(e["id"]), str(e["ticket"] or ""), when, str(e["reason"])[:90])
    console.print(table)


def escalation_row(e: Escalation) -> dict[str, object]:
    """One escalation as `escalations list --json` prints it (stable field names)."""
    return {
        "id": e.id,
        "ticket": e.ticket_id,
        "message": e.message_pk,
        "status": e.status,
        "created": iso(e.created_at),
        "reason": e.reason,
        "outbox": e.outbox_id,
    }


@escalations.command("show")
@config_option
@click.argument("escalation_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def escalations_show(config_path: Path | None, escalation_id: int, as_json: bool) -> None:
    """Show one escalation's summary."""
    with open_store(config_path) as store, session_scope(store.engine) as session:
        row = session.get(Escalation, escalation_id)
    if row is None:
        click.echo(f"no escalation {escalation_id}", err=True)
        sys.exit(1)
    if as_json:
        data = escalation_row(row) | {"summary": row.summary, "details": row.details}
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(row.summary)


@click.command("requeue")
@config_option
@click.argument("message_ids", type=int, nargs=-1, required=True)
def requeue_cmd(config_path: Path | None, message_ids: tuple[int, ...]) -> None:
    """Send quarantined messages back to the stage that broke (after fixing the cause)."""
    from daemon.pipeline import requeue

    with open_services(config_path) as services:
        count = requeue(services, message_ids, actor="cli")
    click.echo(f"requeued {count} message(s); they run at the next cycle")


_ = load
COMMANDS = (run, check_config, status, escalations, requeue_cmd)
