"""Issue 12, class 10: a faulty network must not make a hosted helpdesk mail a reply twice.

Each case approves a draft in the helpdesk, then loses the answer to the reply's write after the
helpdesk carried it out (the connection dropped, no answer before our timeout, a 502 from the
gateway) and asserts what the customer got — exactly one reply in the ticket's conversation and
in the helpdesk's outgoing mail — and the outbox row's state. Zendesk and Freshdesk are the
local servers written from their API documentation (faults injected in the fake); Request
Tracker is the real RT 5, behind a loopback proxy that forwards the request, lets RT act, and
then drops the answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from daemon.app import Services, build_services
from daemon.cycle import run_cycle
from daemon.helpdesk_sync.runner import poll_helpdesks
from daemon.helpdesk_sync.sink import reply_marker
from daemon.outbox import FlushReport, flush_outbox, resolve
from daemon.store.engine import session_scope
from daemon.tables import AuditEvent, Outbox
from tests.conftest import make_settings
from tests.helpdesk.agents import DESKS, Desk
from tests.helpdesk.dropproxy import DropProxy
from tests.helpdesk.test_rt import customer_mail, rt_ticket
from tests.peers.rt import RtPeer

REPLY_PATH = {"zendesk": ("PUT", r"/api/v2/tickets/\d+\.json"), "freshdesk": ("POST", r".*/reply")}
ANSWER = "Order 4711 left our warehouse this morning."


@pytest.fixture(params=sorted(DESKS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def desk(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Desk, Services]]:
    # A short timeout so a hung answer is given up quickly; the fake is on loopback.
    d = DESKS[kind](timeout_seconds=0.5)
    for name, value in d.env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True)
    services = build_services(make_settings(tmp_path, helpdesks=[d.settings]))
    services.helpdesk(d.settings["name"]).api.sleep = lambda s: None  # type: ignore[attr-defined]
    yield d, services
    services.close()
    d.close()


def approved_reply(d: Desk, services: Services) -> str:
    """A customer's ticket whose draft an agent approved: the reply waits in the outbox."""
    ticket = d.customer_email("Order 4711", "Where is my order 4711?")
    for cycled in run_cycle(services).helpdesks:
        assert cycled.error is None, cycled
    d.note(ticket, "#approve " + ANSWER)
    poll_helpdesks(services)
    assert outbox_row(services).state == "queued"
    return ticket


def outbox_row(services: Services) -> Outbox:
    with session_scope(services.engine) as session:
        return session.exec(select(Outbox)).one()


def our_replies(d: Desk, services: Services, ticket: str) -> tuple[int, int]:
    """(replies in the ticket's conversation carrying our reference, mails sent to customers)."""
    marker = reply_marker(outbox_row(services).message_id)
    helpdesk = services.helpdesk(d.settings["name"])
    entries = helpdesk.conversation(helpdesk.ticket(ticket))
    in_ticket = [e for e in entries if e.kind == "reply" and marker in e.text]
    mailed = [m for m in d.fake.sent_mail if ANSWER in str(m["body"])]
    return len(in_ticket), len(mailed)


def writes(d: Desk, method: str, path: str) -> int:
    return len([r for r in d.fake.requests(method) if re.fullmatch(path, r[1].split("?")[0])])


def flush(services: Services) -> FlushReport:
    return flush_outbox(services.engine, services.sink)


@pytest.mark.parametrize("fault", ["drop", "hang", "status"])
def test_a_reply_taken_before_the_answer_was_lost_is_sent_once(
    desk: tuple[Desk, Services], kind: str, fault: str
) -> None:
    d, services = desk
    ticket = approved_reply(d, services)
    method, path = REPLY_PATH[kind]
    # Every attempt is taken and its answer lost: main posted the reply 4 times (3 retries).
    d.fake.fail_after_accept(method, path, fault, count=4, seconds=1.5)
    before = writes(d, method, path)
    report = flush(services)
    assert our_replies(d, services, ticket) == (1, 1)
    assert writes(d, method, path) == before + 1  # the write went out once: no blind retry
    assert (report.sent, report.retried, report.unknown) == (1, 0, 0)
    row = outbox_row(services)
    assert row.state == "sent" and "found in the ticket after" in (row.last_response or "")
    flush(services)
    for cycled in run_cycle(services).helpdesks:  # later cycles send nothing more
        assert cycled.error is None, cycled
    assert our_replies(d, services, ticket) == (1, 1)


