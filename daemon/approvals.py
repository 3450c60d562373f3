"""What an agent does to a held draft: approve it (as written or edited) or reject it.

Decides the effects of an agent's verdict, wherever it was taken (the CLI, a helpdesk): an
approval queues the reply in the outbox — the edited text when the agent edited it — and moves
the message to `sent`; a rejection records the reason (it feeds `stats`) and moves the message
to `rejected`, leaving the customer to the agent: the ticket is the agent's from then on
(`daemon/ownership.py`; an approval, edited or not, leaves it with the model). Both are
audited with the agent's name, and both refuse a draft that is no longer pending, so a double
click sends nothing twice. An approved reply the outbox refuses (its bytes would not say what
was composed) escalates.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from daemon.item_rows import drafted_reply, load_item
from daemon.kernel.stage import Runtime, context_for
from daemon.ownership import give_to_human
from daemon.stages.deliver import queue_draft
from daemon.store.audit import audit, transition
from daemon.store.content import message_content
from daemon.store.engine import session_scope
from daemon.tables import Draft, Message, State, utcnow
from daemon.tickets import escalate_ticket, set_status


class ApprovalError(Exception):
    """The draft cannot take this verdict (unknown, or no longer pending)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    draft_id: int
    status: str
    outbox_message_id: str | None = None


def pending_draft(session: Session, draft_id: int) -> tuple[Draft, Message]:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise ApprovalError(f"no draft {draft_id}")
    if draft.status != "pending":
        raise ApprovalError(f"draft {draft_id} is {draft.status}, not pending")
    message = session.get(Message, draft.message_pk)
    assert message is not None
    return draft, message


def approve(services: Runtime, draft_id: int, actor: str, body: str | None = None) -> Verdict:
    with session_scope(services.engine) as session:
        draft, message = pending_draft(session, draft_id)
        edited = body is not None and body.strip() != draft.body.strip()
        if edited:
            draft.edited_body = body
        ctx = context_for(services, session, message)
        content = message_content(session, draft.message_pk)
        item = load_item(message, content, drafted_reply(session, message))
        refused = queue_draft(
            ctx, item, draft, body=draft.edited_body or draft.body, automatic=False, actor=actor
        )
        if refused:
            return escalate_refused(session, message, draft, refused, actor)
        transition(
            session,
            message,
            State.sent,
            reason=f"approved by {actor}" + (" with edits" if edited else ""),
            draft_id=draft_id,
            edited=edited,
        )
        audit(
            session,
            "draft_approved",
            message=message,
            actor=actor,
            draft_id=draft_id,
            edited=edited,
        )
        return Verdict(draft_id, "approved")


def escalate_refused(
    session: Session, message: Message, draft: Draft, reason: str, actor: str
) -> Verdict:
    """An approved reply that cannot be sent (the outbox refused it): the ticket goes to the
    human queue with the reason, and nothing is queued."""
    assert draft.id is not None
    draft.status = "escalated"
    session.add(draft)
    if message.ticket_id is not None:
        escalate_ticket(session, message.ticket_id, reason)
    transition(session, message, State.escalated, reason=reason, draft_id=draft.id)
    audit(session, "draft_approved", message=message, actor=actor, draft_id=draft.id, sent=False)
    return Verdict(draft.id, "escalated")


def reject(services: Runtime, draft_id: int, actor: str, reason: str) -> Verdict:
    if not reason.strip():
        raise ApprovalError("a rejection needs a reason")
    with session_scope(services.engine) as session:
        draft, message = pending_draft(session, draft_id)
        draft.status = "rejected"
        draft.decided_by = actor
        draft.decided_at = utcnow()
        draft.decision_reason = reason
        session.add(draft)
        set_status(session, message.ticket_id, "open")
        give_to_human(
            session, message.ticket_id, actor, f"draft {draft_id} rejected by {actor}", actor=actor
        )
        transition(
            session,
            message,
            State.rejected,
            reason=f"draft rejected by {actor}: {reason}",
            draft_id=draft_id,
        )
        audit(
            session,
            "draft_rejected",
            message=message,
            actor=actor,
            draft_id=draft_id,
            reason=reason,
        )
        return Verdict(draft_id, "rejected")
