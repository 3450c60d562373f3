"""The long-running mode: the same cycle as `run --once`, on a schedule, until SIGTERM.

Decides only *when* work runs. Polling, the pipeline and the outbox are separate APScheduler
jobs (each never overlapping itself), so a slow LLM call in the pipeline never delays fetching
mail. SIGTERM and SIGINT set a flag and abandon the stages in progress (`daemon.deadline`:
their transactions roll back, the messages are taken up again at the next start), so a hostile
message in the middle of its parse never holds up the exit; the process exits 0. With
`Type=notify` systemd is told when we are ready and when we stop, and (`daemon.notify`) pinged
only while the jobs make progress, with a STATUS= line: last poll, backlog, failing sources.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import col, func, select

from daemon.app import Services
from daemon.cycle import poll_all
from daemon.deadline import Stopping, stop_stages
from daemon.deadline import reset as reset_stop
from daemon.helpdesk_sync import add_helpdesk_jobs
from daemon.imap_idle import start_watchers
from daemon.knowledge.job import add_index_job
from daemon.metrics import serve_metrics
from daemon.notify import PROGRESS, Watchdog, notify, watchdog_seconds
from daemon.outbox import flush_outbox
from daemon.pipeline import WAITING, process_pending
from daemon.source_alerts import check_alerts
from daemon.store.engine import session_scope
from daemon.tables import Cursor, Message

log = logging.getLogger("helpdeskd.scheduler")

EXTRA_JOBS: list[Callable[[Services, BackgroundScheduler], None]] = [add_index_job]
"""Other modules add their periodic jobs here (e.g. incremental indexing)."""


def guarded(name: str, func: Callable[[], Any]) -> Callable[[], None]:
    """A job that logs its failure instead of killing the scheduler thread."""

    def job() -> None:
        try:
            func()
        except Stopping:
            log.info("job %s stopped: the process is stopping", name)
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)

    return job


def run_forever(services: Services, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    reset_stop()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        stop_stages()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    every = services.settings.pipeline.poll_seconds
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(
        guarded("poll", lambda: (poll_all(services), check_alerts(services))),
        "interval",
        seconds=every,
        id="poll",
        next_run_time=_now(),
    )
    scheduler.add_job(
        guarded("pipeline", lambda: process_pending(services)),
        "interval",
        seconds=max(1, every // 4),
        id="pipeline",
        next_run_time=_now(),
    )
    scheduler.add_job(
        guarded("outbox", lambda: flush_outbox(services.engine, services.sink)),
        "interval",
        seconds=max(1, every // 4),
        id="outbox",
        next_run_time=_now(),
    )
    add_helpdesk_jobs(services, scheduler)
    for add in EXTRA_JOBS:
        add(services, scheduler)
    watch_progress(services, scheduler)
    scheduler.start()
    if services.settings.metrics.port:
        metrics = services.settings.metrics
        serve_metrics(
            services.engine, metrics.port, metrics.address, services.settings.pricing.daily_cap
        )
    # IDLE threads ask for an early poll; the poll job stays the only reader of a mailbox.
    start_watchers(services, lambda _name: scheduler.modify_job("poll", next_run_time=_now()), stop)
    notify("READY=1\nSTATUS=" + status_line(services))
    start_watchdog(services, stop)
    log.info("running: %d source(s), polling every %ds", len(services.settings.sources), every)
    stop.wait()
    notify("STOPPING=1\nSTATUS=stopping: finishing the jobs in progress")
    log.info("stopping: finishing the jobs in progress")
    scheduler.shutdown(wait=True)


def watch_progress(services: Services, scheduler: BackgroundScheduler) -> None:
    """Report every job's start and end (ours and the ones EXTRA_JOBS added) to PROGRESS."""
    budget = float(services.settings.systemd.watchdog_job_seconds)
    PROGRESS.reset(job_budget=budget, idle_budget=budget + services.settings.pipeline.poll_seconds)

    def on_event(event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            PROGRESS.started(event.job_id)
        else:
            PROGRESS.finished(event.job_id)

    scheduler.add_listener(on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)


def start_watchdog(services: Services, stop: threading.Event) -> Watchdog:
    """Ping at half systemd's WatchdogSec=; without a watchdog, only refresh STATUS= each 30 s."""
    limit = watchdog_seconds()
    interval = limit / 2 if limit else 30.0
    dog = Watchdog(PROGRESS, interval, lambda: status_line(services), stop, pings=bool(limit))
    dog.start()
    return dog


def status_line(services: Services) -> str:
    """What `systemctl status` shows: last poll, backlog, failing sources."""
    with session_scope(services.engine) as session:
        backlog = session.exec(
            select(func.count())
            .select_from(Message)
            .where(col(Message.state).not_in([s.value for s in WAITING]))
        ).one()
        cursors = session.exec(select(Cursor)).all()
    polls = [c.last_poll_at for c in cursors if c.last_poll_at is not None]
    last = f"{max(polls):%Y-%m-%d %H:%M:%S} UTC" if polls else "none yet"
    failing = sorted(c.source for c in cursors if c.failing_since is not None)
    return f"last poll {last}; backlog {backlog}; failing: {', '.join(failing) or 'none'}"


def _now() -> Any:
    from datetime import datetime

    return datetime.now().astimezone()