def test_a_reply_the_helpdesk_may_not_have_taken_waits_for_the_operator(
    desk: tuple[Desk, Services],
) -> None:
    """A 502 that came before the helpdesk acted looks the same from here: the ticket does not
    show the reply, so the row is `unknown` and nothing is posted until an operator says so."""
    d, services = desk
    ticket = approved_reply(d, services)
    d.fake.fail_next(502, 1, body={"error": "Bad Gateway"})
    assert flush(services).unknown == 1
    row = outbox_row(services)
    assert row.state == "unknown" and "is not in" in (row.last_response or "")
    assert "outbox resolve" in (row.last_response or "")
    assert our_replies(d, services, ticket) == (0, 0)
    for cycled in run_cycle(services).helpdesks:  # nothing is posted again blindly
        assert cycled.error is None, cycled
    assert flush(services).sent == 0 and our_replies(d, services, ticket) == (0, 0)
    with session_scope(services.engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
        assert kinds.count("outbox_unknown") == 1
    resolve(services.engine, row.id or 0, delivered=False, actor="operator")
    assert flush(services).sent == 1 and our_replies(d, services, ticket) == (1, 1)


def test_a_lost_answer_and_an_unreadable_ticket_leave_the_row_unknown(
    desk: tuple[Desk, Services], kind: str
) -> None:
    d, services = desk
    ticket = approved_reply(d, services)
    method, path = REPLY_PATH[kind]
    d.fake.fail_after_accept(method, path, "drop")
    d.fake.fail_after_accept("GET", r"/api/v2/tickets/\d+(\.json)?", "status", count=4)
    assert flush(services).unknown == 1
    row = outbox_row(services)
    assert row.state == "unknown" and "could not be read back" in (row.last_response or "")
    assert our_replies(d, services, ticket) == (1, 1)  # it did get through: one, not more
    resolve(services.engine, row.id or 0, delivered=True, actor="operator")
    assert outbox_row(services).state == "sent" and flush(services).sent == 0
    assert our_replies(d, services, ticket) == (1, 1)


NOTE_PATH = {"zendesk": ("PUT", r"/api/v2/tickets/\d+\.json"), "freshdesk": ("POST", r".*/notes")}


@pytest.mark.parametrize("fault", ["drop", "status"])
def test_a_draft_note_whose_answer_was_lost_is_posted_once(
    desk: tuple[Desk, Services], kind: str, fault: str
) -> None:
    """Internal notes too: the write is not repeated, and the next push finds its marker."""
    d, services = desk
    method, path = NOTE_PATH[kind]
    d.fake.fail_after_accept(method, path, fault, count=4)
    ticket = d.customer_email("Order 4711", "Where is my order 4711?")
    push = [r for r in run_cycle(services).helpdesks if r.phase == "push"]
    later = run_cycle(services).helpdesks
    notes = [n for n in d.notes(ticket) if "[helpdeskd-draft-" in n]
    assert len(notes) == 1  # main: 4, one per retry
    assert push and "not retried" in (push[0].error or "") and not push[0].disabled
    assert [r.error for r in later] == [None] * len(later)


# --- Request Tracker 5, for real, behind a proxy that loses answers --------------------------


@pytest.fixture
def rt_desk(
    rt_server: RtPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Services, RtPeer, DropProxy, str]]:
    queue = rt_server.new_queue("Support")
    proxy = DropProxy(rt_server.url)
    monkeypatch.setenv("TEST_RT_TOKEN", rt_server.tokens["helpbot"])
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True)
    settings = make_settings(
        tmp_path,
        helpdesks=[
            {
                "kind": "rt",
                "name": "rt",
                "url": proxy.url,
                "queue": queue,
                "token_env": "TEST_RT_TOKEN",
            }
        ],
    )
    services = build_services(settings)
    yield services, rt_server, proxy, queue
    services.close()
    proxy.close()


@pytest.mark.peers
@pytest.mark.parametrize("fault", ["drop", "status"])
def test_rt_correspondence_whose_answer_was_lost_is_sent_once(
    rt_desk: tuple[Services, RtPeer, DropProxy, str], fault: str
) -> None:
    services, rt, proxy, queue = rt_desk
    subject = f"Order 4711 {time.time_ns()}"
    rt.mailgate(customer_mail(f"h10-{time.time_ns()}", subject, "Where is order 4711?"), queue)
    for cycled in run_cycle(services).helpdesks:
        assert cycled.error is None, cycled
    ticket = str(rt_ticket(rt, queue, subject)["id"])
    answer = rt.api("agent").post(
        f"/ticket/{ticket}/comment",
        json={"Content": "#approve " + ANSWER, "ContentType": "text/plain"},
    )
    assert answer.status_code == 201, answer.text
    poll_helpdesks(services)
    assert outbox_row(services).state == "queued"
    proxy.lose_answer("POST", rf"/REST/2\.0/ticket/{ticket}/correspond", fault, count=4)
    report = flush(services)
    row = outbox_row(services)
    marker = reply_marker(row.message_id)
    mailed = rt_replies(rt, ticket)
    assert len(mailed) == 1 and marker in mailed[0]
    helpdesk = services.helpdesk("rt")
    entries = helpdesk.conversation(helpdesk.ticket(ticket))
    assert len([e for e in entries if e.kind == "reply" and marker in e.text]) == 1
    assert len([r for r in proxy.log if r[0] == "POST" and "/correspond" in r[1]]) == 1
    assert (report.sent, report.retried, report.unknown) == (1, 0, 0)
    assert row.state == "sent" and "found in the ticket after" in (row.last_response or "")
    flush(services)
    for cycled in run_cycle(services).helpdesks:
        assert cycled.error is None, cycled
    assert len(rt_replies(rt, ticket)) == 1


def rt_replies(rt: RtPeer, ticket: str) -> list[str]:
    """The text of each reply RT mailed the customer on this ticket."""
    texts = [
        str(body.get_content())
        for m in rt.outgoing()
        if "carol@customer.test" in str(m["To"]) and f"#{ticket}]" in str(m["Subject"])
        if (body := m.get_body(("plain",))) is not None
    ]
    return [t for t in texts if ANSWER in t]
