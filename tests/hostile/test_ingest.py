"""Hostile intake (issue 12, classes 1 and 8): one mail never stops intake, a failing source
shows, and what helpdeskd writes is readable by its owner only.

Every case runs the real command (`helpdeskd run --once`, in process through click) on the
embedded defaults in a temporary folder (`./state`, a Maildir at `./mail/inbox`, the outbox at
`./outbox`), with mail crafted byte by byte between good messages.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, event, text
from sqlmodel import col, select

from connectors.base import FetchedMail, OutboundMail
from connectors.maildir import MaildirOutbox
from daemon.app import build_services
from daemon.cli import main
from daemon.cycle import run_cycle
from daemon.metrics import REGISTRY
from daemon.store.engine import open_engine, session_scope
from daemon.store.ingest import ingest_many
from daemon.store.text import fit_id
from daemon.tables import AuditEvent, Message, MessageContent, Quarantine, State
from tests.conftest import make_settings
from tests.factories import raw_mail
from tests.peers.mail import Dovecot, imap_settings

ENV: dict[str, str | None] = {"COLUMNS": "200", "HELPDESKD_CONFIG": None, "STATE_DIRECTORY": None}


def mail(sender: bytes, message_id: bytes, subject: bytes = b"Where is my order?") -> bytes:
    return raw_mail(
        sender=sender,
        to="support@example.com",
        subject=subject,
        date="Mon, 07 Dec 2026 10:00:00 +0000",
        message_id=message_id,
        date_first=True,
        headers=["Content-Type: text/plain; charset=utf-8"],
        body="Hello, my order 1234 has not arrived. Can you help?",
    )


GOOD_BEFORE = mail(b"anna@customer.example", b"<good.1@customer.example>")
GOOD_AFTER = mail(b"bert@customer.example", b"<good.2@customer.example>")
LATER = mail(b"carl@customer.example", b"<good.3@customer.example>")

# case -> (raw Message-ID header value, what the store keeps as the Message-ID)
HOSTILE_IDS: dict[str, bytes] = {  # none is a valid msg-id: the parse drops each (msgid.py)
    "utf8-byte": b"<caf\xc3\xa9@x>",
    "latin1-byte": b"<caf\xe9@x>",
    "xff": b"<\xff\xfe@x>",
    "nul": b"<a\x00b@x>",
    "surrogate-utf8": b"<\xed\xa0\x80@x>",  # UTF-8 of U+D800
    "long": b"<" + b"a" * 2000 + b"@x>",
    "long-multibyte": b"<" + "\u00e9".encode() * 1500 + b"@x>",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the embedded defaults' layout, as the working directory."""
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def deliver(home: Path, name: str | bytes, raw: bytes) -> None:
    filename = os.fsdecode(name)  # bytes that are not UTF-8 as surrogate escapes, as os does
    (home / "mail" / "inbox" / "new" / filename).write_bytes(raw)


def helpdeskd(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=ENV, catch_exceptions=True)


@pytest.fixture
def store(home: Path) -> Iterator[Callable[[], Engine]]:
    """The database `run --once` wrote (opened after it ran)."""
    engines: list[Engine] = []

    def opened() -> Engine:
        engines.append(open_engine(f"sqlite:///{home / 'state' / 'helpdeskd.db'}"))
        return engines[-1]

    yield opened
    for engine in engines:
        engine.dispose()


def rows(engine: Engine) -> dict[str, Message]:
    with session_scope(engine) as session:
        return {m.source_key: m for m in session.exec(select(Message)).all()}


def raw_of(engine: Engine, pk: int | None) -> bytes:
    with session_scope(engine) as session:
        content = session.get(MessageContent, pk)
        assert content is not None
        return content.raw


# --- class 1: one mail stops all intake ------------------------------------------------------


