"""The store on SQLite and on a real PostgreSQL: what it promises every other module.

Each test runs once per database (`store_url`: a fresh SQLite file, then a fresh database on
the session's throwaway PostgreSQL, skipped when none can start): ingest is idempotent per
(source, key); a claim is a lease only one owner holds until it expires or its process dies;
a transition and its audit row commit or vanish together; raw bytes and JSON come back exactly;
and the whole pipeline gives the same outcomes on both databases.
"""

from __future__ import annotations

import hashlib
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from connectors.base import FetchedMail
from daemon.app import Services, build_services
from daemon.cycle import run_cycle
from daemon.pipeline import release_dead_leases
from daemon.store.audit import transition
from daemon.store.engine import open_engine, session_scope
from daemon.store.ingest import ingest, ingest_many
from daemon.store.leases import claim, owner_is_dead
from daemon.store.refs import insert_or_ignore
from daemon.tables import (
    AuditEvent,
    Cursor,
    Draft,
    Escalation,
    Message,
    MessageContent,
    MessageParse,
    MessageRef,
    State,
    Ticket,
)
from tests.conftest import make_settings
from tests.daemon.sample_mail import mailbox, write_maildir

HOUR = timedelta(hours=1)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    eng = open_engine(store_url)
    yield eng
    eng.dispose()


def fresh_engine(engine: Engine) -> Engine:
    """A second engine on the same database: reads what is committed, not a session cache."""
    return open_engine(engine.url.render_as_string(hide_password=False), migrate=False)


def add_message(engine: Engine, key: str = "k1", raw: bytes = b"Subject: x\r\n\r\nbody\r\n") -> int:
    with session_scope(engine) as session:
        result = ingest(session, "inbox", FetchedMail(key=key, raw=raw))
    assert result.message_pk is not None
    return result.message_pk


# --- SQLite specifics ----------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'state' / 'h.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert (tmp_path / "state" / "h.db-wal").exists()
    finally:
        engine.dispose()


# --- ingest --------------------------------------------------------------------------------


def test_ingest_is_idempotent_per_source_and_key(engine: Engine) -> None:
    raw = b"From: a@example.org\r\nSubject: once\r\n\r\nhello\r\n"
    with session_scope(engine) as session:
        first = ingest(session, "inbox", FetchedMail(key="1700.M1.host", raw=raw, cursor="c1"))
    with session_scope(engine) as session:  # a crash between commit and ack re-reads it
        again = ingest(session, "inbox", FetchedMail(key="1700.M1.host", raw=raw, cursor="c2"))
    with session_scope(engine) as session:
        other = ingest(session, "imap", FetchedMail(key="1700.M1.host", raw=raw))
    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert again.message_pk == first.message_pk != other.message_pk
    with session_scope(fresh_engine(engine)) as session:
        rows = session.exec(select(Message.source, Message.state)).all()
        assert sorted(rows) == [("imap", "received"), ("inbox", "received")]
        cursor = session.get(Cursor, "inbox")
        assert cursor is not None and (cursor.value, cursor.fetched_total) == ("c2", 1)
        received = session.exec(select(AuditEvent).where(AuditEvent.kind == "received")).all()
        assert len(received) == 2


def test_a_batch_is_recorded_in_arrival_order_each_raw_with_its_row(engine: Engine) -> None:
    mails = [
        FetchedMail(key=f"7:{n}", raw=f"Subject: {n}\r\n\r\n{n}\r\n".encode()) for n in range(40)
    ]
    mails.insert(20, mails[3])  # the same key twice in one fetch: recorded once
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("INSERT INTO message "):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    with session_scope(engine) as session:
        results = ingest_many(session, "inbox", mails)
    event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1  # one multi-row INSERT for the batch, not one per message
    assert [r.duplicate for r in results].count(True) == 1
    pks = [r.message_pk for r in results if not r.duplicate and r.message_pk is not None]
    assert pks == sorted(pks) and len(set(pks)) == 40  # ids follow the fetch order
    with session_scope(fresh_engine(engine)) as session:
        rows = session.exec(
            select(Message.id, Message.source_key, MessageContent.raw).join(
                MessageContent, col(MessageContent.message_pk) == Message.id
            )
        ).all()
        assert {key: raw for _pk, key, raw in rows} == {m.key: m.raw for m in mails}
        assert [key for _pk, key, _raw in sorted(rows)] == [f"7:{n}" for n in range(40)]
        audited = session.exec(
            select(AuditEvent.message_pk).where(AuditEvent.kind == "received")
        ).all()
        assert Counter(audited) == Counter(pks)


