"""Agents' commands: list, show, approve (optionally edited) and reject held drafts."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from daemon.approvals import ApprovalError, approve, reject
from daemon.cli.common import config_option, open_services
from daemon.outbox import flush_outbox
from daemon.ownership import owner_of, owners_of
from daemon.records import stored_reply_text
from daemon.store.engine import session_scope
from daemon.tables import Draft, Message, MessageParse, Ticket

console = Console()


@click.group()
def drafts() -> None:
    """Drafts held for an agent's approval."""


@drafts.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include approved, rejected and sent.")
def drafts_list(config_path: Path | None, show_all: bool) -> None:
    """List pending drafts (oldest first)."""
    with open_services(config_path) as services, session_scope(services.engine) as session:
        query = select(Draft, Message).where(Draft.message_pk == Message.id)
        if not show_all:
            query = query.where(Draft.status == "pending")
        rows = session.exec(query.order_by(col(Draft.id))).all()
        owners = owners_of(session, sorted({d.ticket_id for d, _m in rows}))
    table = Table()
    for name in ("draft", "ticket", "owner", "status", "from", "subject", "confidence", "why held"):
        table.add_column(name)
    for d, m in rows:
        table.add_row(
            str(d.id),
            str(d.ticket_id),
            owners.get(d.ticket_id, "model"),
            d.status,
            m.sender or "",
            (m.subject or "")[:40],
            f"{d.confidence:.2f}",
            (m.reason or "")[:50],
        )
    console.print(table)


@drafts.command("show")
@config_option
@click.argument("draft_id", type=int)
def drafts_show(config_path: Path | None, draft_id: int) -> None:
    """Show a draft with its citations and the customer's message."""
    with open_services(config_path) as services, session_scope(services.engine) as session:
        d = session.get(Draft, draft_id)
        m = session.get(Message, d.message_pk) if d else None
        parse = session.get(MessageParse, d.message_pk) if d else None
        owner = owner_of(session, d.ticket_id) if d else None
        ticket = session.get(Ticket, d.ticket_id) if d else None
    if d is None or m is None:
        click.echo(f"no draft {draft_id}", err=True)
        sys.exit(1)
    click.echo(
        f"draft {d.id} for ticket {d.ticket_id} ({d.status}, by {d.drafter}, "
        f"confidence {d.confidence:.2f})"
    )
    click.echo(f"customer: {m.sender}   subject: {m.subject}")
    click.echo(f"held because: {m.reason}")
    click.echo(f"ticket owner: {owner or 'model'}")
    if ticket is not None and ticket.linked_ticket_id:
        click.echo(
            f"linked ticket: {ticket.linked_ticket_id} (named by this ticket's first mail; "
            "its customer is someone else)"
        )
    click.echo(f"citations: {', '.join(d.citations) or 'none'}")
    click.echo("--- customer wrote ---")
    parsed = parse.parsed if parse else {}
    click.echo(stored_reply_text(parsed).strip())
    click.echo("--- draft ---")
    click.echo(d.edited_body or d.body)


@drafts.command("approve")
@config_option
@click.argument("draft_id", type=int)
@click.option(
    "--edit",
    "edit_file",
    type=click.File("r"),
    default=None,
    help="Send this file's text instead of the draft ('-' reads stdin).",
)
@click.option("--by", "actor", default=None, help="Agent name for the audit trail.")
@click.option("--send/--no-send", default=True, help="Flush the outbox now (default).")
def drafts_approve(
    config_path: Path | None,
    draft_id: int,
    edit_file: TextIO | None,
    actor: str | None,
    send: bool,
) -> None:
    """Approve a draft: its reply (or your edited text) is sent once."""
    body = edit_file.read() if edit_file is not None else None
    with open_services(config_path) as services:
        try:
            approve(services, draft_id, actor or getpass.getuser(), body)
        except ApprovalError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        report = flush_outbox(services.engine, services.sink) if send else None
    click.echo(f"draft {draft_id} approved" + (f"; sent {report.sent}" if report else ""))


@drafts.command("reject")
@config_option
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="Why (kept for stats and the team).")
@click.option("--by", "actor", default=None, help="Agent name for the audit trail.")
def drafts_reject(config_path: Path | None, draft_id: int, reason: str, actor: str | None) -> None:
    """Reject a draft; nothing is sent and the ticket stays with the agents."""
    with open_services(config_path) as services:
        try:
            reject(services, draft_id, actor or getpass.getuser(), reason)
        except ApprovalError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"draft {draft_id} rejected")


COMMANDS = (drafts,)
