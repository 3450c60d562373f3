"""Agents' commands on tickets: list them with their owner, show one, take one, hand one back.

Decides nothing itself: who owns a ticket and what taking or handing it back does is decided in
`daemon/ownership.py`; these commands call it with the agent's name (default: the login name)
and print the result.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from daemon.cli.common import config_option, iso, open_services, open_store
from daemon.ownership import CLOSED, TicketError, hand_back, take
from daemon.store.engine import session_scope
from daemon.tables import AuditEvent, Message, Ticket

console = Console()

OWNERSHIP_EVENTS = ("ticket_taken", "ticket_handed_back")


@click.group()
def tickets() -> None:
    """Tickets and who owns them: the model, the human queue or an agent."""


@tickets.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include closed and resolved tickets.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def tickets_list(config_path: Path | None, show_all: bool, as_json: bool) -> None:
    """List open tickets with their owner, newest first."""
    with open_store(config_path) as store, session_scope(store.engine) as session:
        query = select(Ticket).order_by(col(Ticket.id).desc())
        if not show_all:
            query = query.where(col(Ticket.status).not_in(CLOSED))
        rows = [ticket_data(t) for t in session.exec(query).all()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for name in ("ticket", "status", "owner", "customer", "subject", "updated"):
        table.add_column(name)
    for t in rows:
        table.add_row(
            str(t["id"]),
            str(t["status"]),
            str(t["owner"]),
            str(t["customer"] or ""),
            str(t["subject"])[:40],
            str(t["updated"]),
        )
    console.print(table)


def ticket_data(t: Ticket) -> dict[str, object]:
    return {
        "id": t.id,
        "status": t.status,
        "owner": t.owner or "model",
        "owned_since": iso(t.owned_since),
        "owner_reason": t.owner_reason,
        "customer": t.customer_email,
        "linked_ticket": t.linked_ticket_id,  # named by a stranger's mail (daemon/stages/thread.py)
        "subject": t.subject,
        "updated": t.updated_at.strftime("%Y-%m-%d %H:%M"),
    }


@tickets.command("show")
@config_option
@click.argument("ticket_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def tickets_show(config_path: Path | None, ticket_id: int, as_json: bool) -> None:
    """Show a ticket: its owner, its messages and its ownership history."""
    with open_store(config_path) as store, session_scope(store.engine) as session:
        ticket = session.get(Ticket, ticket_id)
        lines = show_lines(session, ticket) if ticket else []
        data = show_data(session, ticket) if ticket and as_json else {}
    if ticket is None:
        click.echo(f"no ticket {ticket_id}", err=True)
        sys.exit(1)
    click.echo(json.dumps(data, indent=2) if as_json else "\n".join(lines))


def show_data(session: Session, t: Ticket) -> dict[str, object]:
    """`tickets show --json` (stable field names): the ticket, its messages, its ownership."""
    messages = session.exec(
        select(Message).where(Message.ticket_id == t.id).order_by(col(Message.id))
    ).all()
    return ticket_data(t) | {
        "messages": [
            {"id": m.id, "state": m.state, "from": m.sender, "reason": m.reason} for m in messages
        ],
        "ownership_history": [
            {"at": iso(e.at), "actor": e.actor, "event": e.kind} | dict(e.detail)
            for e in ownership_events(session, t)
        ],
    }


def ownership_events(session: Session, t: Ticket) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.ticket_id == t.id, col(AuditEvent.kind).in_(OWNERSHIP_EVENTS))
            .order_by(col(AuditEvent.id))
        ).all()
    )


def show_lines(session: Session, t: Ticket) -> list[str]:
    data = ticket_data(t)
    owner = str(data["owner"])
    if t.owner:
        owner += f" since {data['owned_since']} ({t.owner_reason})"
    lines = [
        f"ticket {t.id}: {t.subject}",
        f"customer: {t.customer_email or '?'}   status: {t.status}",
        f"owner: {owner}",
    ]
    if t.linked_ticket_id:
        lines.append(
            f"linked ticket: {t.linked_ticket_id} (its Message-ID was named by this ticket's "
            "first mail, whose sender is not its customer: kept apart)"
        )
    lines.append("--- messages ---")
    messages = session.exec(
        select(Message).where(Message.ticket_id == t.id).order_by(col(Message.id))
    ).all()
    lines += [f"{m.id}  {m.state:<17} {m.sender or '?'}  {m.reason or ''}" for m in messages]
    lines.append("--- ownership ---")
    lines += [event_line(e) for e in ownership_events(session, t)] or ["(never owned by a human)"]
    return lines


def event_line(e: AuditEvent) -> str:
    when = e.at.strftime("%Y-%m-%d %H:%M:%S")
    if e.kind == "ticket_taken":
        what = f"owner {e.detail.get('owner')}: {e.detail.get('reason', '')}"
    else:
        what = f"handed back to the model (was {e.detail.get('previous')})"
    return f"{when}  {e.actor}  {what}"


@tickets.command("take")
@config_option
@click.argument("ticket_id", type=int)
@click.option("--agent", default=None, help="Who takes it (default: your login name).")
def tickets_take(config_path: Path | None, ticket_id: int, agent: str | None) -> None:
    """Take a ticket: the model stays out of it until it is handed back."""
    name = agent or getpass.getuser()
    with open_services(config_path) as services:
        try:
            with session_scope(services.engine) as session:
                take(session, ticket_id, name)
        except TicketError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"ticket {ticket_id} is owned by {name}; follow-ups go to the human queue")


@tickets.command("handback")
@config_option
@click.argument("ticket_id", type=int)
@click.option("--by", "actor", default=None, help="Agent name for the audit trail.")
def tickets_handback(config_path: Path | None, ticket_id: int, actor: str | None) -> None:
    """Hand a ticket back: the model answers its next follow-up again."""
    name = actor or getpass.getuser()
    with open_services(config_path) as services:
        try:
            with session_scope(services.engine) as session:
                hand_back(session, ticket_id, name)
        except TicketError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"ticket {ticket_id} handed back to the model by {name}")


COMMANDS = (tickets,)