@pytest.mark.parametrize("case", list(HOSTILE_IDS))
def test_a_hostile_message_id_between_good_mail_stops_nothing(
    home: Path, store: Callable[[], Engine], case: str
) -> None:
    header = HOSTILE_IDS[case]
    hostile = mail(b"eve@attacker.example", header)
    deliver(home, "1.good", GOOD_BEFORE)
    deliver(home, "2.hostile", hostile)
    deliver(home, "3.good", GOOD_AFTER)

    result = helpdeskd("run", "--once")

    assert result.exit_code == 0, result.output
    assert "source inbox: 3 new (ok)" in result.output
    engine = store()
    found = rows(engine)
    assert set(found) == {"1.good", "2.hostile", "3.good"}
    for key in ("1.good", "3.good"):
        assert found[key].state == State.awaiting_approval, (key, found[key].reason)
    bad = found["2.hostile"]
    assert bad.state not in (State.received, State.parsed)  # went all the way, or stopped
    assert bad.reason  # with a reason a person can read
    assert bad.message_id is None  # not a valid msg-id: neither stored nor threaded on
    assert raw_of(engine, bad.id) == hostile  # the bytes as they came
    assert sorted(p.name for p in (home / "mail" / "inbox" / "cur").iterdir()) == [
        "1.good:2,",
        "2.hostile:2,",
        "3.good:2,",
    ]

    deliver(home, "4.later", LATER)  # and later batches flow too
    again = helpdeskd("run", "--once")
    assert again.exit_code == 0, again.output
    assert rows(engine)["4.later"].state == State.awaiting_approval


@pytest.mark.peers
def test_an_imap_mailbox_with_a_hostile_message_id_keeps_flowing(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    """The same through a real Dovecot: every message recorded, the cursor past the last."""
    user = dovecot.new_user("hostile")
    hostile = mail(b"eve@attacker.example", HOSTILE_IDS["xff"])
    dovecot.append(user, [GOOD_BEFORE, hostile, GOOD_AFTER])
    services = build_services(make_settings(tmp_path, sources=[imap_settings(dovecot, user)]))
    try:
        report = run_cycle(services)
        assert [(p.fetched, p.error) for p in report.polls] == [(3, None)]
        found = sorted(rows(services.engine).values(), key=lambda m: m.source_key)
        assert [m.message_id for m in found] == [
            "good.1@customer.example",
            None,
            "good.2@customer.example",
        ]
        assert {m.state for m in found} == {State.awaiting_approval}
        dovecot.append(user, [LATER])
        assert [p.fetched for p in run_cycle(services).polls] == [1]
    finally:
        services.close()


def test_a_file_name_that_is_not_utf8_is_recorded_under_a_readable_key(
    home: Path, store: Callable[[], Engine]
) -> None:
    deliver(home, b"1.\xff\xfe", GOOD_BEFORE)
    deliver(home, b"2.\xfe\xff", GOOD_AFTER)  # the same with U+FFFD: must stay two keys

    result = helpdeskd("run", "--once")

    assert result.exit_code == 0, result.output
    found = rows(store())
    assert sorted(found) == ["1.\\xff\\xfe", "2.\\xfe\\xff"]
    assert {m.state for m in found.values()} == {State.awaiting_approval}
    cur = sorted(os.fsencode(p.name) for p in (home / "mail" / "inbox" / "cur").iterdir())
    assert cur == [b"1.\xff\xfe:2,", b"2.\xfe\xff:2,"]


def test_a_row_the_database_refuses_is_quarantined_and_the_batch_is_kept(
    tmp_path: Path,
) -> None:
    """Whatever a row holds, if the database refuses it (here a trigger stands for any such
    refusal), the batch is redone one by one: the others are recorded, and that one is kept
    bare (raw bytes, no header values) in quarantine at stage ingest with the error."""
    engine = open_engine(f"sqlite:///{tmp_path / 'helpdeskd.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON message "
                "WHEN NEW.message_id = 'poison@x' "
                "BEGIN SELECT RAISE(ABORT, 'the database refuses this row'); END"
            )
        )
    batch = [
        FetchedMail("1", GOOD_BEFORE, cursor="c1"),
        FetchedMail("2", mail(b"eve@attacker.example", b"<poison@x>"), cursor="c2"),
        FetchedMail("3", GOOD_AFTER, cursor="c3"),
    ]
    with session_scope(engine) as session:
        results = ingest_many(session, "inbox", batch)
    assert [r.duplicate for r in results] == [False, False, False]
    assert all(r.message_pk is not None for r in results)
    found = rows(engine)
    assert (found["1"].state, found["3"].state) == (State.received, State.received)
    assert found["1"].message_id == "good.1@customer.example"
    assert found["2"].state == State.quarantined and found["2"].message_id is None
    assert "the database refuses this row" in (found["2"].reason or "")
    assert raw_of(engine, found["2"].id) == batch[1].raw
    with session_scope(engine) as session:
        entry = session.exec(select(Quarantine).where(Quarantine.message_pk == found["2"].id)).one()
    assert entry.stage == "ingest" and "refuses" in entry.error
    with session_scope(engine) as session:
        trail = session.exec(
            select(AuditEvent.kind, AuditEvent.to_state).where(
                AuditEvent.message_pk == found["2"].id
            )
        ).all()
    assert sorted(trail) == [("received", "received"), ("transition", "quarantined")]
    engine.dispose()


