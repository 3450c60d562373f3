"""Log lines under journald and elsewhere: priorities, one timestamp, PII masked everywhere."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.cli.common import print_problems
from daemon.config import LoggingSettings
from daemon.logs import setup_logging, stderr_is_journal

CARD = "4111111111111111"


@pytest.fixture
def stderr_file(tmp_path: Path) -> Iterator[Path]:
    """A real file for stderr (it has a device and inode, as the journal's socket)."""
    yield tmp_path / "stderr.log"
    logging.getLogger().handlers.clear()


def use_stderr(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # in the test itself: pytest's capture sets sys.stderr again between setup and call
    stream = path.open("w", encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", stream)


def as_journal(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_stderr(path, monkeypatch)
    info = path.stat()
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")


def crash_and_log(path: Path) -> str:
    log = logging.getLogger("helpdeskd.pipeline")
    log.info("message 7 received")
    try:
        raise ValueError(f"order of bob.jones@example.com, card {CARD}")
    except ValueError:
        log.exception("stage draft failed on message 7")
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_journal_lines_carry_their_priority_and_no_timestamp(
    stderr_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_journal(stderr_file, monkeypatch)
    assert stderr_is_journal(sys.stderr)
    setup_logging(LoggingSettings(format="text"))
    lines = crash_and_log(stderr_file).splitlines()
    assert lines[0] == "<6>INFO helpdeskd.pipeline: message 7 received"
    assert lines[1] == "<3>ERROR helpdeskd.pipeline: stage draft failed on message 7"
    # every traceback line is an error too: `journalctl -p err` shows the whole traceback
    assert all(line.startswith("<3>") for line in lines[1:]), lines
    assert lines[-1] == "<3>ValueError: order of b***@example.com, card [card]"


def test_json_under_the_journal_is_prefixed_and_masked(
    stderr_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_journal(stderr_file, monkeypatch)
    setup_logging(LoggingSettings(format="json"))
    lines = crash_and_log(stderr_file).splitlines()
    assert [line[:3] for line in lines] == ["<6>", "<3>"]
    error = json.loads(lines[1][3:])
    assert "b***@example.com, card [card]" in error["exception"]


def test_outside_the_journal_text_has_its_timestamp_and_masks_tracebacks(
    stderr_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_stderr(stderr_file, monkeypatch)
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # another stream (stderr redirected elsewhere)
    assert not stderr_is_journal(sys.stderr)
    setup_logging(LoggingSettings(format="text"))
    text = crash_and_log(stderr_file)
    first = text.splitlines()[0]
    assert first[:4].isdigit() and first.endswith("INFO helpdeskd.pipeline: message 7 received")
    assert "<6>" not in text
    assert "Traceback (most recent call last)" in text
    assert CARD not in text and "bob.jones" not in text
    assert "ValueError: order of b***@example.com, card [card]" in text


def test_json_masks_tracebacks(stderr_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_stderr(stderr_file, monkeypatch)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    setup_logging(LoggingSettings(format="json"))
    text = crash_and_log(stderr_file)
    assert CARD not in text and "bob.jones" not in text
    assert json.loads(text.splitlines()[1])["level"] == "ERROR"


def test_configuration_problems_are_errors_in_the_journal(
    stderr_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_journal(stderr_file, monkeypatch)
    print_problems([("pipeline.workers", "must be at least 1")])
    sys.stderr.flush()
    assert stderr_file.read_text().splitlines() == [
        "<3>configuration has 1 problem(s):",
        "<3>  pipeline.workers: must be at least 1",
    ]
