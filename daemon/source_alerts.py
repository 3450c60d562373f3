"""Source alerts: when a failing mailbox becomes an operator's problem.

A source (IMAP or Maildir) whose polls have failed, with nothing fetched, for longer than its
`alert_after` is in alert: one ERROR log line when it starts,
`helpdeskd_source_failing{source=...}` = 1, and its error in `helpdeskd status` starts with
`ALERT`. The scheduler checks after every poll; `helpdeskd status` checks when it runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from daemon.kernel.stage import Runtime
from daemon.metrics import SOURCE_FAILING
from daemon.store.engine import session_scope
from daemon.tables import Cursor, utcnow

log = logging.getLogger("helpdeskd.watch")

ALERT_PREFIX = "ALERT"
ALERTING: set[str] = set()
"""Sources whose alert was logged, process-wide like the metric: one ERROR line per incident."""


def check_alerts(services: Runtime, now: datetime | None = None) -> list[str]:
    """Raise or clear each source's alert; return the sources in alert."""
    now = now or utcnow()
    alerting = []
    with session_scope(services.engine) as session:
        for cfg in services.settings.sources:
            cursor = session.get(Cursor, cfg.name)
            since = cursor.failing_since if cursor else None
            if since is not None and since.tzinfo is None:
                since = since.replace(tzinfo=UTC)  # SQLite gives naive datetimes back
            alert = since is not None and now - since > timedelta(seconds=cfg.alert_after)
            SOURCE_FAILING.labels(source=cfg.name).set(1 if alert else 0)
            if not alert:
                ALERTING.discard(cfg.name)
            if alert and cursor is not None:
                alerting.append(cfg.name)
                mark_alert(cursor, now - since if since else timedelta(0))
                session.add(cursor)
    return alerting


def mark_alert(cursor: Cursor, failing_for: timedelta) -> None:
    """Prefix the source's error with ALERT (every poll rewrites it); log once per incident."""
    error = cursor.last_error or ""
    if error.startswith(ALERT_PREFIX):
        return
    minutes = int(failing_for.total_seconds() // 60)
    if cursor.source not in ALERTING:
        ALERTING.add(cursor.source)
        log.error(
            "source %s: ALERT: nothing fetched for %d min, failing: %s",
            cursor.source,
            minutes,
            error,
        )
    cursor.last_error = f"{ALERT_PREFIX} (failing for {minutes} min): {error}"[:1000]