def test_a_message_id_too_long_for_an_index_flows_on_every_database(
    store_url: str, home: Path
) -> None:
    """A Message-ID of 990 four-byte characters, through ingest and the whole pipeline: cut
    to 998 bytes (the longest a header line may be) wherever it is stored, so PostgreSQL's
    index takes it (its limit is ~2,700 bytes) as SQLite does, and the mail flows."""
    hostile = mail(b"eve@attacker.example", b"<" + "\U0001f600".encode() * 990 + b"@x>")
    deliver(home, "1.hostile", hostile)
    deliver(home, "2.good", GOOD_AFTER)
    settings = make_settings(home, store={"url": store_url})
    services = build_services(settings)
    try:
        assert [(p.fetched, p.error) for p in run_cycle(services).polls] == [(2, None)]
        found = rows(services.engine)
    finally:
        services.close()
    assert {m.state for m in found.values()} == {State.awaiting_approval}
    assert found["1.hostile"].message_id is None  # not a valid msg-id (msgid.py): dropped
    long_id = "\U0001f600" * 990 + "@x"
    assert len(fit_id(long_id).encode()) <= 998  # and the store's own cap holds


def test_a_batch_is_still_one_transaction_with_its_caller(store_url: str) -> None:
    """The savepoint around the batch INSERT commits nothing by itself: when the caller's
    transaction fails after it, no row is left (the source is not acked, and re-reads)."""
    engine = open_engine(store_url)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        ingest_many(session, "inbox", [FetchedMail("1", GOOD_BEFORE, cursor="c1")])
        raise RuntimeError("the commit never comes")
    assert rows(engine) == {}
    engine.dispose()


def test_a_batch_that_inserts_fine_is_still_one_insert(tmp_path: Path) -> None:
    """The fallback costs nothing on the good path: one INSERT of the rows, one of the bytes."""
    engine = open_engine(f"sqlite:///{tmp_path / 'helpdeskd.db'}")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    batch = [FetchedMail(str(i), mail(b"a@x", f"<{i}@x>".encode())) for i in range(5)]
    with session_scope(engine) as session:
        ingest_many(session, "inbox", batch)
    inserts = [s for s in statements if s.startswith("INSERT INTO message")]
    assert len(inserts) == 2, inserts
    engine.dispose()


def status_of(source: str) -> dict[str, Any]:
    result = helpdeskd("status", "--json")
    assert result.exit_code == 0, result.output
    sources: list[dict[str, Any]] = json.loads(result.stdout)["sources"]
    found = [s for s in sources if s["source"] == source]
    assert found, result.output
    return found[0]


def failing_metric(source: str) -> float | None:
    return REGISTRY.get_sample_value("helpdeskd_source_failing", {"source": source})


def test_a_maildir_that_vanished_shows_failing_in_status_and_metric(home: Path) -> None:
    deliver(home, "1.good", GOOD_BEFORE)
    assert helpdeskd("run", "--once").exit_code == 0
    (home / "mail" / "inbox" / "new").rename(home / "gone")

    result = helpdeskd("run", "--once")

    assert result.exit_code == 0, result.output
    assert "source inbox: 0 new (error:" in result.output
    shown = status_of("inbox")
    assert "is not a Maildir" in shown["error"] and shown["failing_since"]
    assert failing_metric("inbox") == 1
    table = helpdeskd("status")
    assert "failing since" in table.output and "ALERT" in table.output

    (home / "gone").rename(home / "mail" / "inbox" / "new")  # fixed: the alert clears
    assert helpdeskd("run", "--once").exit_code == 0
    assert status_of("inbox")["error"] is None and failing_metric("inbox") == 0


