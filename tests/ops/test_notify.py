"""sd_notify and the watchdog: pings arrive while the daemon makes progress, stop when it wedges.

A unix datagram socket bound in the test stands in for systemd's $NOTIFY_SOCKET.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import daemon.scheduler
from daemon.app import Services, build_services
from daemon.config import MaildirSource
from daemon.cycle import poll_all
from daemon.notify import Progress, Watchdog, notify, watchdog_seconds
from daemon.scheduler import run_forever, status_line
from tests.conftest import make_settings


class FakeSystemd:
    """The notify socket: a thread stamps every datagram with the time it arrived."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self.closed = threading.Event()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        while not self.closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def drain(self) -> list[str]:
        time.sleep(0.1)  # what was sent has arrived
        return [text for _, text in self.messages]

    def pings_since(self, since: float) -> int:
        self.drain()
        return sum("WATCHDOG=1" in text for at, text in self.messages if at >= since)

    def close(self) -> None:
        self.closed.set()
        self.reader.join()
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # WatchdogSec=0.4s: a ping every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield fake
    fake.close()


def test_notify_sends_one_datagram(systemd: FakeSystemd) -> None:
    assert notify("READY=1")
    assert systemd.drain() == ["READY=1"]
    assert watchdog_seconds() == 0.4


def test_notify_outside_systemd_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_watchdog_for_another_pid_is_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_seconds() is None


def test_a_job_stuck_past_its_budget_stops_the_pings(systemd: FakeSystemd) -> None:
    progress = Progress(job_budget=0.5, idle_budget=60)
    stop = threading.Event()
    Watchdog(progress, 0.05, lambda: "backlog 0", stop).start()
    try:
        progress.started("poll")  # a hung IMAP read: it never finishes
        healthy = time.monotonic()
        time.sleep(0.3)
        assert systemd.pings_since(healthy) >= 3
        time.sleep(0.5)  # now past its budget
        wedged = time.monotonic()
        time.sleep(0.4)
        assert systemd.pings_since(wedged) == 0
        assert any("STATUS=stuck: job poll made no progress" in m for m in systemd.drain())
        progress.finished("poll")  # it came back: alive again
        recovered = time.monotonic()
        time.sleep(0.3)
        assert systemd.pings_since(recovered) >= 3
    finally:
        stop.set()


def test_progress_within_a_job_keeps_it_alive() -> None:
    progress = Progress(job_budget=0.2, idle_budget=60)
    progress.started("pipeline")
    for _ in range(4):
        time.sleep(0.1)
        progress.beat("pipeline")  # a stage finished on a message
    assert progress.stuck() is None
    time.sleep(0.3)
    assert progress.stuck() == "job pipeline made no progress for 0 s"


def test_a_scheduler_that_starts_nothing_is_stuck() -> None:
    progress = Progress(job_budget=60, idle_budget=0.1)
    time.sleep(0.2)
    assert progress.stuck() == "the scheduler started no job for 0 s"


def test_run_pings_while_healthy_and_stops_when_the_pipeline_wedges(
    tmp_path: Path, systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real scheduler: READY=1 with a STATUS line, pings, then a pipeline job that blocks
    (a stage hung outside any deadline) and no more pings; STOPPING=1 at the end."""
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True)
    settings = make_settings(
        tmp_path, systemd={"watchdog_job_seconds": 1}, pipeline={"poll_seconds": 1}
    )
    wedge, release = threading.Event(), threading.Event()
    calls: list[float] = []

    def pipeline(_services: Services) -> int:
        calls.append(time.monotonic())
        if wedge.is_set():
            release.wait(30)
        return 0

    monkeypatch.setattr(daemon.scheduler, "process_pending", pipeline)
    stop = threading.Event()
    seen: dict[str, int] = {}

    def drive() -> None:
        deadline = time.monotonic() + 20
        while not any(m.startswith("READY=1") for m in systemd.drain()):
            assert time.monotonic() < deadline, "no READY=1"
        time.sleep(1.2)
        seen["healthy"] = systemd.pings_since(0)
        wedge.set()  # the next pipeline run blocks
        time.sleep(2.5)  # > the 1 s budget + the pipeline interval
        quiet_from = time.monotonic()
        time.sleep(0.8)
        seen["wedged"] = systemd.pings_since(quiet_from)
        stop.set()
        release.set()

    threading.Thread(target=drive, daemon=True).start()
    services = build_services(settings)
    try:
        run_forever(services, stop)  # in the main thread: it installs signal handlers
    finally:
        services.close()
    messages = systemd.drain()
    assert messages[0].startswith("READY=1\nSTATUS=last poll")
    assert seen["healthy"] >= 3, messages
    assert seen["wedged"] == 0, messages
    assert any("STATUS=stuck: job pipeline made no progress" in m for m in messages)
    assert messages[-1].startswith("STOPPING=1")


def test_status_names_the_backlog_and_the_failing_sources(services: Services) -> None:
    """What `systemctl status` shows when a mailbox is down and mail waits."""
    source = services.settings.sources[0]
    assert isinstance(source, MaildirSource)
    (source.path / "new" / "1.eml").write_bytes(
        b"From: ann@example.com\r\nSubject: hi\r\nMessage-ID: <s1@x>\r\n\r\nhello\r\n"
    )
    poll_all(services)  # fetched, not processed yet: backlog 1
    line = status_line(services)
    assert line.startswith("last poll 20") and line.endswith("; backlog 1; failing: none"), line
    (source.path / "new").rename(source.path / "gone")  # the mailbox vanished
    poll_all(services)
    assert status_line(services).endswith("; backlog 1; failing: inbox")


def test_a_long_index_build_is_progress_not_a_wedged_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index job reports each article written: a build longer than the job budget keeps
    the watchdog fed, where a job that writes nothing would not."""
    from collections.abc import Iterator as Articles

    import daemon.knowledge.index as index
    from daemon.config import KnowledgeSettings
    from daemon.knowledge.sources import Article

    progress = Progress(job_budget=0.3, idle_budget=60)
    monkeypatch.setattr(index, "PROGRESS", progress)
    progress.started(index.INDEX_JOB)
    verdicts: list[str | None] = []

    def slow_articles() -> Articles[Article]:
        for n in range(8):
            time.sleep(0.1)  # 0.8 s in all: more than the budget
            verdicts.append(progress.stuck())
            yield Article(f"a{n}", "faq", f"Article {n}", "Returns within 30 days.", f"/kb/{n}.md")

    assert index.build_generation(tmp_path, slow_articles(), KnowledgeSettings()) == 8
    assert verdicts == [None] * 8
    time.sleep(0.4)
    assert progress.stuck() == "job index made no progress for 0 s"
