"""`helpdeskd backfill MAILBOX [--since DATE]`: read a mailbox's history into the store.

Decides how history is taken in: every message of the source (or, on IMAP, those that arrived
since DATE) goes through the ingest path — fetch, record (committed before the source's
post-action, as in a poll), parse, thread, screen — one message at a time, so memory stays
flat whatever the mailbox size, with a progress bar. Mail already recorded is skipped, so a
backfill can be interrupted and run again. The source's position never moves backwards: a
backfill of old mail leaves a poll's cursor where it was. Screened mail goes on through route,
draft and decide at the next `run`, like any new mail: limit how far back with --since.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectors.base import ConnectorError, FetchedMail, MailSource
from connectors.imap import ImapMailbox, parse_cursor
from daemon.app import Services
from daemon.cli.common import config_option, open_services
from daemon.cycle import record_poll
from daemon.models import Cursor, State
from daemon.pipeline import record_failure, run_step
from daemon.store import claim, ingest, session_scope, worker_name

INGEST_STATES = (State.received, State.parsed)  # the steps a backfill runs: parse, screen


@dataclass
class BackfillReport:
    fetched: int = 0
    duplicates: int = 0
    screened: int = 0
    error: str | None = None


def open_source(services: Services, name: str) -> MailSource:
    for cfg, source in zip(services.settings.sources, services.sources(), strict=True):
        if cfg.name == name:
            return source
    known = ", ".join(c.name for c in services.settings.sources)
    raise click.BadParameter(f"no source named {name!r} (configured: {known})")


def count_pending(source: MailSource, cursor: str | None) -> int | None:
    """How many messages the backfill will read, when the source can tell cheaply."""
    if isinstance(source, ImapMailbox):
        with source.guarded("connect"):
            pass
        return len(source.new_uids(source.start_uid(parse_cursor(cursor))))
    return None


def keep_cursor_forward(services: Services, source: str, mail: FetchedMail) -> FetchedMail:
    """Drop a position older than the stored one (an old message must not rewind a poll)."""
    with session_scope(services.engine) as session:
        row = session.get(Cursor, source)
        stored = parse_cursor(row.value if row else None)
    here = parse_cursor(mail.cursor)
    if stored and here and stored[0] == here[0] and stored[1] >= here[1]:
        return replace(mail, cursor=None)
    return mail


def screen_message(services: Services, pk: int, owner: str) -> State | None:
    """Run the parse and screen steps on one recorded message."""
    lease = timedelta(seconds=services.settings.pipeline.lease_seconds)
    state: State | None = State.received
    while state in INGEST_STATES:
        with session_scope(services.engine) as session:
            if not claim(session, pk, owner, lease):
                return state
        try:
            state = run_step(services, pk)
        except Exception as exc:  # recorded like any stage failure; the pipeline retries it
            return record_failure(services, pk, exc)
    return state


def run_backfill(
    services: Services,
    source: MailSource,
    *,
    since: datetime | None = None,
    on_total: Callable[[int | None], None] = lambda _n: None,
    on_message: Callable[[], None] = lambda: None,
) -> BackfillReport:
    report = BackfillReport()
    owner = worker_name()
    if since is not None:
        if not isinstance(source, ImapMailbox):
            raise click.BadParameter("--since needs an IMAP source")
        source.since = since.date()
    try:
        on_total(count_pending(source, None))
        for mail in source.fetch(None):
            mail = keep_cursor_forward(services, source.name, mail)
            with session_scope(services.engine) as session:
                result = ingest(session, source.name, mail)
            source.ack(mail)
            report.duplicates += result.duplicate
            report.fetched += not result.duplicate
            if not result.duplicate and result.message_pk is not None:
                report.screened += screen_message(services, result.message_pk, owner) not in (
                    *INGEST_STATES,
                    None,
                )
            on_message()
    except ConnectorError as exc:
        report.error = str(exc)
    finally:
        source.close()
    record_poll(services, source.name, error=report.error)
    return report


@click.command()
@config_option
@click.argument("mailbox")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only mail that arrived on or after this day (YYYY-MM-DD; IMAP sources).",
)
def backfill(config_path: Path | None, mailbox: str, since: datetime | None) -> None:
    """Read MAILBOX's history (a configured source name) into the store: record, parse and
    screen each message, skipping what is already recorded. Safe to interrupt and rerun."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with open_services(config_path) as services, Progress(*columns) as progress:
        task = progress.add_task(f"backfill {mailbox}", total=None)
        report = run_backfill(
            services,
            open_source(services, mailbox),
            since=since,
            on_total=lambda n: progress.update(task, total=n),
            on_message=lambda: progress.advance(task),
        )
    click.echo(
        f"{mailbox}: {report.fetched} recorded ({report.screened} screened), "
        f"{report.duplicates} already there"
    )
    if report.error:
        click.echo(f"stopped by an error (run again to resume): {report.error}", err=True)
        sys.exit(1)


COMMANDS = (backfill,)
