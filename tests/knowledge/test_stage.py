"""The retrieve stage in the pipeline: a real mail, a real index, the draft cites passages."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from daemon.app import build_services
from daemon.cycle import run_cycle
from daemon.knowledge import rebuild_index
from daemon.tables import Draft, Message
from tests.conftest import inbox, make_settings

MAIL = (
    b"From: Dana <dana@example.org>\r\nTo: support@example.com\r\n"
    b"Subject: Re: refund for a damaged parcel\r\nMessage-ID: <r1@example.org>\r\n"
    b"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n"
    b"Hi,\r\n\r\nthe parcel arrived damaged. Can I get a refund or a replacement?\r\n\r\n"
    b"Thanks,\r\nDana\r\n\r\nOn Wed, 25 Nov 2026, Support <support@example.com> wrote:\r\n"
    b"> Our newsletter: new hiking boots and tent poles are in stock.\r\n"
)


def test_the_draft_cites_the_passages_the_mail_is_about(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "policies").mkdir(parents=True)
    (kb / "policies" / "refunds.md").write_text(
        "# Refund policy\n\nRefunds within 30 days.\n\n## Damaged items\n\n"
        "A parcel that arrived damaged gets a free replacement or a refund.\n"
    )
    (kb / "faq").mkdir()
    (kb / "faq" / "gear.md").write_text(
        "# Hiking boots and tent poles\n\nOur hiking boots and tent poles are in stock.\n"
    )
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    settings = make_settings(tmp_path, knowledge={"sources": [{"path": str(kb)}]})
    assert rebuild_index(settings) == 3
    services = build_services(settings)
    (inbox(settings) / "new" / "r1").write_bytes(MAIL)
    run_cycle(services)
    with Session(services.engine) as session:
        message = session.exec(select(Message)).one()
        draft = session.exec(select(Draft).order_by(col(Draft.id))).one()
    services.close()
    found = [p["id"] for p in message.passages or []]
    assert found[0] == "kb/policies/refunds#damaged-items"
    assert "kb/faq/gear" not in found  # the quoted newsletter is not searched
    assert draft.citations[0] == "kb/policies/refunds#damaged-items"