def test_an_unlistable_maildir_is_a_failing_source_not_a_crash(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any exception of a poll (here the PermissionError a folder of another user gives; we
    run as root in CI, so the refusal is made by hand) is recorded, and run --once goes on."""
    real = os.scandir

    def refuse(path: Any = ".") -> Any:
        if str(path).endswith("/new"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr("connectors.maildir.os.scandir", refuse)
    deliver(home, "1.good", GOOD_BEFORE)

    result = helpdeskd("run", "--once")

    assert result.exit_code == 0, result.output
    shown = status_of("inbox")
    assert "Permission denied" in shown["error"] and shown["failing_since"]
    assert failing_metric("inbox") == 1


def test_an_unreadable_file_stays_in_new_and_the_rest_flows(
    home: Path, store: Callable[[], Engine]
) -> None:
    """A file whose read fails (EIO: a link to /proc/self/mem, which root cannot read either)
    stays in new/; the mail around it is recorded; the source shows failing, naming it."""
    deliver(home, "1.good", GOOD_BEFORE)
    (home / "mail" / "inbox" / "new" / "2.broken").symlink_to("/proc/self/mem")
    deliver(home, "3.good", GOOD_AFTER)

    result = helpdeskd("run", "--once")

    assert result.exit_code == 0, result.output
    assert set(rows(store())) == {"1.good", "3.good"}
    assert sorted(p.name for p in (home / "mail" / "inbox" / "new").iterdir()) == ["2.broken"]
    shown = status_of("inbox")
    assert "2.broken" in shown["error"] and "cannot be read" in shown["error"]
    assert failing_metric("inbox") == 1


# --- class 8: files readable by all ----------------------------------------------------------


def modes(root: Path) -> dict[str, int]:
    """Permission bits of `root` and everything under it, by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def private(found: dict[str, int]) -> dict[str, int]:
    """The entries of `found` anyone but the owner may use (should be empty)."""
    return {name: mode for name, mode in found.items() if mode & 0o077}


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_state_and_outbox_are_private_after_run_once(home: Path, umask: int) -> None:
    deliver(home, "1.good", GOOD_BEFORE)
    os.umask(umask)

    result = helpdeskd("run", "--once")

    assert result.exit_code == 0, result.output
    state = modes(home / "state")
    assert state["."] == 0o700
    assert state["helpdeskd.db"] == 0o600
    for name in ("helpdeskd.db-wal", "helpdeskd.db-shm"):
        assert state.get(name, 0o600) == 0o600
    assert private(state) == {}


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_demo_writes_private_files(tmp_path: Path, umask: int) -> None:
    """`helpdeskd demo` (the demo defaults, an agent approving one draft) sends mail: the
    outbox files, the state and the index are private too."""
    os.umask(umask)
    folder = tmp_path / "demo"

    result = CliRunner().invoke(main, ["demo", "--dir", str(folder)], env=ENV)

    assert result.exit_code == 0, result.output
    outbox = folder / "mail" / "outbox" / "new"
    sent = list(outbox.iterdir())
    assert sent, "the demo sends one reply"
    assert {stat.S_IMODE(p.stat().st_mode) for p in sent} == {0o600}
    state = modes(folder / "state")
    assert state["."] == 0o700 and state["helpdeskd.db"] == 0o600
    assert private(state) == {}
    assert private(modes(folder / "mail" / "outbox")) == {}


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_a_library_user_gets_private_files_too(tmp_path: Path, umask: int) -> None:
    """No CLI, no umask set for us: the store and the outbox set the modes themselves, and
    an existing database left world-readable is made private when opened."""
    os.umask(umask)
    (tmp_path / "old").mkdir()
    old = tmp_path / "old" / "helpdeskd.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    for url_path in (tmp_path / "new-state" / "helpdeskd.db", old):
        engine = open_engine(f"sqlite:///{url_path}")
        with session_scope(engine) as session:
            ingest_many(session, "inbox", [FetchedMail("1", GOOD_BEFORE)])
        engine.dispose()
        assert stat.S_IMODE(url_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new-state").stat().st_mode) == 0o700
    outbox = MaildirOutbox("out", tmp_path / "outbox")
    outbox.send(OutboundMail("r1@x", "us@x", ("a@x",), b"Subject: hi\r\n\r\nx\r\n"))
    assert private(modes(tmp_path / "outbox")) == {}


def test_open_quarantine_lists_nothing_for_good_mail(
    home: Path, store: Callable[[], Engine]
) -> None:
    """The good path records no quarantine: the fallback is not taken by mistake."""
    deliver(home, "1.good", GOOD_BEFORE)
    assert helpdeskd("run", "--once").exit_code == 0
    with session_scope(store()) as session:
        assert session.exec(select(Quarantine).where(col(Quarantine.id) > 0)).all() == []
