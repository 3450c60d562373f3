"""One cycle of work: poll every source, move every pending message, flush the outbox.

Decides the order of a cycle and how a source's health is recorded. Each fetched message is
committed (row + cursor) before the source is told (`ack`), so a crash between the two re-reads
the message and the store's uniqueness drops the copy. A source that fails, with whatever
exception, is recorded on its cursor row (`last_error`, `failing_since`) for `status` and the
alert, and the cycle goes on with the others: one broken mailbox never stops the rest. Each
source is polled by one process at a time (a PostgreSQL advisory lock across replicas, a file
lock on one host); another poller skips it.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text

from connectors.base import ConnectorError, FetchedMail, MailSource
from daemon.app import Services
from daemon.helpdesk_sync.runner import HelpdeskReport, poll_helpdesks, push_helpdesks
from daemon.metrics import FETCHED
from daemon.outbox import FlushReport, flush_outbox
from daemon.pipeline import process_pending
from daemon.store.engine import session_scope
from daemon.store.ingest import ingest_many
from daemon.tables import Cursor, utcnow

log = logging.getLogger("helpdeskd.cycle")


@dataclass(frozen=True, slots=True)
class PollReport:
    source: str
    fetched: int = 0
    duplicates: int = 0
    error: str | None = None
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class CycleReport:
    polls: tuple[PollReport, ...]
    processed: int
    outbox: FlushReport
    helpdesks: tuple[HelpdeskReport, ...] = ()


INGEST_BATCH = 50
INGEST_BATCH_BYTES = 16 * 1024 * 1024


def poll_source(services: Services, source: MailSource) -> PollReport:
    """Fetch and record what is new at one source, unless another process polls it now."""
    with poll_lock(services, source.name) as mine:
        if not mine:
            log.info("source %s: another process is polling it; skipped", source.name)
            return PollReport(source.name, error=None, skipped=True)
        return poll_locked(services, source)


@contextmanager
def poll_lock(services: Services, name: str) -> Iterator[bool]:
    """One poller per source: a PostgreSQL session advisory lock when replicas share the
    database, else a file lock in the state directory (processes on one host). Yields whether
    this process holds it; never waits."""
    if services.engine.dialect.name == "postgresql":
        with services.engine.connect() as conn:
            key = {"key": f"helpdeskd.poll.{name}"}
            got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:key))"), key).scalar()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)
                conn.commit()
        return
    path = services.settings.state_dir / "locks" / f"poll-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def poll_locked(services: Services, source: MailSource) -> PollReport:
    """Fetch and record in batches. Any failure (the connector's, or anything a message or
    the folder made the code raise) ends this poll with the error recorded on the source,
    after what was fetched before it has been recorded: never raised, so one source or one
    message cannot stop the cycle, and every poll that fails shows in `status`."""
    with session_scope(services.engine) as session:
        cursor = session.get(Cursor, source.name)
        position = cursor.value if cursor else None
    counts = [0, 0]  # new, duplicates
    batch: list[FetchedMail] = []
    error = None
    try:
        for mail in source.fetch(position):
            batch.append(mail)
            if len(batch) >= INGEST_BATCH or sum(len(m.raw) for m in batch) > INGEST_BATCH_BYTES:
                add_counts(counts, record_batch(services, source, batch))
                batch = []
    except Exception as exc:  # recorded as the source's error: see the docstring
        error = poll_error(source.name, exc, counts[0])
    try:
        add_counts(counts, record_batch(services, source, batch))
    except Exception as exc:  # the batch stays at the source for the next poll
        error = error or poll_error(source.name, exc, counts[0])
    record_poll(services, source.name, error=error)
    if counts[0]:
        log.info("source %s: %d new messages", source.name, counts[0])
    return PollReport(source.name, counts[0], counts[1], error)


def add_counts(counts: list[int], added: tuple[int, int]) -> None:
    counts[0] += added[0]
    counts[1] += added[1]


def poll_error(name: str, exc: Exception, fetched: int) -> str:
    """The error a failed poll records: a connector's text as it is (it names the cause), an
    unexpected exception with its type, logged with its traceback."""
    if isinstance(exc, ConnectorError):
        log.warning("source %s failed after %d messages: %s", name, fetched, exc)
        return str(exc)
    log.exception("source %s failed after %d messages", name, fetched)
    return f"{type(exc).__name__}: {exc}"


def record_batch(
    services: Services, source: MailSource, batch: list[FetchedMail]
) -> tuple[int, int]:
    """Commit a batch of fetched messages (rows and cursor) in one transaction, then ack each
    at the source. A crash between the two re-reads the batch; the store drops the copies."""
    if not batch:
        return 0, 0
    with session_scope(services.engine) as session:
        results = ingest_many(session, source.name, batch)
    for mail in batch:
        source.ack(mail)
    new = sum(not r.duplicate for r in results)
    FETCHED.labels(source.name).inc(new)
    return new, len(results) - new


def record_poll(services: Services, name: str, *, error: str | None) -> None:
    now = utcnow()
    with session_scope(services.engine) as session:
        cursor = session.get(Cursor, name) or Cursor(source=name)
        cursor.last_poll_at = now
        if error is None:
            cursor.last_success_at = now
            cursor.failing_since = None
            cursor.last_error = None
        else:
            cursor.failing_since = cursor.failing_since or now
            cursor.last_error = error[:1000]
        session.add(cursor)


def poll_all(services: Services) -> tuple[PollReport, ...]:
    reports = []
    for source in services.sources():
        try:
            reports.append(poll_source(services, source))
        finally:
            source.close()
    return tuple(reports)


def run_cycle(services: Services) -> CycleReport:
    polls = poll_all(services)
    helpdesks = poll_helpdesks(services)  # new helpdesk messages and agents' decisions
    processed = process_pending(services)
    helpdesks += push_helpdesks(services)  # mirrored mail, draft notes, escalations
    report = flush_outbox(services.engine, services.sink)
    return CycleReport(polls, processed, report, tuple(helpdesks))
