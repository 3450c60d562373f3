"""Agents' commands: list, show, approve (optionally edited) and reject held drafts.

`list` and `show` read the store only (fast start, `--json` for scripts: `draft_row` and
`draft_detail` name the fields); approve and reject load the services that send.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from daemon.cli.common import config_option, iso, open_services, open_store
from daemon.ownership import owner_of, owners_of
from daemon.store.engine import session_scope
from daemon.tables import Draft, Message, MessageParse, Ticket

console = Console()


@click.group()
def drafts() -> None:
    """Drafts held for an agent's approval."""


@drafts.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include approved, rejected and sent.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def drafts_list(config_path: Path | None, show_all: bool, as_json: bool) -> None:
    """List pending drafts (oldest first)."""
    with open_store(config_path) as store, session_scope(store.engine) as session:
        query = select(Draft, Message).where(Draft.message_pk == Message.id)
        if not show_all:
            query = query.where(Draft.status == "pending")
        rows = session.exec(query.order_by(col(Draft.id))).all()
        owners = owners_of(session, sorted({d.ticket_id for d, _m in rows}))
    data = [draft_row(d, m, owners.get(d.ticket_id, "model")) for d, m in rows]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    table = Table()
    for name in ("draft", "ticket", "owner", "status", "from", "subject", "confidence", "why held"):
        table.add_column(name)
    for r in data:
        table.add_row(
            str(r["id"]),
            str(r["ticket"]),
            str(r["owner"]),
            str(r["status"]),
            str(r["from"] or ""),
            str(r["subject"] or "")[:40],
            f"{r['confidence']:.2f}",
            str(r["held_because"] or "")[:50],
        )
    console.print(table)


def draft_row(d: Draft, m: Message, owner: str) -> dict[str, object]:
    """One draft as `drafts list --json` prints it (stable field names)."""
    return {
        "id": d.id,
        "ticket": d.ticket_id,
        "owner": owner,
        "status": d.status,
        "from": m.sender,
        "subject": m.subject,
        "confidence": round(d.confidence, 4),
        "held_because": m.reason,
        "created": iso(d.created_at),
    }


@drafts.command("show")
@config_option
@click.argument("draft_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def drafts_show(config_path: Path | None, draft_id: int, as_json: bool) -> None:
    """Show a draft with its citations and the customer's message."""
    from daemon.records import stored_reply_text  # the parse contract's reply text: show only

    with open_store(config_path) as store, session_scope(store.engine) as session:
        d = session.get(Draft, draft_id)
        m = session.get(Message, d.message_pk) if d else None
        parse = session.get(MessageParse, d.message_pk) if d else None
        owner = owner_of(session, d.ticket_id) if d else None
        ticket = session.get(Ticket, d.ticket_id) if d else None
    if d is None or m is None:
        click.echo(f"no draft {draft_id}", err=True)
        sys.exit(1)
    data = draft_row(d, m, owner or "model") | {
        "drafter": d.drafter,
        "linked_ticket": ticket.linked_ticket_id if ticket else None,
        "citations": list(d.citations),
        "customer_wrote": stored_reply_text(parse.parsed if parse else {}).strip(),
        "body": d.edited_body or d.body,
        "edited": d.edited_body is not None,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    print_draft(data)


def print_draft(data: dict[str, object]) -> None:
    click.echo(
        f"draft {data['id']} for ticket {data['ticket']} ({data['status']}, by "
        f"{data['drafter']}, confidence {data['confidence']:.2f})"
    )
    click.echo(f"customer: {data['from']}   subject: {data['subject']}")
    click.echo(f"held because: {data['held_because']}")
    click.echo(f"ticket owner: {data['owner']}")
    if data["linked_ticket"]:
        click.echo(
            f"linked ticket: {data['linked_ticket']} (named by this ticket's first mail; "
            "its customer is someone else)"
        )
    citations = data["citations"]
    assert isinstance(citations, list)
    click.echo(f"citations: {', '.join(citations) or 'none'}")
    click.echo("--- customer wrote ---")
    click.echo(str(data["customer_wrote"]))
    click.echo("--- draft ---")
    click.echo(str(data["body"]))


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
    from daemon.approvals import ApprovalError, approve
    from daemon.outbox import flush_outbox

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
    from daemon.approvals import ApprovalError, reject

    with open_services(config_path) as services:
        try:
            reject(services, draft_id, actor or getpass.getuser(), reason)
        except ApprovalError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"draft {draft_id} rejected")


COMMANDS = (drafts,)
