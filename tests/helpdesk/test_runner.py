"""The long-running mode's helpdesk job: polled and pushed on its own schedule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from daemon.app import build_services
from daemon.helpdesk_sync import add_helpdesk_jobs
from daemon.pipeline import process_pending
from tests.conftest import make_settings
from tests.helpdesk.agents import zendesk_desk


def test_the_helpdesk_job_reads_and_writes_on_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = zendesk_desk(poll_seconds=1)
    for name, value in desk.env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True)
    services = build_services(make_settings(tmp_path, helpdesks=[desk.settings]))
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    try:
        ticket = desk.customer_email("Parcel 3", "Where is order 3?")
        add_helpdesk_jobs(services, scheduler)
        assert [j.id for j in scheduler.get_jobs()] == ["helpdesk:zd"]
        scheduler.start()
        deadline = time.monotonic() + 20
        while not desk.notes(ticket) and time.monotonic() < deadline:
            process_pending(services)  # the pipeline job's part
            time.sleep(0.2)
        assert any("[helpdeskd-draft-" in n for n in desk.notes(ticket))
    finally:
        scheduler.shutdown(wait=True)
        services.close()
        desk.close()
