"""Maildir in and out: nothing moves before the ack; one file per Message-ID."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import ConnectorError, OutboundMail
from connectors.maildir import MaildirOutbox, MaildirSource, ensure_maildir


def test_source_reads_new_in_order_and_acks_idempotently(tmp_path: Path) -> None:
    ensure_maildir(tmp_path)
    for name in ("200.b:2,", "100.a", ".hidden"):
        (tmp_path / "new" / name).write_bytes(name.encode())
    source = MaildirSource("in", tmp_path)
    fetched = list(source.fetch(None))
    assert [m.key for m in fetched] == ["100.a", "200.b"]
    assert list(source.fetch(None)) == fetched  # fetching changes nothing
    source.ack(fetched[0])
    source.ack(fetched[0])
    assert sorted(p.name for p in (tmp_path / "cur").iterdir()) == ["100.a:2,"]
    assert [m.key for m in source.fetch(None)] == ["200.b"]


def test_source_without_maildir_is_a_permanent_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as info:
        list(MaildirSource("in", tmp_path / "missing").fetch(None))
    assert info.value.permanent


def test_outbox_writes_once_per_message_id(tmp_path: Path) -> None:
    outbox = MaildirOutbox("out", tmp_path / "out")
    mail = OutboundMail("r1@helpdeskd.invalid", "us@x", ("a@x",), b"Subject: hi\r\n\r\nx\r\n")
    assert not outbox.was_sent(mail.message_id)
    assert outbox.send(mail).startswith("250")
    outbox.send(mail)
    files = list((tmp_path / "out" / "new").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == mail.raw
    assert outbox.was_sent(mail.message_id)
    files[0].rename(tmp_path / "out" / "cur" / (files[0].name + ":2,S"))  # a reader moved it
    assert outbox.was_sent(mail.message_id)
    assert list((tmp_path / "out" / "tmp").iterdir()) == []
