"""Outbox commands: what is waiting, failed or unknown, and the operator's verdict on it."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from daemon.cli.common import config_option, iso, open_services, open_store
from daemon.store.engine import session_scope
from daemon.tables import Outbox

console = Console()


@click.group("outbox")
def outbox() -> None:
    """Outgoing mail: every reply and notice is a row here first."""


@outbox.command("list")
@config_option
@click.option(
    "--state",
    "states",
    multiple=True,
    help="queued, sending, sent, failed, unknown (default: all but sent).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def outbox_list(config_path: Path | None, states: tuple[str, ...], as_json: bool) -> None:
    """List outbox rows, newest first."""
    with open_store(config_path) as store, session_scope(store.engine) as session:
        query = select(Outbox).order_by(col(Outbox.id).desc())
        if states:
            query = query.where(col(Outbox.state).in_(states))
        else:
            query = query.where(Outbox.state != "sent")
        rows = [outbox_row(r) for r in session.exec(query).all()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for name in ("id", "ticket", "kind", "state", "attempts", "to", "last answer"):
        table.add_column(name)
    for r in rows:
        to = r["to"]
        assert isinstance(to, list)
        table.add_row(
            str(r["id"]),
            str(r["ticket"] or ""),
            str(r["kind"]),
            str(r["state"]),
            str(r["attempts"]),
            ", ".join(to)[:40],
            str(r["last_response"] or "")[:60],
        )
    console.print(table)


def outbox_row(r: Outbox) -> dict[str, object]:
    """One row as `outbox list --json` prints it (stable field names)."""
    return {
        "id": r.id,
        "ticket": r.ticket_id,
        "draft": r.draft_id,
        "kind": r.kind,
        "state": r.state,
        "attempts": r.attempts,
        "message_id": r.message_id,
        "to": list(r.recipients),
        "last_response": r.last_response,
        "created": iso(r.created_at),
        "sent": iso(r.sent_at),
    }


@outbox.command("resolve")
@config_option
@click.argument("row_id", type=int)
@click.option(
    "--delivered/--not-delivered",
    required=True,
    help="You checked (the customer's mailbox, the server log): was it delivered?",
)
@click.option("--by", "actor", default=None, help="Your name for the audit trail.")
def outbox_resolve(
    config_path: Path | None, row_id: int, delivered: bool, actor: str | None
) -> None:
    """Settle an unknown or failed row: --delivered marks it sent, --not-delivered sends it."""
    from daemon.outbox import resolve

    with open_services(config_path) as services:
        try:
            row = resolve(
                services.engine, row_id, delivered=delivered, actor=actor or getpass.getuser()
            )
        except ValueError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"outbox row {row_id}: {row.state}")


COMMANDS = (outbox,)
