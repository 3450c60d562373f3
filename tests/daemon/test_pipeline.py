"""The flow end to end on Maildirs: each outcome, threading, drafts, the outbox, quarantine."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from daemon.app import Services, build_services
from daemon.approvals import ApprovalError, approve, reject
from daemon.config import PolicySettings, Settings
from daemon.cycle import run_cycle
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.records import DraftedReply, Passage
from daemon.tables import (
    AuditEvent,
    Draft,
    Escalation,
    Message,
    MessageContent,
    Outbox,
    Quarantine,
    Ticket,
)
from tests.conftest import inbox, make_settings, outbox_dir
from tests.factories import raw_mail


def mail(
    sender: str = "Alice Buyer <alice@example.org>",
    subject: str = "Where is my order 12345?",
    body: str = "Hi, my order 12345 has not arrived yet. Can you check?\n\nAlice",
    msgid: str = "a1@example.org",
    **headers: str,
) -> bytes:
    return raw_mail(
        sender=sender,
        to="support@example.com",
        subject=subject,
        message_id=f"<{msgid}>",
        date="Mon, 23 Nov 2026 10:00:00 +0000",
        headers=[f"{k.replace('_', '-')}: {v}" for k, v in headers.items()],
        body=body,
    )


def deliver(settings: Settings, name: str, raw: bytes) -> None:
    (inbox(settings) / "new" / name).write_bytes(raw)


def states(services: Services) -> dict[str, tuple[str, str | None]]:
    with Session(services.engine) as session:
        rows = session.exec(select(Message).order_by(col(Message.id))).all()
        return {r.source_key: (r.state, r.reason) for r in rows}


def outbox_files(settings: Settings) -> list[bytes]:
    new = outbox_dir(settings) / "new"
    return [p.read_bytes() for p in sorted(new.iterdir())] if new.is_dir() else []


class ConfidentDrafter:
    """Stands in for a model that answers well: cites the first passage, confidence 0.95."""

    name = "confident"

    def draft(self, item: Item, ctx: Context) -> DraftedReply:
        cites = tuple(p.id for p in item.passages[:1])
        return DraftedReply(
            reply="Your order ships tomorrow.",
            confidence=0.95,
            citations=cites,
            needs_human=False,
            reason="",
            drafter=self.name,
        )


class OnePassage:
    def search(self, query: str, namespaces: Any, k: int) -> list[Passage]:
        return [
            Passage(
                id="shipping-1#0",
                title="Shipping times",
                namespace="shipping",
                text="Orders ship within 2 days.",
                score=3.0,
            )
        ]

    def close(self) -> None:
        return None


def test_outcomes_of_one_cycle(settings: Settings, services: Services) -> None:
    deliver(settings, "1-order", mail())
    deliver(
        settings,
        "2-gdpr",
        mail(
            sender="bob@example.org",
            subject="Delete my personal data",
            body="Under GDPR please delete my personal data.",
            msgid="b1@example.org",
        ),
    )
    deliver(
        settings,
        "3-ooo",
        mail(
            sender="carol@example.org",
            subject="Out of office",
            msgid="c1@example.org",
            Auto_Submitted="auto-replied",
        ),
    )
    deliver(
        settings,
        "4-human",
        mail(
            sender="dan@example.org",
            subject="Help",
            body="I want to speak to a human please.",
            msgid="d1@example.org",
        ),
    )
    report = run_cycle(services)
    assert report.polls[0].fetched == 4 and report.processed == 4
    result = states(services)
    assert result["1-order"][0] == "awaiting_approval"
    assert result["2-gdpr"] == ("escalated", "risk topic: data_privacy")
    assert result["3-ooo"][0] == "ignored" and "auto" in (result["3-ooo"][1] or "")
    assert result["4-human"][0] == "escalated"
    assert sorted(p.name for p in (inbox(settings) / "cur").iterdir()) == [
        "1-order:2,",
        "2-gdpr:2,",
        "3-ooo:2,",
        "4-human:2,",
    ]
    assert outbox_files(settings) == []  # nothing is sent without an agent or a policy
    with Session(services.engine) as session:
        tickets = session.exec(select(Ticket)).all()
        assert len(tickets) == 3  # the auto-reply opened no ticket
        escalations = session.exec(select(Escalation)).all()
        assert {e.reason for e in escalations} == {
            "risk topic: data_privacy",
            "policy 'escalate' always escalates (human_request)",
        }
        summary = next(e.summary for e in escalations if "data_privacy" in e.reason)
        assert "bob@example.org" in summary and "delete my personal data" in summary.lower()


def test_second_cycle_does_nothing_again(settings: Settings, services: Services) -> None:
    deliver(settings, "1-order", mail())
    run_cycle(services)
    before = states(services)
    report = run_cycle(services)
    assert report.polls[0].fetched == 0 and report.processed == 0
    assert states(services) == before


def test_reply_joins_its_ticket_and_tag_needs_the_same_customer(
    settings: Settings, services: Services
) -> None:
    deliver(settings, "1", mail())
    run_cycle(services)
    deliver(
        settings,
        "2",
        mail(
            subject="Re: Where is my order 12345?",
            msgid="a2@example.org",
            In_Reply_To="<a1@example.org>",
            References="<a1@example.org>",
        ),
    )
    deliver(settings, "3", mail(subject="Still waiting [#1]", msgid="a3@example.org"))
    deliver(
        settings,
        "4",
        mail(sender="mallory@evil.example", subject="Re: hi [#1]", msgid="m1@evil.example"),
    )
    run_cycle(services)
    with Session(services.engine) as session:
        by_key = {m.source_key: m.ticket_id for m in session.exec(select(Message))}
    assert by_key["1"] == by_key["2"] == by_key["3"]
    assert by_key["4"] != by_key["1"]


def test_approve_with_edits_sends_once(settings: Settings, services: Services) -> None:
    deliver(settings, "1", mail())
    run_cycle(services)
    with Session(services.engine) as session:
        draft = session.exec(select(Draft)).one()
    assert draft.status == "pending" and draft.id is not None
    approve(services, draft.id, "agent-ann", "Hello Alice,\n\nIt ships today.\n")
    with pytest.raises(ApprovalError, match="not pending"):
        approve(services, draft.id, "agent-ann")
    run_cycle(services)
    run_cycle(services)
    sent = outbox_files(settings)
    assert len(sent) == 1
    reply = email.message_from_bytes(sent[0], policy=email.policy.default)
    assert reply["In-Reply-To"] == "<a1@example.org>"
    assert "<a1@example.org>" in reply["References"]
    assert reply["Subject"] == "Re: Where is my order 12345? [#1]"
    assert reply["Auto-Submitted"] is None  # a person approved it
    assert "It ships today." in reply.get_content()
    assert states(services)["1"] == ("sent", "approved by agent-ann with edits")


def test_reject_records_the_reason(settings: Settings, services: Services) -> None:
    deliver(settings, "1", mail())
    run_cycle(services)
    with Session(services.engine) as session:
        draft_id = session.exec(select(Draft.id)).one()
    assert draft_id is not None
    with pytest.raises(ApprovalError, match="reason"):
        reject(services, draft_id, "ann", " ")
    reject(services, draft_id, "ann", "wrong order number")
    run_cycle(services)
    assert outbox_files(settings) == []
    assert states(services)["1"][0] == "rejected"
    with Session(services.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "draft_rejected")).one()
    assert event.actor == "ann" and event.detail["reason"] == "wrong order number"


def auto_send_services(tmp_path: Path) -> tuple[Settings, Services]:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    policy = PolicySettings(auto_send=True, min_confidence=0.8, require_verified_sender=False)
    settings = make_settings(
        tmp_path, policies={"standard": policy.model_dump(), "escalate": {"always_escalate": True}}
    )
    services = build_services(settings)
    return settings, replace(services, drafter=ConfidentDrafter(), retriever=OnePassage())


def test_policy_auto_send_and_reply_caps(tmp_path: Path) -> None:
    settings, services = auto_send_services(tmp_path)
    for i in range(7):
        deliver(settings, f"{i}", mail(subject=f"Order 1234{i}", msgid=f"x{i}@example.org"))
    run_cycle(services)
    result = states(services)
    sent = [k for k, (s, _) in result.items() if s == "sent"]
    capped = [k for k, (s, r) in result.items() if s != "sent" and "cap" in (r or "")]
    assert len(sent) == settings.screen.replies_per_sender_per_hour
    assert len(sent) + len(capped) == 7
    files = outbox_files(settings)
    assert len(files) == len(sent)
    first = email.message_from_bytes(files[0], policy=email.policy.default)
    assert first["Auto-Submitted"] == "auto-replied"
    services.close()


def test_broken_stage_is_quarantined_then_requeued(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.pipeline import requeue
    from daemon.stages import route

    deliver(settings, "1", mail())
    calls = {"n": 0}

    def explode(item: Item, ctx: Context) -> Item:
        calls["n"] += 1
        raise RuntimeError("router is down")

    monkeypatch.setattr(route, "run", explode)
    monkeypatch.setattr("daemon.pipeline.STEPS", _steps_with_route(explode))
    for _ in range(settings.pipeline.max_failures):
        run_cycle(services)
    assert calls["n"] == settings.pipeline.max_failures
    assert states(services)["1"][0] == "quarantined"
    with Session(services.engine) as session:
        q = session.exec(select(Quarantine)).one()
        content = session.get(MessageContent, q.message_pk)
    assert q.stage == "route" and "router is down" in q.error
    assert content is not None and content.raw == mail()  # raw bytes kept
    monkeypatch.undo()
    assert requeue(services, [q.message_pk], actor="test") == 1
    run_cycle(services)
    assert states(services)["1"][0] == "awaiting_approval"


def _steps_with_route(fn: Any) -> dict[Any, Any]:
    from daemon.pipeline import STEPS, Step

    return {
        k: (Step(s.start, s.name, (s.stages[0], fn), s.end) if s.name == "route" else s)
        for k, s in STEPS.items()
    }


def test_outbox_rows_have_unique_message_ids(tmp_path: Path) -> None:
    settings, services = auto_send_services(tmp_path)
    deliver(settings, "1", mail())
    run_cycle(services)
    with Session(services.engine) as session:
        rows = session.exec(select(Outbox)).all()
    assert len(rows) == 1 and rows[0].state == "sent"
    assert rows[0].message_id.endswith("@" + settings.mail.message_id_domain)
    services.close()


def test_customer_answer_to_our_reply_joins_the_ticket(
    settings: Settings, services: Services
) -> None:
    deliver(settings, "1", mail())
    run_cycle(services)
    with Session(services.engine) as session:
        draft_id = session.exec(select(Draft.id)).one()
    assert draft_id is not None
    approve(services, draft_id, "ann")
    run_cycle(services)
    reply = email.message_from_bytes(outbox_files(settings)[0], policy=email.policy.default)
    text = reply.get_content()
    assert text.startswith("Hello Alice,")  # the reply layout wraps the offline draft
    assert settings.reply.signature in text and settings.reply.ai_disclosure in text
    ours = str(reply["Message-ID"]).strip("<>")
    # the customer's client quotes only our Message-ID, and drops the ticket tag
    deliver(
        settings,
        "2",
        mail(
            subject="Re: your reply",
            msgid="a9@example.org",
            In_Reply_To=f"<{ours}>",
            References=f"<{ours}>",
        ),
    )
    run_cycle(services)
    with Session(services.engine) as session:
        tickets = {m.source_key: m.ticket_id for m in session.exec(select(Message))}
    assert tickets["2"] == tickets["1"]


def test_long_message_ids_stay_plain_in_threading_headers(settings: Settings) -> None:
    from daemon.mail.message import parse_bytes
    from daemon.outgoing_mail import compose_reply

    long_id = "CAF" + "x" * 120 + "@mail.gmail.example.com"
    parsed = parse_bytes(mail(msgid=long_id, References=f"<r{'y' * 90}@example.org>"))
    msg = compose_reply(
        settings, parsed, ticket_id=7, body="hi", message_id="hd.1@x.invalid", automatic=True
    )
    raw = msg.as_bytes()
    assert b"=?" not in raw.split(b"\n\n", 1)[0]  # nothing RFC 2047-encoded in the headers
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["In-Reply-To"] == f"<{long_id}>"
    assert f"<{long_id}>" in back["References"]


def test_ingest_many_matches_ingest(services: Services) -> None:
    from connectors.base import FetchedMail
    from daemon.store.engine import session_scope
    from daemon.store.ingest import ingest_many

    batch = [
        FetchedMail("a", mail(msgid="1@x"), cursor="c1"),
        FetchedMail("b", mail(msgid="2@x"), cursor="c2"),
        FetchedMail("a", mail(msgid="1@x"), cursor="c3"),
    ]
    with session_scope(services.engine) as session:
        first = ingest_many(session, "inbox", batch)
    with session_scope(services.engine) as session:
        again = ingest_many(session, "inbox", batch[:2])
    assert [r.duplicate for r in first] == [False, False, True]
    assert first[0].message_pk == first[2].message_pk is not None
    assert [r.duplicate for r in again] == [True, True]
    assert [r.message_pk for r in again] == [r.message_pk for r in first[:2]]
    with Session(services.engine) as session:
        from daemon.tables import Cursor

        cursor = session.get(Cursor, "inbox")
        events = session.exec(select(AuditEvent).where(AuditEvent.kind == "received")).all()
    assert cursor is not None and cursor.value == "c2" and cursor.fetched_total == 2
    assert len(events) == 2


def test_resync_finds_messages_recorded_under_the_old_generation(services: Services) -> None:
    """After a UIDVALIDITY change every message comes again under a new key: one with the
    bytes or the Message-ID of an older generation's message is that message, not a new one."""
    from connectors.base import FetchedMail
    from daemon.store.engine import session_scope
    from daemon.store.ingest import ingest_many

    old = [FetchedMail("7:1", mail(msgid="1@x")), FetchedMail("7:2", mail(msgid="2@x"))]
    with session_scope(services.engine) as session:
        first = ingest_many(session, "inbox", old)
    again = [
        FetchedMail("9:1", mail(msgid="1@x")),  # the same bytes
        FetchedMail("9:2", mail(msgid="2@x", Subject="re-encoded by the server")),
        FetchedMail("9:3", mail(msgid="3@x")),  # new
        # in the generation of the message with that id: a second delivery, kept
        FetchedMail("7:3", mail(msgid="1@x", Subject="same generation, same id")),
    ]
    with session_scope(services.engine) as session:
        results = ingest_many(session, "inbox", again)
    assert [r.duplicate for r in results] == [True, True, False, False]
    assert [r.message_pk for r in results[:2]] == [r.message_pk for r in first]
    assert {r.message_pk for r in results[2:]}.isdisjoint({r.message_pk for r in first})
    # another source's copy of the same bytes is not this source's message
    with session_scope(services.engine) as session:
        [elsewhere] = ingest_many(session, "other", [FetchedMail("5:1", mail(msgid="1@x"))])
    assert not elsewhere.duplicate and elsewhere.message_pk not in {r.message_pk for r in first}


