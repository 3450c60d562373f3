"""Running the helpdesks: when each is polled and pushed, and what a failure does to it.

Decides a helpdesk connector's health. `run --once` reads every helpdesk before the pipeline
and writes to it after (`poll_helpdesks`, `push_helpdesks` in the cycle); the long-running mode
gives each helpdesk its own job every `poll_seconds`. A transient failure (429 beyond the
wait we allow, 5xx, a lost connection) is recorded on the helpdesk's cursor row (`helpdeskd
status` shows it) and the next run tries again. A permanent failure of the connector itself —
credentials refused (401), a missing right (403), a wrong URL (404), its secret missing from the
environment — disables that helpdesk until helpdeskd restarts: the error is recorded starting
with `DISABLED:`, one ERROR line is logged, the `helpdeskd_source_failing` gauge goes to 1 and
an audit event is written; the other helpdesks and the mailbox keep working. Nothing retries it
in a loop: the operator fixes the cause and restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import ConnectorError
from connectors.helpdesk import Helpdesk, HelpdeskError
from daemon.config import HelpdeskSettings
from daemon.helpdesk_sync.host import HelpdeskHost
from daemon.helpdesk_sync.links import source_of
from daemon.helpdesk_sync.poll import poll_helpdesk
from daemon.helpdesk_sync.push import push_helpdesk
from daemon.metrics import SOURCE_FAILING
from daemon.store.audit import audit
from daemon.store.engine import session_scope
from daemon.tables import Cursor, utcnow

log = logging.getLogger("helpdeskd.helpdesk")

DISABLED = "DISABLED: "
PROCESS_STARTED = utcnow()
"""A helpdesk disabled before this process started is tried again (the operator restarted)."""


@dataclass(frozen=True, slots=True)
class HelpdeskReport:
    helpdesk: str
    phase: str
    counts: dict[str, int]
    error: str | None = None
    disabled: bool = False


def poll_helpdesks(services: HelpdeskHost) -> list[HelpdeskReport]:
    return [run_phase(services, cfg, "poll") for cfg in services.settings.helpdesks]


def push_helpdesks(services: HelpdeskHost) -> list[HelpdeskReport]:
    return [run_phase(services, cfg, "push") for cfg in services.settings.helpdesks]


PHASES: dict[str, Callable[[HelpdeskHost, Helpdesk, Any], Any]] = {
    "poll": poll_helpdesk,
    "push": push_helpdesk,
}


def run_phase(services: HelpdeskHost, cfg: HelpdeskSettings, phase: str) -> HelpdeskReport:
    """One read or write pass over one helpdesk; never raises for a helpdesk's failure."""
    if reason := disabled_reason(services, cfg.name):
        return HelpdeskReport(cfg.name, phase, {}, reason, disabled=True)
    try:
        helpdesk = services.helpdesk(cfg.name)
        counts = PHASES[phase](services, helpdesk, cfg)
    except ConnectorError as exc:
        if exc.permanent and getattr(exc, "scope", "connector") == "connector":
            disable(services, cfg.name, exc)
            return HelpdeskReport(cfg.name, phase, {}, str(exc), disabled=True)
        record(services, cfg.name, error=str(exc))
        log.warning("helpdesk %s: %s failed, retried next time: %s", cfg.name, phase, exc)
        return HelpdeskReport(cfg.name, phase, {}, str(exc))
    if phase == "poll":  # a poll that worked clears the failure; a push says nothing of it
        record(services, cfg.name, error=None)
    return HelpdeskReport(cfg.name, phase, dict(vars(counts)))


def disabled_reason(services: HelpdeskHost, name: str) -> str | None:
    with session_scope(services.engine) as session:
        row = session.get(Cursor, source_of(name))
        if row is None or not (row.last_error or "").startswith(DISABLED):
            return None
        if row.last_poll_at is None or aware(row.last_poll_at) < PROCESS_STARTED:
            return None
        return row.last_error


def aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def disable(services: HelpdeskHost, name: str, exc: ConnectorError) -> None:
    text = f"{DISABLED}{exc} (fix it, then restart helpdeskd)"
    record(services, name, error=text)
    with session_scope(services.engine) as session:
        audit(session, "helpdesk_disabled", actor="daemon", helpdesk=name, error=str(exc)[:1000])
    SOURCE_FAILING.labels(source=source_of(name)).set(1)
    log.error("helpdesk %s disabled after a permanent error: %s", name, exc)


def record(services: HelpdeskHost, name: str, *, error: str | None) -> None:
    """The helpdesk's health on its cursor row, as `helpdeskd status` shows every source."""
    now = utcnow()
    with session_scope(services.engine) as session:
        row = session.get(Cursor, source_of(name)) or Cursor(source=source_of(name))
        row.last_poll_at = now
        if error is None:
            row.last_success_at = now
            row.failing_since = None
            row.last_error = None
        else:
            row.failing_since = row.failing_since or now
            row.last_error = error[:1000]
        session.add(row)
    if error is None:
        SOURCE_FAILING.labels(source=source_of(name)).set(0)


def add_helpdesk_jobs(services: HelpdeskHost, scheduler: Any) -> None:
    """One job per helpdesk in the long-running mode: read it, then write to it."""
    for cfg in services.settings.helpdesks:
        scheduler.add_job(
            lambda cfg=cfg: sync_one(services, cfg),
            "interval",
            seconds=cfg.poll_seconds,
            id=f"helpdesk:{cfg.name}",
            next_run_time=utcnow(),
        )


def sync_one(services: HelpdeskHost, cfg: HelpdeskSettings) -> None:
    try:
        run_phase(services, cfg, "poll")
        run_phase(services, cfg, "push")
    except Exception:  # a bug must not kill the scheduler thread; logged with its traceback
        log.exception("helpdesk %s: the job failed; it runs again at its next time", cfg.name)


__all__ = [
    "HelpdeskError",
    "HelpdeskReport",
    "add_helpdesk_jobs",
    "poll_helpdesks",
    "push_helpdesks",
    "run_phase",
]
