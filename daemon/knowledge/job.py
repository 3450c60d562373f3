"""The incremental indexing job of the long-running mode.

Decides when the index catches up with its sources: every `[knowledge] update_seconds`
(0: never), starting a minute after start-up so the first polls go first. A run that finds
another writer at work (`helpdeskd index` in a shell) skips its turn instead of waiting.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from daemon.kernel.stage import Runtime
from daemon.knowledge.index import INDEX_JOB, IndexBusy
from daemon.knowledge.sync import update_index

log = logging.getLogger("helpdeskd.index")
FIRST_RUN_DELAY = timedelta(minutes=1)


def add_index_job(services: Runtime, scheduler: Any) -> None:
    """Register the job with the scheduler (an entry of daemon.scheduler.EXTRA_JOBS)."""
    every = services.settings.knowledge.update_seconds
    if every <= 0:
        return
    scheduler.add_job(
        lambda: run_index_job(services),
        "interval",
        seconds=every,
        id=INDEX_JOB,
        next_run_time=datetime.now().astimezone() + FIRST_RUN_DELAY,
    )


def run_index_job(services: Runtime) -> None:
    try:
        update_index(services.settings, services.engine, wait=False)
    except IndexBusy:
        log.info("index update skipped: another process is writing the index")
    except Exception:
        log.exception("index update failed; it runs again at its next time")
