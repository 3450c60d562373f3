"""The outbox: every mail we send is a row first, and is delivered exactly once.

Decides when a queued mail is handed to the sink and what a failure means. A row goes
`queued → sending → sent`; `sending` is committed before the sink is called, so after a crash a
row found in `sending` is checked with the sink (`was_sent`: the Maildir file, the Sent folder)
before anything is resent — when the sink cannot tell, the row is parked as `unknown` for an
operator rather than risk a duplicate. Transient errors retry with capped exponential backoff;
permanent ones (5xx) fail the row and escalate its ticket; a send whose fate the sink cannot
tell (`DeliveryUnknown`: a helpdesk may have taken the reply, and its record does not show it)
parks the row as `unknown` at once, never retried.
Nothing is queued before its bytes are parsed back and found to say what was composed
(`daemon.mail.wirecheck`): a mail with an injected header or body is refused, and its caller
escalates instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses

from sqlalchemy import Engine, bindparam
from sqlmodel import Session, col, func, select

from connectors.base import ConnectorError, DeliveryUnknown, MailSink, OutboundMail
from daemon.mail.wirecheck import wire_problem
from daemon.metrics import OUTBOX
from daemon.store.audit import audit
from daemon.store.engine import session_scope
from daemon.store.leases import owner_is_dead, worker_name
from daemon.store.refs import insert_or_ignore, remember_message_id
from daemon.tables import Draft, Outbox, utcnow
from daemon.tickets import escalate_ticket

log = logging.getLogger("helpdeskd.outbox")
MAX_BACKOFF = timedelta(hours=1)
STALE_SENDING = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Refused:
    """The mail was not queued: its bytes do not say what was composed (`wire_problem`)."""

    reason: str


def enqueue(
    session: Session,
    msg: EmailMessage,
    *,
    kind: str,
    ticket_id: int | None,
    draft_id: int | None = None,
    customer: str | None = None,
) -> Outbox | Refused | None:
    """Queue `msg`; None when a mail with its Message-ID is already queued (idempotent);
    Refused (audited, never queued) when its bytes, parsed back, differ from `msg`."""
    raw = msg.as_bytes()
    if problem := wire_problem(msg, raw):
        return refuse(session, kind, ticket_id, problem)
    message_id = str(msg["Message-ID"]).strip("<>")
    recipients = [addr for _name, addr in getaddresses([str(v) for v in msg.get_all("To", [])])]
    row = Outbox(
        ticket_id=ticket_id,
        draft_id=draft_id,
        kind=kind,
        message_id=message_id,
        sender=str(msg["From"]),
        recipients=recipients,
        customer=customer,
        raw=raw,
    )
    if not insert_or_ignore(session, row):
        return None
    if ticket_id is not None:  # the customer's answer to this mail threads by its Message-ID
        remember_message_id(session, message_id, ticket_id, "out")
    audit(
        session,
        "outbox_queued",
        ticket_id=ticket_id,
        mail_kind=kind,
        message_id=message_id,
        draft_id=draft_id,
    )
    return row


def refuse(session: Session, kind: str, ticket_id: int | None, problem: str) -> Refused:
    OUTBOX.labels("refused").inc()
    audit(session, "outbox_refused", ticket_id=ticket_id, mail_kind=kind, reason=problem)
    log.error("refused to queue a %s on ticket %s: %s", kind, ticket_id, problem)
    return Refused(f"refused by the outbox check: {problem}")


def recent_replies(
    session: Session, since: datetime, *, customer: str | None = None, ticket_id: int | None = None
) -> int:
    """Replies queued since `since` to one customer, on one ticket, or (both given) to one
    customer on one ticket (the loop guard's counts)."""
    params: dict[str, object] = {"since": since, "who": customer, "ticket": ticket_id}
    if customer is not None and ticket_id is not None:
        statement = RECENT_ON_TICKET_TO
    elif customer is not None:
        statement = RECENT_TO_CUSTOMER
    else:
        statement, params["who"] = RECENT_ON_TICKET, ticket_id
    # On the connection, not the session: a session query would first flush every pending row
    # of the caller's batch, one by one (replies are written by other transactions).
    return int(session.connection().execute(statement, params).scalar_one())


def replies_to_customers(
    session: Session, since: datetime, customers: Iterable[str]
) -> dict[str, int]:
    """`recent_replies` to each of several customers, in one query (0 for those with none)."""
    wanted = sorted(set(customers))
    counts = dict.fromkeys(wanted, 0)
    if wanted:
        params = {"since": since, "who": wanted}
        for customer, count in session.connection().execute(RECENT_BY_CUSTOMER, params):
            counts[customer] = int(count)
    return counts


# Built once: this count runs for every screened message, and building the statement each time
# cost more than running it.
_RECENT = (
    select(func.count())
    .select_from(Outbox)
    .where(Outbox.kind == "reply", col(Outbox.created_at) >= bindparam("since"))
)
RECENT_TO_CUSTOMER = _RECENT.where(Outbox.customer == bindparam("who"))
RECENT_ON_TICKET = _RECENT.where(Outbox.ticket_id == bindparam("who"))
RECENT_ON_TICKET_TO = RECENT_TO_CUSTOMER.where(Outbox.ticket_id == bindparam("ticket"))
RECENT_BY_CUSTOMER = (
    select(Outbox.customer, func.count())
    .where(
        Outbox.kind == "reply",
        col(Outbox.created_at) >= bindparam("since"),
        col(Outbox.customer).in_(bindparam("who", expanding=True)),
    )
    .group_by(Outbox.customer)
)


@dataclass(frozen=True, slots=True)
class FlushReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0


def flush_outbox(engine: Engine, sink: MailSink, *, limit: int = 500) -> FlushReport:
    """Deliver what is due; recover rows a crash left in `sending` first."""
    unknown = recover_sending(engine, sink)
    sent = retried = failed = 0
    with session_scope(engine) as session:
        due = session.exec(
            select(Outbox.id)
            .where(Outbox.state == "queued", col(Outbox.next_attempt_at) <= utcnow())
            .order_by(col(Outbox.id))
            .limit(limit)
        ).all()
    for pk in due:
        if pk is None or not mark_sending(engine, pk):
            continue
        outcome = deliver_one(engine, sink, pk)
        sent += outcome == "sent"
        retried += outcome == "queued"
        failed += outcome == "failed"
        unknown += outcome == "unknown"
    return FlushReport(sent, retried, failed, unknown)


def mark_sending(engine: Engine, pk: int) -> bool:
    with session_scope(engine) as session:
        row = session.get(Outbox, pk)
        if row is None or row.state != "queued":
            return False
        row.state = "sending"
        row.owner = worker_name()
        row.attempts += 1
        row.next_attempt_at = utcnow()
        session.add(row)
        return True


def deliver_one(engine: Engine, sink: MailSink, pk: int) -> str:
    with session_scope(engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        mail = OutboundMail(row.message_id, row.sender, tuple(row.recipients), row.raw)
    try:
        response = sink.send(mail)
    except DeliveryUnknown as exc:
        return park_unknown(engine, pk, exc)
    except ConnectorError as exc:
        return record_error(engine, pk, exc)
    with session_scope(engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        mark_sent(session, row, response)
    return "sent"


def mark_sent(session: Session, row: Outbox, response: str) -> None:
    row.state = "sent"
    row.sent_at = utcnow()
    row.last_response = response[:1000]
    session.add(row)
    if row.draft_id is not None and (draft := session.get(Draft, row.draft_id)):
        draft.status = "sent"
        session.add(draft)
    OUTBOX.labels("sent").inc()
    audit(
        session,
        "outbox_sent",
        ticket_id=row.ticket_id,
        message_id=row.message_id,
        response=row.last_response,
    )
    log.info("sent %s (ticket %s): %s", row.message_id, row.ticket_id, row.last_response)


def record_error(engine: Engine, pk: int, exc: ConnectorError) -> str:
    with session_scope(engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        row.last_response = str(exc)[:1000]
        OUTBOX.labels("failed" if exc.permanent else "retry").inc()
        if exc.permanent:
            row.state = "failed"
            fail_ticket(session, row)
        else:
            row.state = "queued"
            row.next_attempt_at = utcnow() + backoff(row.attempts)
        session.add(row)
        audit(
            session,
            "outbox_error",
            ticket_id=row.ticket_id,
            message_id=row.message_id,
            permanent=exc.permanent,
            error=row.last_response,
            attempts=row.attempts,
        )
        log.warning(
            "sending %s failed (%s): %s",
            row.message_id,
            "permanent" if exc.permanent else f"retry in {backoff(row.attempts)}",
            exc,
        )
        return row.state


def park_unknown(engine: Engine, pk: int, exc: DeliveryUnknown) -> str:
    """The sink cannot tell whether the mail went out: an operator decides, nothing is resent."""
    with session_scope(engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        row.state = "unknown"
        row.last_response = str(exc)[:1000]
        session.add(row)
        OUTBOX.labels("unknown").inc()
        audit(
            session,
            "outbox_unknown",
            ticket_id=row.ticket_id,
            message_id=row.message_id,
            error=row.last_response,
        )
    log.warning("sending %s: delivery unknown, parked for an operator: %s", row.message_id, exc)
    return "unknown"


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def fail_ticket(session: Session, row: Outbox) -> None:
    """A permanent delivery failure escalates the ticket: a human must reach the customer."""
    if row.ticket_id is not None and row.kind == "reply":
        escalate_ticket(session, row.ticket_id, f"delivery failed permanently: {row.last_response}")


def recover_sending(engine: Engine, sink: MailSink) -> int:
    """Rows left in `sending` by a crash: ask the sink before resending anything."""
    unknown = 0
    with session_scope(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.state == "sending")).all()
        stale = utcnow() - STALE_SENDING
        for row in rows:
            if not owner_is_dead(row.owner) and row.next_attempt_at > stale:
                continue  # another worker is sending it right now
            verdict = sink.was_sent(row.message_id)
            if verdict:
                mark_sent(session, row, "found at the sink after a restart")
            elif verdict is None:
                row.state = "unknown"
                unknown += 1
                audit(session, "outbox_unknown", ticket_id=row.ticket_id, message_id=row.message_id)
            else:
                row.state = "queued"
            session.add(row)
    return unknown


def resolve(engine: Engine, pk: int, *, delivered: bool, actor: str) -> Outbox:
    """An operator's verdict on a row the sink could not vouch for (`unknown`, or `failed`):
    it was delivered (mark it sent, nothing goes out) or it was not (queue it again)."""
    with session_scope(engine) as session:
        row = session.get(Outbox, pk)
        if row is None or row.state not in ("unknown", "failed"):
            state = "missing" if row is None else row.state
            raise ValueError(
                f"outbox row {pk} is {state}: only unknown or failed rows are resolved"
            )
        before = row.state
        if delivered:
            mark_sent(session, row, f"marked delivered by {actor}")
        else:
            row.state, row.next_attempt_at = "queued", utcnow()
            session.add(row)
        audit(
            session,
            "outbox_resolved",
            ticket_id=row.ticket_id,
            actor=actor,
            message_id=row.message_id,
            before=before,
            delivered=delivered,
        )
        return row
