"""Between polls: IDLE on every IMAP mailbox that allows it.

Decides when the long-running mode reads a mailbox early. Each IMAP source with `idle = true`
gets a thread with its own connection waiting in IDLE; DONE and IDLE again every `idle_seconds`
(servers cut IDLE at 29 minutes). New mail, or getting the connection back after a failure (mail
may have come meanwhile), asks the scheduler to run the poll job now; the poll itself stays the
one place mail is read, so two readers never race over one mailbox. A lost connection is retried
after a capped exponential backoff with jitter. A server without IDLE leaves that mailbox to the
schedule.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from connectors.base import ConnectorError
from connectors.imap import ImapMailbox
from daemon.config import ImapSource
from daemon.kernel.stage import Runtime

log = logging.getLogger("helpdeskd.watch")

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


def backoff_delay(failures: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` failures in a row: doubling, capped, with jitter
    (between half and all of it) so many daemons do not reconnect in step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(failures, 30))
    return ceiling * (0.5 + rng() / 2)


class IdleWatcher(threading.Thread):
    """One mailbox in IDLE on its own connection; calls `on_mail(name)` when to poll."""

    def __init__(
        self,
        cfg: ImapSource,
        on_mail: Callable[[str], None],
        stop: threading.Event,
        mailbox: ImapMailbox | None = None,
    ) -> None:
        super().__init__(name=f"idle-{cfg.name}", daemon=True)
        self.cfg = cfg
        self.on_mail = on_mail
        self.stop = stop
        self.mailbox = mailbox or ImapMailbox(cfg)
        self.failures = 0

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.watch_once():
                    return
        finally:
            self.mailbox.close()

    def watch_once(self) -> bool:
        """One IDLE round; False when this mailbox cannot be watched (no IDLE)."""
        try:
            if not self.mailbox.supports_idle():
                log.info("source %s: the server offers no IDLE; polling only", self.cfg.name)
                return False
            if self.failures:
                log.info(
                    "source %s: connection back after %d failure(s)", self.cfg.name, self.failures
                )
                self.failures = 0
                self.on_mail(self.cfg.name)  # mail may have arrived while we were away
            if self.mailbox.wait_for_mail(self.cfg.idle_seconds, self.stop):
                self.on_mail(self.cfg.name)
        except ConnectorError as exc:
            self.mailbox.drop()
            delay = backoff_delay(self.failures)
            self.failures += 1
            log.warning(
                "source %s: IDLE failed (%s); reconnecting in %.1f s", self.cfg.name, exc, delay
            )
            self.stop.wait(delay)
        return True


def start_watchers(
    services: Runtime, request_poll: Callable[[str], None], stop: threading.Event
) -> list[IdleWatcher]:
    watchers = [
        IdleWatcher(cfg, request_poll, stop)
        for cfg in services.settings.sources
        if isinstance(cfg, ImapSource) and cfg.idle
    ]
    for watcher in watchers:
        watcher.start()
    return watchers
