"""parallel: a backlog parsed in worker processes gives what the main process would, and a
worker that dies costs nothing but the speed."""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from connectors.maildir import MaildirSource
from daemon.app import Services
from daemon.cli.backfill import run_backfill
from daemon.mail.message import parse_bytes
from daemon.mail.pdftext import PdfLimits
from daemon.parse_pool import ParsePool
from daemon.pipeline import run_threading
from daemon.store.engine import session_scope
from daemon.store.ingest import ingest_many
from daemon.tables import Message
from tests.daemon.test_pipeline import mail
from tests.mail.test_pdftext import mail_with
from tests.pdfs import make_pdf


def raws(count: int) -> dict[int, bytes]:
    return {
        100 + n: mail(msgid=f"p{n}@example.org", subject=f"Order {n}", sender=f"c{n}@shop.test")
        for n in range(count)
    }


def test_workers_parse_as_the_main_process_does() -> None:
    batch = raws(23)  # three tasks, the last one short
    with ParsePool(1) as pool:
        got = pool.submit(batch).result()
    assert got == {pk: parse_bytes(raw) for pk, raw in batch.items()}


def test_no_processes_means_nothing_ahead() -> None:
    with ParsePool(0) as pool:
        assert pool.submit(raws(3)).result() == {}
        assert pool.executor is None


def test_a_dead_worker_leaves_the_batch_to_the_main_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ParsePool(1) as pool:
        assert pool.submit(raws(1)).result()  # the worker is up
        assert pool.executor is not None
        for pid in list(pool.executor._processes):  # the pids are only there
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, "helpdeskd.parallel"):
            first = pool.submit(raws(2)).result()
            second = pool.submit(raws(2)).result()
    assert first == {} and second == {}
    assert "parsing" in caplog.text and "in-process" in caplog.text


def test_the_parse_step_takes_the_results_handed_over(services: Services) -> None:
    from connectors.base import FetchedMail

    with session_scope(services.engine) as session:
        ingested = ingest_many(session, "inbox", [FetchedMail("k1", mail())])
    pk = ingested[0].message_pk
    assert pk is not None
    ahead = {pk: replace(parse_bytes(mail()), subject="parsed in a worker")}
    run_threading(services, [pk], "test", ahead)
    with Session(services.engine) as session:
        row = session.get(Message, pk)
    assert row is not None and row.subject == "parsed in a worker" and row.state == "screened"


def test_a_backfill_with_workers_records_and_screens_everything(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = tmp_path / "backlog"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True)
    batch = raws(120)  # three chunks: the last one is screened after the loop
    for pk, raw in batch.items():
        (inbox / "new" / f"{pk}.eml").write_bytes(raw)
    assert services.settings.pipeline.parse_processes == 1
    with caplog.at_level(logging.WARNING, "helpdeskd.parallel"):
        report = run_backfill(services, MaildirSource("backlog", inbox))
    assert "in-process" not in caplog.text  # the workers parsed it, not the fallback
    assert (report.fetched, report.screened, report.error) == (120, 120, None)
    with Session(services.engine) as session:
        rows = session.exec(select(Message).order_by(col(Message.id))).all()
    assert {r.state for r in rows} == {"screened"}
    assert sorted(r.subject or "" for r in rows) == sorted(f"Order {n}" for n in range(120))


def test_workers_read_pdf_text_within_the_pools_limits() -> None:
    raw = mail_with((("a.pdf", "application/pdf", make_pdf(["one", "two", "three"])),))
    limits = PdfLimits(max_pages=1)
    with ParsePool(1, (), limits) as pool:
        [got] = pool.submit({1: raw}).result().values()
    assert got == parse_bytes(raw, pdf=limits)
    assert got.attachments[0].text == "one"
    assert "attachment 'a.pdf': PDF text cut: 1 of 3 pages read" in got.defects
