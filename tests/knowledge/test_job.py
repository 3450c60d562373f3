"""The incremental index job in the long-running mode, on a real (paused) APScheduler."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from daemon.app import build_services
from daemon.knowledge.index import write_lock
from daemon.knowledge.job import add_index_job, run_index_job
from daemon.scheduler import EXTRA_JOBS
from tests.conftest import make_settings


def test_the_job_is_registered_with_its_interval(tmp_path: Path) -> None:
    assert add_index_job in EXTRA_JOBS
    settings = make_settings(tmp_path, knowledge={"update_seconds": 120})
    services = build_services(settings)
    scheduler = BackgroundScheduler()
    add_index_job(services, scheduler)
    (job,) = scheduler.get_jobs()
    assert (job.id, job.trigger.interval.total_seconds()) == ("index", 120)
    services.close()


def test_zero_turns_the_job_off(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path, knowledge={"update_seconds": 0}))
    scheduler = BackgroundScheduler()
    add_index_job(services, scheduler)
    assert scheduler.get_jobs() == []
    services.close()


def test_a_run_indexes_and_a_busy_index_skips_its_turn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "hours.md").write_text("# Opening hours\n\nWe answer from 9 to 5.\n")
    services = build_services(make_settings(tmp_path, knowledge={"sources": [{"path": str(kb)}]}))
    with write_lock(services.settings.index_dir), caplog.at_level(logging.INFO, "helpdeskd"):
        run_index_job(services)
    assert "another process is writing the index" in caplog.text
    assert services.retriever.search("opening hours", (), 3) == []
    run_index_job(services)
    assert [p.id for p in services.retriever.search("opening hours", (), 3)] == ["kb/hours"]
    services.close()