def test_resync_lookup_uses_the_digest_and_message_id_indexes(services: Services) -> None:
    """The per-batch lookup of older copies must not walk all of a source's messages (which
    made every backfill batch slower than the one before)."""
    from sqlalchemy import event

    from connectors.base import FetchedMail
    from daemon.store.engine import session_scope
    from daemon.store.ingest import ingest_many

    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if "sha256 IN" in statement:
            seen.append((statement, params))

    event.listen(services.engine, "before_cursor_execute", keep)
    with session_scope(services.engine) as session:
        ingest_many(session, "inbox", [FetchedMail("7:1", mail(msgid="1@x"))])
    event.remove(services.engine, "before_cursor_execute", keep)
    [(statement, params)] = seen
    with services.engine.connect() as conn:
        plan = " ".join(
            str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        )
    assert "ix_message_sha256" in plan and "ix_message_message_id" in plan, plan
    assert "ix_message_source" not in plan, plan


def test_one_poller_per_source(store_url: str, tmp_path: Path) -> None:
    """A second process (or replica) polling the same source skips it instead of racing."""
    from daemon.cycle import poll_lock, poll_source
    from daemon.tables import Message as Row

    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    settings = make_settings(tmp_path, store={"url": store_url})
    deliver(settings, "1", mail())
    services = build_services(settings)
    try:
        source = services.sources()[0]
        with poll_lock(services, source.name) as first:
            assert first
            report = poll_source(services, source)
            assert report.skipped and report.fetched == 0
        report = poll_source(services, source)
        assert not report.skipped and report.fetched == 1
        with Session(services.engine) as session:
            assert len(session.exec(select(Row)).all()) == 1
    finally:
        services.close()
