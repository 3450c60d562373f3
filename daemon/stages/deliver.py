"""deliver: carry out the decision — queue the reply, or hold the draft for an agent.

Decides nothing new: `decide` chose. Sending means a row in the outbox (which delivers exactly
once); holding means the draft waits as `pending` until an agent approves, edits or rejects it
(`helpdeskd drafts ...` or the helpdesk). A decision that cannot be carried out — no address to
reply to, a reply the outbox refuses because its bytes do not say what was composed — becomes
an escalation instead of a silent drop.
"""

from __future__ import annotations

from datetime import timedelta

from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated, Held, Outcome, Sent
from daemon.kernel.stage import Context
from daemon.outbox import Refused, enqueue, recent_replies
from daemon.outgoing_mail import compose_reply, reply_message_id
from daemon.replycaps import over_rate_caps
from daemon.store.locks import serialize
from daemon.tables import Draft, utcnow
from daemon.tickets import set_status


def run(item: Item, ctx: Context) -> Outcome:
    return item.decision or Held("no decision was recorded")


def send(item: Item, outcome: Sent, ctx: Context) -> Outcome:
    draft = ctx.session.get(Draft, item.draft_id) if item.draft_id else None
    if draft is None or item.ticket_id is None:
        return Escalated("nothing to send: the draft is missing")
    if capped := over_reply_cap(item, ctx):
        return hold(item, Held(capped), ctx)
    if refused := queue_draft(ctx, item, draft, body=draft.body, automatic=True, actor="policy"):
        return Escalated(refused)
    return outcome


def over_reply_cap(item: Item, ctx: Context) -> str | None:
    """The loop guard again at the moment of sending: screening ran before earlier replies of
    the same cycle were queued, so count them now (same transaction as the insert)."""
    cfg = ctx.settings.screen
    since = ctx.now - timedelta(hours=1)
    sender = item.mail.sender.email.lower() if item.mail.sender else None
    if robots := over_rate_caps(ctx.session, cfg, sender or "", since):  # takes its locks first
        return robots
    serialize(ctx.session, f"reply-cap:{sender}")
    if recent_replies(ctx.session, since, customer=sender) >= cfg.replies_per_sender_per_hour:
        return "reply cap reached for this sender in the last hour: held for an agent"
    # per ticket and sender: nobody else's mail can spend a customer's cap on their ticket
    on_ticket = recent_replies(ctx.session, since, customer=sender, ticket_id=item.ticket_id)
    if on_ticket >= cfg.replies_per_ticket_per_hour:
        return "reply cap reached on this ticket in the last hour: held for an agent"
    return None


def hold(item: Item, outcome: Held, ctx: Context) -> Outcome:
    draft = ctx.session.get(Draft, item.draft_id) if item.draft_id else None
    if draft is None:
        return Escalated(f"held without a draft: {outcome.reason}")
    draft.status = "pending"
    ctx.session.add(draft)
    set_status(ctx.session, item.ticket_id, "awaiting_approval")
    return outcome


def queue_draft(
    ctx: Context, item: Item, draft: Draft, *, body: str, automatic: bool, actor: str
) -> str | None:
    """Put a draft's reply in the outbox (used by auto-send and by agents' approvals); the
    reason it cannot be sent (no valid address, refused by the outbox check) instead: the
    caller escalates, and the draft stays as it was."""
    assert item.ticket_id is not None and draft.id is not None
    try:
        msg = compose_reply(
            ctx.settings,
            item.mail,
            ticket_id=item.ticket_id,
            body=body,
            message_id=reply_message_id(ctx.settings, "reply", item.ticket_id, draft.id),
            automatic=automatic,
        )
    except ValueError as exc:
        return f"cannot send: {exc}"
    sender = item.mail.sender
    queued = enqueue(
        ctx.session,
        msg,
        kind="reply",
        ticket_id=item.ticket_id,
        draft_id=draft.id,
        customer=sender.email.lower() if sender else None,
    )
    if isinstance(queued, Refused):
        return queued.reason
    draft.status = "approved"
    draft.decided_by = actor
    draft.decided_at = utcnow()
    ctx.session.add(draft)
    set_status(ctx.session, item.ticket_id, "answered")
    return None
