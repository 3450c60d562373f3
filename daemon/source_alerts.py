"""Source alerts: when a failing mailbox becomes an operator's problem.

A source (IMAP or Maildir) whose polls have failed, with nothing fetched, for longer than its
`alert_after` is in alert: one ERROR log line when it starts,
`helpdeskd_source_failing{source=...}` = 1, and its error in `helpdeskd status` starts with
`ALERT`. An XOAUTH2 source whose refresh token was refused or nears its known lifetime
(daemon/oauth_tokens.py) is in alert at once, its error naming `helpdeskd oauth login SOURCE`.
The scheduler checks after every poll; `helpdeskd status` checks when it runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from daemon.config import Settings
from daemon.metrics import SOURCE_FAILING
from daemon.oauth_tokens import token_problems
from daemon.store.engine import session_scope
from daemon.tables import Cursor, utcnow

log = logging.getLogger("helpdeskd.watch")

ALERT_PREFIX = "ALERT"
ALERTING: set[str] = set()
"""Sources whose alert was logged, process-wide like the metric: one ERROR line per incident."""


class StoreAccess(Protocol):
    """What the check reads: the settings and the database (a running process, or the CLI's
    store for `status`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...


def check_alerts(services: StoreAccess, now: datetime | None = None) -> list[str]:
    """Raise or clear each source's alert; return the sources in alert."""
    now = now or utcnow()
    alerting = []
    tokens = token_problems(services.settings, now.timestamp())
    with session_scope(services.engine) as session:
        for cfg in services.settings.sources:
            cursor = session.get(Cursor, cfg.name)
            if cfg.name in tokens:
                alerting.append(cfg.name)
                session.add(token_alert(cursor or Cursor(source=cfg.name), tokens[cfg.name]))
                SOURCE_FAILING.labels(source=cfg.name).set(1)
                continue
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


def token_alert(cursor: Cursor, problem: str) -> Cursor:
    """Put the token's trouble in the source's error as an ALERT; log once per incident."""
    if cursor.source not in ALERTING:
        ALERTING.add(cursor.source)
        log.error("source %s: ALERT: %s", cursor.source, problem)
    cursor.last_error = f"{ALERT_PREFIX}: {problem}"[:1000]
    return cursor
