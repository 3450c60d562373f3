"""Run a helpdeskd command and SIGKILL the process at its Nth database point (tests only).

Decides where a simulated crash lands, deterministically: the points are counted before every
SQL statement, before every COMMIT, and right after every committed session, across all
threads. So a kill falls inside a step (its transaction is lost), just before a commit, or just
after one, before what follows it (the Maildir ack of a fetched message, the outbox write of a
mail marked `sending`). Nothing in the daemon knows about this: the hooks are SQLAlchemy events
installed from outside.

    python -m tests.daemon.crash_driver KILL_AT[:WORD] run --once --config FILE

KILL_AT 0 never kills; `N:update outbox` counts only statements containing `update outbox`. At
a normal exit the driver prints `points: N` (how many points the run passed), which sizes the
draws of the crash test.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session


class KillSwitch:
    """Counts points and kills the process at point `kill_at` (0: never).

    With `word`, only SQL statements containing it count (whitespace collapsed, lower case):
    `update outbox` counts the outbox's `sending` and `sent` updates, so its second point
    falls after a mail was written to the sink and before its row says so.
    """

    def __init__(self, kill_at: int, word: str | None = None) -> None:
        self.kill_at = kill_at
        self.word = word
        self.points = 0
        self.lock = threading.Lock()

    def point(self) -> None:
        with self.lock:
            self.points += 1
            if self.points == self.kill_at:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    def on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.word is None or self.word in " ".join(statement.lower().split()):
            self.point()

    def on_commit(self, *_args: Any) -> None:
        if self.word is None:
            self.point()

    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self.on_statement)
        event.listen(Engine, "commit", self.on_commit)
        event.listen(Session, "after_commit", self.on_commit)


def main(argv: list[str]) -> None:
    count, _, word = argv[0].partition(":")
    switch = KillSwitch(int(count), word.lower() or None)
    switch.install()
    atexit.register(lambda: print(f"points: {switch.points}", flush=True))
    from daemon.cli import main as helpdeskd

    helpdeskd(argv[1:], prog_name="helpdeskd")


if __name__ == "__main__":
    main(sys.argv[1:])
