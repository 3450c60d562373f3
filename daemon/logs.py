"""Logging: one line per event, with the message or ticket id, and no personal data.

Decides what a log line may contain. Email addresses are shortened to their first letter and
domain (`a***@example.org`) before any handler sees them; a Message-ID is logged as `mid:` and
its local part (`msgid_for_log`), never in a form that reads like an address; `json` format
gives one object per line for journald and log shippers.
"""

from __future__ import annotations

import json
import logging
import re
import sys

from daemon.config import LoggingSettings
from daemon.llm.pii import mask_for_logs

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


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


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
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
        return json.dumps(data, ensure_ascii=False)


def setup_logging(cfg: LoggingSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if cfg.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.level)
    for noisy in ("alembic", "httpx", "httpcore", "apscheduler.executors", "imapclient"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
