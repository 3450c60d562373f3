"""systemd notification and watchdog: what the service manager is told, and when.

Decides when the daemon may say it is alive. `notify` sends one sd_notify(3) datagram
(`READY=1`, `STOPPING=1`, `STATUS=…`, `WATCHDOG=1`) to `$NOTIFY_SOCKET`, a no-op outside a
`Type=notify` unit. `Progress` records the scheduler's jobs starting, finishing and making
progress (a pipeline stage finished); the `Watchdog` thread pings every half `WatchdogSec=`
only while no job has run longer than its budget without progress and the scheduler still
starts jobs — so a hung IMAP read or a wedged stage stops the pings and systemd restarts the
daemon. The protocol is one datagram on a unix socket, written here (~15 lines) rather than
taken from `sdnotify` (last released 2017, swallows every error) or `systemd-python` (a C
extension that needs libsystemd headers to build).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger("helpdeskd.notify")


def notify(state: str) -> bool:
    """Send `state` to systemd; False outside a notify unit or when the socket is gone."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("could not notify systemd at %s: %s", address.lstrip("\0"), exc)
        return False
    return True


def watchdog_seconds() -> float | None:
    """systemd's WatchdogSec= for this process ($WATCHDOG_USEC), None when not watched."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000


class Progress:
    """Which jobs run and since when they last made progress (thread-safe)."""

    def __init__(self, job_budget: float, idle_budget: float) -> None:
        self.job_budget = job_budget
        self.idle_budget = idle_budget
        self.running: dict[str, float] = {}
        self.last_start = time.monotonic()
        self.last_finish: dict[str, float] = {}
        self._lock = threading.Lock()

    def reset(self, job_budget: float, idle_budget: float) -> None:
        with self._lock:
            self.job_budget, self.idle_budget = job_budget, idle_budget
            self.running.clear()
            self.last_start = time.monotonic()

    def started(self, job: str) -> None:
        with self._lock:
            self.last_start = self.running[job] = time.monotonic()

    def finished(self, job: str) -> None:
        with self._lock:
            self.running.pop(job, None)
            self.last_finish[job] = time.monotonic()

    def beat(self, job: str) -> None:
        """The job made progress (e.g. finished a stage on a message): its budget starts over."""
        with self._lock:
            if job in self.running:
                self.running[job] = time.monotonic()

    def stuck(self) -> str | None:
        """Why the daemon is not making progress, or None while it is."""
        now = time.monotonic()
        with self._lock:
            for job, since in sorted(self.running.items()):
                if now - since > self.job_budget:
                    return f"job {job} made no progress for {now - since:.0f} s"
            if now - self.last_start > self.idle_budget:
                return f"the scheduler started no job for {now - self.last_start:.0f} s"
        return None


PROGRESS = Progress(job_budget=float("inf"), idle_budget=float("inf"))
"""The daemon's one record of progress (process-wide, like the metrics): the scheduler sets its
budgets and reports its jobs; the pipeline beats after each stage."""


class Watchdog(threading.Thread):
    """Pings systemd every `interval` seconds while `progress` is not stuck; sends STATUS=."""

    def __init__(
        self,
        progress: Progress,
        interval: float,
        status: Callable[[], str],
        stop: threading.Event,
        pings: bool = True,
    ) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.progress, self.interval, self.status, self.stop = progress, interval, status, stop
        self.pings = pings
        self.reported = False

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        reason = self.progress.stuck()
        if reason is None:
            self.reported = False
            notify(("WATCHDOG=1\n" if self.pings else "") + "STATUS=" + self.safe_status())
            return
        if not self.reported:  # one ERROR line per incident, not one per tick
            log.error("watchdog: %s; no longer telling systemd we are alive", reason)
            self.reported = True
        notify(f"STATUS=stuck: {reason}")

    def safe_status(self) -> str:
        try:
            return self.status()
        except Exception as exc:  # the store is down: say so, still alive
            return f"status unavailable: {type(exc).__name__}"