def test_database_refuses_a_second_row_for_the_same_key(engine: Engine) -> None:
    add_message(engine, "dup")
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Message(source="inbox", source_key="dup", sha256="0" * 64, size=0))


# --- claim and lease -----------------------------------------------------------------------


def test_claim_is_exclusive_until_the_lease_expires(engine: Engine) -> None:
    pk = add_message(engine)
    table = [  # (owner, lease, expected result), run in order
        ("host:1", timedelta(milliseconds=300), True),
        ("host:2", HOUR, False),  # held by host:1
        ("host:1", timedelta(milliseconds=300), True),  # the holder may renew
        ("host:2", HOUR, False),
    ]
    for owner, lease, expected in table:
        with session_scope(engine) as session:
            assert claim(session, pk, owner, lease) is expected, owner
    time.sleep(0.4)
    with session_scope(engine) as session:
        assert claim(session, pk, "host:2", HOUR) is True  # expired: anyone may take it
    with session_scope(engine) as session:
        assert claim(session, pk, "host:1", HOUR) is False
    with session_scope(fresh_engine(engine)) as session:
        row = session.get(Message, pk)
        assert row is not None and row.lease_owner == "host:2" and row.starts == 3


def test_claim_race_has_exactly_one_winner(engine: Engine) -> None:
    """Eight workers on separate connections claim the same message at the same instant."""
    pk = add_message(engine)
    barrier = threading.Barrier(8)
    results: dict[str, bool] = {}

    def contend(owner: str) -> None:
        barrier.wait()
        with session_scope(engine) as session:
            results[owner] = claim(session, pk, owner, HOUR)

    threads = [threading.Thread(target=contend, args=(f"w:{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values()) == [False] * 7 + [True]
    winner = next(o for o, won in results.items() if won)
    with session_scope(fresh_engine(engine)) as session:
        row = session.get(Message, pk)
        assert row is not None and row.lease_owner == winner


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    ("owner", "dead"),
    [
        (None, True),
        ("", True),
        ("{host}:{dead}", True),
        ("{host}:{me}", False),  # ourselves: alive by definition
        ("{host}:{parent}", False),
        ("elsewhere.example:{dead}", False),  # another machine: only expiry frees it
        ("{host}:not-a-pid", False),
    ],
)
def test_owner_is_dead(owner: str | None, dead: bool) -> None:
    import os

    values = {"host": socket.gethostname(), "dead": dead_pid(), "me": os.getpid()}
    values["parent"] = os.getppid()
    assert owner_is_dead(owner.format(**values) if owner else owner) is dead


def test_dead_owners_leases_are_released_live_ones_kept(store_url: str, tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path, store={"url": store_url}))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = socket.gethostname()
        owners = {"dead": f"{host}:{dead_pid()}", "live": f"{host}:{live.pid}"}
        pks = {name: add_message(services.engine, name) for name in owners}
        for name, owner in owners.items():
            with session_scope(services.engine) as session:
                assert claim(session, pks[name], owner, HOUR)
        assert release_dead_leases(services) == 1
        with session_scope(services.engine) as session:
            dead_row, live_row = (session.get(Message, pks[n]) for n in ("dead", "live"))
            assert dead_row is not None and dead_row.lease_owner is None
            assert live_row is not None and live_row.lease_owner == owners["live"]
            assert claim(session, pks["dead"], "host:new", HOUR) is True
    finally:
        live.kill()
        live.wait()
        services.close()


# --- transitions and the audit trail -------------------------------------------------------


def test_transition_commits_state_and_audit_row_together(engine: Engine) -> None:
    pk = add_message(engine)
    with session_scope(engine) as session:
        row = session.get(Message, pk)
        assert row is not None
        transition(session, row, State.parsed, step="parse")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        row = session.get(Message, pk)
        assert row is not None
        transition(session, row, State.screened, step="screen")
        session.flush()  # the rows reached the database, then the process fails
        raise RuntimeError("crash before commit")
    with session_scope(fresh_engine(engine)) as session:
        row = session.get(Message, pk)
        assert row is not None and row.state == State.parsed
        trail = session.exec(
            select(AuditEvent.kind, AuditEvent.from_state, AuditEvent.to_state)
            .where(AuditEvent.message_pk == pk)
            .order_by(col(AuditEvent.id))
        ).all()
    assert trail == [("received", None, "received"), ("transition", "received", "parsed")]


def test_insert_or_ignore_keeps_the_rest_of_the_transaction(engine: Engine) -> None:
    """A duplicate inside a transaction rolls back only itself (a SAVEPOINT), on both drivers."""
    with session_scope(engine) as session:
        ticket = Ticket(subject="t")
        session.add(ticket)
        session.flush()
        assert ticket.id is not None
        first = insert_or_ignore(session, MessageRef(message_id="a@x", ticket_id=ticket.id))
        dup = insert_or_ignore(session, MessageRef(message_id="a@x", ticket_id=ticket.id))
        after = insert_or_ignore(session, MessageRef(message_id="b@x", ticket_id=ticket.id))
    assert (first, dup, after) == (True, False, True)
    with session_scope(fresh_engine(engine)) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        refs = session.exec(select(MessageRef.message_id).order_by(MessageRef.message_id)).all()
        assert refs == ["a@x", "b@x"]


# --- round trips ---------------------------------------------------------------------------

RAW_CASES = [
    ("every byte value", bytes(range(256)) * 4),
    ("NUL bytes in headers and body", b"Subject: a\x00b\r\n\r\n\x00\x00body\x00\r\n"),
    ("latin-1 without a charset", b"Subject: Caf\xe9\r\n\r\nna\xefve \xff\r\n"),
    ("invalid UTF-8", b"Subject: x\r\n\r\n\xc3\x28 \xa0\xa1 \xf0\x28\x8c\xbc \xed\xa0\x80\r\n"),
    ("mixed line endings", b"A: b\nC: d\r\n\r\nx\ry\n\r\n"),
    ("empty", b""),
    ("2 MiB of noise", random.Random(7).randbytes(2 * 1024 * 1024)),
]


@pytest.mark.parametrize(("name", "raw"), RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_raw_bytes_round_trip_exactly(engine: Engine, name: str, raw: bytes) -> None:
    pk = add_message(engine, f"raw-{len(raw)}", raw)
    with session_scope(fresh_engine(engine)) as session:
        row, content = session.get(Message, pk), session.get(MessageContent, pk)
        assert row is not None and content is not None
        assert type(content.raw) is bytes and content.raw == raw
        assert (row.size, row.sha256) == (len(raw), hashlib.sha256(raw).hexdigest())


JSON_VALUE: dict[str, Any] = {
    "subject": "Grüße aus Köln — 注文 🚚",
    "text": 'line one\r\nline\ttwo\\ "quoted" \x00 NUL and \u2028 separator',
    "references": ["<a@x>", "<b@y>"],
    "from": {"name": "", "email": "ann@example.org"},
    "date": None,
    "html": False,
    "attachments": [{"size": 0, "md5": "d41d8cd98f00b204e9800998ecf8427e", "inline": True}],
    "score": 0.1 + 0.2,
    "big": 2**53,
    "nested": {"deep": [[[]], {}, [None, True, -1.5e-300]]},
}


def test_json_columns_round_trip(engine: Engine) -> None:
    pk = add_message(engine)
    with session_scope(engine) as session:
        row = session.get(Message, pk)
        assert row is not None
        session.add(MessageParse(message_pk=pk, parsed=JSON_VALUE))
        row.passages = [{"id": "faq/1#2", "score": 1.25, "text": JSON_VALUE["text"]}]
        row.decision = {"outcome": "held", "reason": "ü"}
        session.add(row)
    with session_scope(fresh_engine(engine)) as session:
        row, parse = session.get(Message, pk), session.get(MessageParse, pk)
        assert row is not None and parse is not None
        assert parse.parsed == JSON_VALUE
        assert row.passages == [{"id": "faq/1#2", "score": 1.25, "text": JSON_VALUE["text"]}]
        assert row.decision == {"outcome": "held", "reason": "ü"}


def test_nul_in_text_columns_is_stored_as_replacement_char(engine: Engine) -> None:
    """PostgreSQL text refuses NUL; mail carries it. Both databases store U+FFFD instead."""
    pk = add_message(engine, "nul", b"Subject: a\x00b\r\n\r\n")
    with session_scope(engine) as session:
        row = session.get(Message, pk)
        assert row is not None
        row.subject, row.sender = "a\x00b", "x\x00@y"
        session.add(MessageParse(message_pk=pk, parsed={"subject": "a\x00b"}))
        session.add(row)
        session.add(Ticket(subject="\x00\x00", customer_name="N\x00"))
    with session_scope(fresh_engine(engine)) as session:
        row, content = session.get(Message, pk), session.get(MessageContent, pk)
        parse = session.get(MessageParse, pk)
        ticket = session.exec(select(Ticket)).one()
        assert row is not None and (row.subject, row.sender) == ("a\ufffdb", "x\ufffd@y")
        assert content is not None and parse is not None
        assert parse.parsed == {"subject": "a\x00b"}  # JSON keeps the NUL (escaped as \u0000)
        assert content.raw == b"Subject: a\x00b\r\n\r\n"
        assert (ticket.subject, ticket.customer_name) == ("\ufffd\ufffd", "N\ufffd")


# --- the whole pipeline --------------------------------------------------------------------


def run_pipeline(store_url: str, base: Path, messages: list[tuple[str, bytes, str]]) -> Services:
    write_maildir(base / "mail" / "inbox", messages)
    services = build_services(make_settings(base, store={"url": store_url}))
    run_cycle(services)
    return services


def test_pipeline_gives_the_same_outcomes_on_every_database(store_url: str, tmp_path: Path) -> None:
    messages = mailbox(11)
    services = run_pipeline(store_url, tmp_path, messages)
    try:
        with session_scope(services.engine) as session:
            rows = session.exec(select(Message).order_by(col(Message.id))).all()
            states = {r.source_key: r.state for r in rows}
            query = select(Message.source_key, MessageContent.raw).join(MessageContent)
            raws = dict(session.exec(query).all())
            drafts = session.exec(select(Draft.message_pk)).all()
            escalations = session.exec(select(Escalation.message_pk)).all()
            reply = next(r for r in rows if r.source_key.endswith("thread-reply"))
            order = next(r for r in rows if r.source_key.endswith("-order"))
    finally:
        services.close()
    assert states == {name: state for name, _raw, state in messages}
    assert raws == {name: raw for name, raw, _state in messages}
    assert reply.ticket_id == order.ticket_id is not None
    assert len(drafts) == len(set(drafts)) == sum(s != "ignored" for s in states.values())
    assert len(escalations) == len(set(escalations)) == 2
    assert sorted((tmp_path / "mail" / "inbox" / "cur").iterdir()) != []
    assert list((tmp_path / "mail" / "inbox" / "new").iterdir()) == []


def test_json_columns_take_what_orjson_refuses() -> None:
    """orjson writes the JSON columns; a lone surrogate (a broken charset) or an integer over
    64 bits goes through the stdlib instead, and both read back."""
    from daemon.store.jsoncodec import dump_json, load_json

    for value in ({"text": "caf\udce9"}, {"n": 2**70}, JSON_VALUE, {"t": "Grüße 注文"}):
        assert load_json(dump_json(value)) == value
    assert dump_json({"t": "Grüße"}) == '{"t":"Grüße"}'  # UTF-8, not \\u escapes
