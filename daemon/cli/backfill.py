"""`helpdeskd backfill MAILBOX [--since DATE]`: read a mailbox's history into the store.

Decides how history is taken in: every message of the source (or, on IMAP, those that arrived
since DATE) goes through the ingest path — fetch, record (committed, rows with the cursor,
before the source's post-action, as in a poll), parse, thread, screen — a chunk of at most 50
messages at a time, so memory stays flat whatever the mailbox size, with a progress bar. Mail
already recorded is skipped, so a backfill can be interrupted and run again. The source's
position never moves backwards: a backfill of old mail leaves a poll's cursor where it was.
Screened mail goes on through route, draft and decide at the next `run`, like any new mail:
limit how far back with --since.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import col, select

from connectors.base import ConnectorError, FetchedMail, MailSource
from connectors.imap import ImapMailbox, parse_cursor
from daemon.app import Services
from daemon.cli.common import config_option, open_services
from daemon.cycle import record_poll
from daemon.parse_pool import Ahead, ParsePool
from daemon.pipeline import run_threading
from daemon.store.engine import session_scope
from daemon.store.ingest import Ingested, ingest_many
from daemon.store.leases import worker_name
from daemon.tables import Cursor, Message, State

INGEST_STATES = (State.received, State.parsed)  # the steps a backfill runs: parse, screen
CHUNK = 50  # messages recorded per transaction (the source fetches in its own batches)
CHUNK_BYTES = 16 * 1024 * 1024
AHEAD = 2
"""Recorded chunks whose parse may be under way while an earlier one is screened."""


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


def keep_cursor_forward(stored: tuple[int, int] | None, mail: FetchedMail) -> FetchedMail:
    """Drop a position older than the stored one (an old message must not rewind a poll)."""
    here = parse_cursor(mail.cursor)
    if stored and here and stored[0] == here[0] and stored[1] >= here[1]:
        return replace(mail, cursor=None)
    return mail


def chunks(mails: Iterator[FetchedMail]) -> Iterator[list[FetchedMail]]:
    """Consecutive groups of at most CHUNK messages and CHUNK_BYTES bytes."""
    chunk: list[FetchedMail] = []
    size = 0
    for mail in mails:
        chunk.append(mail)
        size += len(mail.raw)
        if len(chunk) >= CHUNK or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def record_chunk(
    services: Services, source: MailSource, chunk: list[FetchedMail]
) -> list[Ingested]:
    """Record a chunk in one transaction (rows and cursor together), then ack each message."""
    with session_scope(services.engine) as session:
        row = session.get(Cursor, source.name)
        stored = parse_cursor(row.value if row else None)
        chunk = [keep_cursor_forward(stored, mail) for mail in chunk]
        results = ingest_many(session, source.name, chunk)
    for mail in chunk:
        source.ack(mail)
    return results


@dataclass
class Recorded:
    """A recorded chunk waiting to be screened, its parse under way in the workers."""

    pks: list[int]
    ahead: Ahead
    fetched: int


def screen_chunk(services: Services, chunk: Recorded, owner: str) -> int:
    """Parse (taking the workers' results), then thread and screen, the chunk exactly as the
    pipeline does (a batch per transaction, claimed once); return how many got past screening
    (or were screened out)."""
    run_threading(services, chunk.pks, owner, chunk.ahead.result())
    with session_scope(services.engine) as session:
        query = select(Message.state).where(col(Message.id).in_(chunk.pks))
        states = session.exec(query).all()
    return sum(State(s) not in INGEST_STATES for s in states)


def run_backfill(
    services: Services,
    source: MailSource,
    *,
    since: datetime | None = None,
    screen: bool = True,
    on_total: Callable[[int | None], None] = lambda _n: None,
    on_message: Callable[[int], None] = lambda _n: None,
) -> BackfillReport:
    """Record chunk after chunk; each recorded chunk is parsed in the worker processes while
    the ones before it are screened here (`AHEAD` chunks ahead: memory stays a few chunks)."""
    report = BackfillReport()
    owner = worker_name()
    if since is not None:
        if not isinstance(source, ImapMailbox):
            raise click.BadParameter("--since needs an IMAP source")
        source.since = since.date()
    pipeline = services.settings.pipeline
    processes = pipeline.parse_processes if screen else 0
    trusted = services.settings.screen.trusted_authserv_ids
    waiting: deque[Recorded] = deque()
    try:
        with ParsePool(processes, trusted) as pool:
            try:
                on_total(count_pending(source, None))
                for chunk in chunks(source.fetch(None)):
                    results = record_chunk(services, source, chunk)
                    new = {
                        r.message_pk: mail.raw
                        for r, mail in zip(results, chunk, strict=True)
                        if not r.duplicate and r.message_pk is not None
                    }
                    report.fetched += len(new)
                    report.duplicates += len(results) - len(new)
                    if screen:
                        waiting.append(Recorded(list(new), pool.submit(new), len(chunk)))
                        if len(waiting) > AHEAD:
                            done = waiting.popleft()
                            report.screened += screen_chunk(services, done, owner)
                            on_message(done.fetched)
                    else:
                        on_message(len(chunk))
            except ConnectorError as exc:
                report.error = str(exc)
            for done in waiting:  # what was recorded is screened, also after an error
                report.screened += screen_chunk(services, done, owner)
                on_message(done.fetched)
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
@click.option(
    "--record-only",
    is_flag=True,
    help="Only record the mail; `run` parses and screens it later.",
)
def backfill(
    config_path: Path | None, mailbox: str, since: datetime | None, record_only: bool
) -> None:
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
            screen=not record_only,
            on_total=lambda n: progress.update(task, total=n),
            on_message=lambda n: progress.advance(task, n),
        )
    click.echo(
        f"{mailbox}: {report.fetched} recorded ({report.screened} screened), "
        f"{report.duplicates} already there"
    )
    if report.error:
        click.echo(f"stopped by an error (run again to resume): {report.error}", err=True)
        sys.exit(1)


COMMANDS = (backfill,)
