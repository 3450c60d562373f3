"""escalate: hand the ticket to a human with a summary they can act on.

Decides what the summary says — who the customer is, what they want, the thread in brief, what
was found and tried, why it was escalated, and a suggested next step — rendered from
templates/escalation_summary.txt.j2. The escalation is always recorded in the store
(`helpdeskd escalations list|show`) and, when `escalation.agents_address` is set, mailed to the
agents through the outbox. An escalated ticket is owned by the human queue from then on
(`daemon/ownership.py`): its follow-ups are escalated too, until an agent hands it back.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from connectors.rfc5322.headertext import clean_text
from daemon import tickets
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated
from daemon.kernel.stage import Context
from daemon.outbox import enqueue
from daemon.outgoing_mail import compose_notice, reply_message_id
from daemon.records import stored_reply_text
from daemon.store.audit import audit
from daemon.tables import Draft, Escalation, Message, MessageParse, Outbox, Ticket
from daemon.tickets import next_step

THREAD_LINES = 10
ESCALATION_SUBJECT = 150  # characters of the customer's subject in the notice's


def record(item: Item, outcome: Escalated, ctx: Context) -> Escalation:
    details = summary_details(ctx.session, item, outcome.reason)
    details["ai"] = ai_brief(item, details, ctx)  # slow work before this step's first write
    summary = ctx.roles.templates.get_template("escalation_summary.txt.j2").render(**details)
    row = Escalation(
        ticket_id=item.ticket_id,
        message_pk=item.pk,
        reason=outcome.reason,
        summary=summary,
        details=details,
    )
    ctx.session.add(row)
    ctx.session.flush()
    assert row.id is not None
    if item.draft_id and (draft := ctx.session.get(Draft, item.draft_id)):
        draft.status = "escalated"
        ctx.session.add(draft)
    tickets.escalate(ctx.session, item.ticket_id, outcome.reason)
    if ctx.settings.escalation.agents_address:
        row.outbox_id = notify_agents(ctx, row, details)
    audit(
        ctx.session,
        "escalated",
        ticket_id=item.ticket_id,
        escalation_id=row.id,
        reason=outcome.reason,
    )
    return row


def ai_brief(item: Item, details: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """The model's brief (what was tried, open questions, next step) when a model is
    configured and answers; None keeps the template summary alone."""
    models = ctx.roles.models
    return None if models is None else models.escalation_brief(item, details, ctx)


def notify_agents(ctx: Context, row: Escalation, details: dict[str, Any]) -> int | None:
    assert row.id is not None
    msg = compose_notice(
        ctx.settings,
        to=ctx.settings.escalation.agents_address,
        subject=f"[escalated] {clean_text(details['subject'], ESCALATION_SUBJECT)} "
        f"[{ctx.settings.mail.ticket_tag}{row.ticket_id}]",  # the customer's text, capped
        body=row.summary,
        message_id=reply_message_id(ctx.settings, "escalation", row.id),
    )
    queued = enqueue(ctx.session, msg, kind="escalation", ticket_id=row.ticket_id)
    # Refused: the escalation stays recorded (`escalations list`) and the refusal audited.
    return queued.id if isinstance(queued, Outbox) else None


def summary_details(session: Session, item: Item, reason: str) -> dict[str, Any]:
    """Everything the summary template shows, as plain data (also stored as JSON)."""
    mail = item.parsed
    route = item.route
    ticket = session.get(Ticket, item.ticket_id) if item.ticket_id else None
    draft = session.get(Draft, item.draft_id) if item.draft_id else None
    return {
        "ticket_id": item.ticket_id,
        "customer": {"name": mail.sender.name, "email": mail.sender.email}
        if mail and mail.sender
        else None,
        "verified": bool(mail and mail.auth.verified),
        "subject": (ticket.subject if ticket else None)
        or (mail.subject if mail else "")
        or "(no subject)",
        "intent": route.intent if route else None,
        "language": mail.language if mail else None,
        "wants": first_lines(mail.reply_text or mail.text if mail else "", 6),
        "thread": thread_brief(session, item.ticket_id),
        "passages": [{"id": p.id, "title": p.title} for p in item.passages],
        "tool_results": draft.tool_results if draft else [],
        "draft": draft.body if draft else None,
        "reason": reason,
        "next_step": next_step(reason, route.intent if route else None),
        "stub": item.stub_reason,
        "linked_ticket": ticket.linked_ticket_id if ticket else None,
    }


def thread_brief(session: Session, ticket_id: int | None) -> list[dict[str, Any]]:
    if ticket_id is None:
        return []
    rows = session.exec(
        select(Message, MessageParse.parsed)
        .join(MessageParse, col(MessageParse.message_pk) == col(Message.id))
        .where(Message.ticket_id == ticket_id)
        .order_by(col(Message.id))
    ).all()
    brief = []
    for row, parsed in rows[-THREAD_LINES:]:
        parsed = parsed or {}
        brief.append(
            {
                "date": parsed.get("date") or row.received_at.isoformat(timespec="minutes"),
                "from": row.sender or "?",
                "text": first_lines(stored_reply_text(parsed) or parsed.get("text") or "", 2),
            }
        )
    return brief


def first_lines(text: str, n: int) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = " ".join(lines[:n])
    return out[:600] + ("…" if len(out) > 600 else "")
