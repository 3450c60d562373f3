"""`helpdeskd run` as a long-running process: picks up new mail, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from daemon.store.engine import open_engine
from daemon.tables import Message

MAIL = (
    b"From: Alice <alice@example.org>\r\nTo: support@example.com\r\n"
    b"Subject: Where is order 55555?\r\nMessage-ID: <s1@example.org>\r\n\r\n"
    b"My order 55555 has not arrived.\r\n"
)


def wait_for(predicate: object, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_run_processes_new_mail_and_stops_on_sigterm(tmp_path: Path) -> None:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    config = tmp_path / "helpdeskd.toml"
    config.write_text('[pipeline]\npoll_seconds = 1\n[outbox]\nkind = "maildir"\npath = "outbox"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "HELPDESKD_LOGGING__LEVEL": "INFO"},
    )
    try:
        (tmp_path / "mail" / "inbox" / "new" / "1.eml").write_bytes(MAIL)
        engine = open_engine(f"sqlite:///{tmp_path / 'state' / 'helpdeskd.db'}", migrate=False)

        def done() -> bool:
            if not (tmp_path / "state" / "helpdeskd.db").exists():
                return False
            try:
                with Session(engine) as session:
                    row = session.exec(select(Message)).first()
            except OperationalError:  # the daemon is still creating the tables
                return False
            return row is not None and row.state == "awaiting_approval"

        assert wait_for(done), "the daemon did not process the mail"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopping" in output
