"""The long-running mode: the same cycle as `run --once`, on a schedule, until SIGTERM.

Decides only *when* work runs. Polling, the pipeline and the outbox are separate APScheduler
jobs (each never overlapping itself), so a slow LLM call in the pipeline never delays fetching
mail. SIGTERM and SIGINT set a flag and abandon the stages in progress (`daemon.deadline`:
their transactions roll back, the messages are taken up again at the next start), so a hostile
message in the middle of its parse never holds up the exit; the process exits 0. With
`Type=notify` systemd is told when we are ready and when we stop.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from daemon.app import Services
from daemon.cycle import poll_all
from daemon.deadline import Stopping, stop_stages
from daemon.deadline import reset as reset_stop
from daemon.helpdesk_sync import add_helpdesk_jobs
from daemon.imap_idle import start_watchers
from daemon.knowledge.job import add_index_job
from daemon.metrics import serve_metrics
from daemon.outbox import flush_outbox
from daemon.pipeline import process_pending
from daemon.source_alerts import check_alerts

log = logging.getLogger("helpdeskd.scheduler")

EXTRA_JOBS: list[Callable[[Services, BackgroundScheduler], None]] = [add_index_job]
"""Other modules add their periodic jobs here (e.g. incremental indexing)."""


def sd_notify(state: str) -> None:
    """Tell systemd about our state (no-op outside a Type=notify unit)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())


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
    scheduler.start()
    if services.settings.metrics.port:
        serve_metrics(
            services.engine, services.settings.metrics.port, services.settings.metrics.address
        )
    # IDLE threads ask for an early poll; the poll job stays the only reader of a mailbox.
    start_watchers(services, lambda _name: scheduler.modify_job("poll", next_run_time=_now()), stop)
    sd_notify("READY=1")
    log.info("running: %d source(s), polling every %ds", len(services.settings.sources), every)
    stop.wait()
    sd_notify("STOPPING=1")
    log.info("stopping: finishing the jobs in progress")
    scheduler.shutdown(wait=True)


def _now() -> Any:
    from datetime import datetime

    return datetime.now().astimezone()
