"""Logging: one line per event, with the message or ticket id, and no personal data.

Decides what a log line may contain and how it is framed. Email addresses are shortened to
their first letter and domain (`a***@example.org`) and configured PII patterns (cards, IBANs)
masked in the message *and* in tracebacks and stack dumps, in every format; a Message-ID is
logged as `mid:` and its local part (`msgid_for_log`), never in a form that reads like an
address. `json` gives one object per line for log shippers. When stderr is the journal
(`$JOURNAL_STREAM` names stderr's device and inode, as systemd sets it) every line starts with
its syslog priority (`<3>` for ERROR, so `journalctl -p err` finds it) and carries no timestamp
of its own (journald stamps each line); a traceback's lines each carry the record's priority, so
none of them reads as INFO.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any, TextIO

from daemon.config import LoggingSettings
from daemon.llm.pii import mask_for_logs

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")

# syslog(3) priorities journald reads from a `<N>` line prefix (sd-daemon(3)).
PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald adds the time


def msgid_for_log(message_id: str | None) -> str:
    """A Message-ID as a log line shows it: `mid:` and its local part only, so the masking
    of addresses cannot turn it into something that reads like one (`h***@example.com`)."""
    if not message_id:
        return "mid:(none)"
    local = message_id.strip().strip("<>").rsplit("@", 1)[0]
    return f"mid:{local[:60]}"


def redact(text: str) -> str:
    # Configured PII patterns (cards, IBANs, …: [pii] in the config) are masked too.
    return mask_for_logs(EMAIL.sub(r"\1***@\2", text))


def priority_of(levelno: int) -> int:
    """The syslog priority of a logging level (levels between two take the more severe)."""
    return next((p for level, p in sorted(PRIORITY.items()) if levelno <= level), 2)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class TextFormatter(logging.Formatter):
    """The text format; tracebacks and stack dumps masked like the message."""

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class JournalFormatter(TextFormatter):
    """Text for journald: each line prefixed with the record's `<priority>`, no timestamp."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority_of(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


class JsonFormatter(logging.Formatter):
    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("message_pk", "ticket_id", "source"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = redact(self.formatStack(record.stack_info))
        line = json.dumps(data, ensure_ascii=False)
        return f"<{priority_of(record.levelno)}>{line}" if self.journal else line


def stderr_is_journal(stream: TextIO | None = None) -> bool:
    """True when `stream` (stderr) is the journal stream systemd connected
    ($JOURNAL_STREAM="dev:ino"; a child whose stderr was redirected elsewhere inherits the
    variable, hence the check)."""
    stream = stream or sys.stderr
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's buffer, a closed stream)
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


def make_formatter(fmt: str, journal: bool) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(journal=journal)
    return JournalFormatter() if journal else TextFormatter(TEXT_FORMAT)


def setup_logging(cfg: LoggingSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(make_formatter(cfg.format, stderr_is_journal(sys.stderr)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.level)
    for noisy in ("alembic", "httpx", "httpcore", "apscheduler.executors", "imapclient"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def log_crash(command: str) -> None:
    """Log the exception being handled as a crash of `command`, traceback masked; sets up the
    default (text) logging first when the crash came before the settings were loaded."""
    if not logging.getLogger().handlers:
        setup_logging(LoggingSettings())
    logging.getLogger("helpdeskd").critical(
        "%s crashed (exit 70; systemd restarts the daemon)", command, exc_info=True
    )
