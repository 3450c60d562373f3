"""Writing to a helpdesk: mirrored mail, draft notes for agents, escalations.

Decides what helpdeskd puts into a helpdesk after the pipeline has run, oldest first:

- `mirror` mode: each mailbox message that reached a ticket (routed or further; screened-out
  mail never) is put into the helpdesk — the ticket's first message creates the helpdesk
  ticket, later ones are added to it as the customer's — and the ids are recorded on our ticket;
- a draft waiting for an agent is posted as an internal note with its citations, confidence,
  tool results and cost, and how to approve, edit or reject it; an approval mark left on the
  ticket is cleared first, so only a mark set after the note counts;
- an escalation is posted as an internal note with the summary, and the ticket is moved to the
  human queue or group, its priority raised and the escalation field or tag set.

Each action is recorded (`links.record_action`) in the transaction after the API call; before
the call the helpdesk is asked whether it is already there (a crash in between, or an answer
lost after the helpdesk took the write: the HTTP client never repeats such a write, the push
ends with the error and the next one finds the marker), so nothing is posted twice. Work is
limited to rows from the last `lookback_hours`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import not_
from sqlmodel import col, select

from connectors.helpdesk import (
    CustomerMail,
    EscalationOrder,
    Helpdesk,
    HelpdeskError,
    Person,
    find_entry,
)
from daemon.config import HelpdeskSettings
from daemon.helpdesk_sync.agent_actions import draft_marker, escalation_marker
from daemon.helpdesk_sync.host import HelpdeskHost
from daemon.helpdesk_sync.links import (
    SOURCE_PREFIX,
    done_ids,
    record_action,
    usage_of,
)
from daemon.helpdesk_sync.sink import reply_text
from daemon.records import ParsedMail
from daemon.store.content import Content, message_content
from daemon.store.engine import session_scope
from daemon.tables import (
    AuditEvent,
    Draft,
    Escalation,
    Message,
    Outbox,
    State,
    Ticket,
    utcnow,
)

log = logging.getLogger("helpdeskd.helpdesk")

MIRRORED = (
    State.routed,
    State.retrieved,
    State.drafted,
    State.decided,
    State.sent,
    State.awaiting_approval,
    State.escalated,
    State.rejected,
)
APPROVE_HOW = {
    "rt": 'set the custom field "{field}" to "{value}"',
    "zendesk": 'add the tag "{tag}" (or run the macro that adds it)',
    "freshdesk": 'add the tag "{tag}"',
}


@dataclass
class PushCounts:
    mirrored: int = 0
    notes: int = 0
    replies: int = 0
    escalations: int = 0
    failed: int = 0


def push_helpdesk(services: HelpdeskHost, helpdesk: Helpdesk, cfg: HelpdeskSettings) -> PushCounts:
    counts = PushCounts()
    if cfg.mode == "mirror":
        counts.mirrored = each(
            mirror_candidates(services, cfg),
            counts,
            lambda pk: mirror_message(services, helpdesk, cfg, pk),
            lambda pk, error: give_up(services, cfg, "helpdesk_mirrored", Message, pk, error),
        )
    counts.notes = each(
        note_candidates(services, cfg),
        counts,
        lambda pk: post_draft_note(services, helpdesk, cfg, pk),
        lambda pk, error: give_up(services, cfg, "helpdesk_note", Draft, pk, error),
    )
    if cfg.mode == "mirror":
        counts.replies = each(
            sent_reply_candidates(services, cfg),
            counts,
            lambda pk: note_sent_reply(services, helpdesk, cfg, pk),
            lambda pk, error: give_up(services, cfg, "helpdesk_reply_noted", Outbox, pk, error),
        )
    counts.escalations = each(
        escalation_candidates(services, cfg),
        counts,
        lambda pk: push_escalation(services, helpdesk, cfg, pk),
        lambda pk, error: give_up(services, cfg, "helpdesk_escalated", Escalation, pk, error),
    )
    return counts


def each(
    ids: list[int],
    counts: PushCounts,
    action: Callable[[int], None],
    failed: Callable[[int, str], None],
) -> int:
    """Run `action` on every id. A permanent error about one item (its ticket was deleted,
    the helpdesk refuses the content) is recorded with `failed` and never retried; anything
    else stops the push and is handled by the runner."""
    done = 0
    for pk in ids:
        try:
            action(pk)
            done += 1
        except HelpdeskError as exc:
            if not (exc.permanent and exc.scope == "item"):
                raise
            counts.failed += 1
            failed(pk, str(exc))
    return done


KEYS = {Draft: "draft_id", Escalation: "escalation_id", Outbox: "outbox_id"}


def give_up(
    services: HelpdeskHost, cfg: HelpdeskSettings, kind: str, model: type, pk: int, error: str
) -> None:
    """Record the action as done-with-an-error, so the next push does not try it again."""
    with session_scope(services.engine) as session:
        row = session.get(model, pk)
        ticket_id = getattr(row, "ticket_id", None)
        message = row if isinstance(row, Message) else None
        key = {KEYS[model]: pk} if model in KEYS else {}
        record_action(
            session, kind, ticket_id, message, helpdesk=cfg.name, error=error[:1000], **key
        )
    log.warning("%s: %s for %s %d failed for good: %s", cfg.name, kind, model.__name__, pk, error)


def since(cfg: HelpdeskSettings) -> Any:
    return utcnow() - timedelta(hours=max(cfg.lookback_hours, 1))


# --- mirror mode: mailbox messages into the helpdesk ----------------------------------------


def mirror_candidates(services: HelpdeskHost, cfg: HelpdeskSettings) -> list[int]:
    mirrored = select(AuditEvent.message_pk).where(
        AuditEvent.kind == "helpdesk_mirrored", col(AuditEvent.message_pk).is_not(None)
    )
    with session_scope(services.engine) as session:
        rows = session.exec(
            select(Message.id)
            .where(
                not_(col(Message.source).startswith(SOURCE_PREFIX)),
                col(Message.ticket_id).is_not(None),
                col(Message.state).in_([s.value for s in MIRRORED]),
                col(Message.received_at) >= since(cfg),
                col(Message.id).not_in(mirrored),
            )
            .order_by(col(Message.id))
        ).all()
    return [pk for pk in rows if pk is not None]


def mirror_message(
    services: HelpdeskHost, helpdesk: Helpdesk, cfg: HelpdeskSettings, pk: int
) -> None:
    with session_scope(services.engine) as session:
        message = session.get(Message, pk)
        assert message is not None and message.ticket_id is not None
        ticket = session.get(Ticket, message.ticket_id)
        assert ticket is not None
        remote_id, owner = ticket.helpdesk_ticket_id, ticket.helpdesk
        mail = customer_mail(message, message_content(session, pk))
    if owner not in (None, cfg.name):
        remote_id = None  # the ticket lives in another helpdesk (a source): not ours to mirror
    elif remote_id is None:
        remote_id = helpdesk.create_ticket(mail)
    else:
        remote = helpdesk.ticket(remote_id)
        entries = helpdesk.conversation(remote)
        if not (mail.text.strip() and find_entry(entries, mail.text, ("customer",))):
            helpdesk.add_customer_message(remote, mail)
    with session_scope(services.engine) as session:
        ticket = session.get(Ticket, message.ticket_id)
        assert ticket is not None
        if remote_id is not None and ticket.helpdesk_ticket_id is None:
            ticket.helpdesk, ticket.helpdesk_ticket_id = cfg.name, remote_id
            session.add(ticket)
        record_action(
            session,
            "helpdesk_mirrored",
            ticket.id,
            session.get(Message, pk),
            helpdesk=cfg.name,
            helpdesk_ticket_id=remote_id,
        )
    log.info("%s: message %d mirrored to ticket %s", cfg.name, pk, remote_id)


def customer_mail(message: Message, content: Content) -> CustomerMail:
    parsed = ParsedMail.from_json(content.parsed) if content.parsed else None
    sender = parsed.sender if parsed else None
    return CustomerMail(
        raw=content.raw,
        sender=Person(sender.name, sender.email) if sender else Person("", ""),
        subject=parsed.subject if parsed else (message.subject or ""),
        text=parsed.text if parsed else "",
    )


def sent_reply_candidates(services: HelpdeskHost, cfg: HelpdeskSettings) -> list[int]:
    """Replies mailed on this helpdesk's tickets that the ticket does not show yet."""
    with session_scope(services.engine) as session:
        rows = session.exec(
            select(Outbox.id, Outbox.ticket_id)
            .join(Ticket, col(Ticket.id) == col(Outbox.ticket_id))
            .where(
                Outbox.kind == "reply",
                Outbox.state == "sent",
                Ticket.helpdesk == cfg.name,
                col(Ticket.helpdesk_ticket_id).is_not(None),
                col(Outbox.created_at) >= since(cfg),
            )
            .order_by(col(Outbox.id))
        ).all()
        noted = done_ids(session, "helpdesk_reply_noted", "outbox_id", {t for _, t in rows if t})
    return [o for o, _ in rows if o is not None and o not in noted]


def note_sent_reply(
    services: HelpdeskHost, helpdesk: Helpdesk, cfg: HelpdeskSettings, outbox_id: int
) -> None:
    marker = f"[helpdeskd-sent-{outbox_id}]"
    with session_scope(services.engine) as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None and row.ticket_id is not None
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and ticket.helpdesk_ticket_id is not None
        remote_id = ticket.helpdesk_ticket_id
        text = services.templates.get_template("helpdesk_sent_note.txt.j2").render(
            marker=marker, outbox=row, text=reply_text(row.raw)
        )
    remote = helpdesk.ticket(remote_id)
    if find_entry(helpdesk.conversation(remote), marker, ("note",)) is None:
        helpdesk.post_note(remote_id, text)
    with session_scope(services.engine) as session:
        record_action(
            session,
            "helpdesk_reply_noted",
            row.ticket_id,
            outbox_id=outbox_id,
            helpdesk=cfg.name,
            helpdesk_ticket_id=remote_id,
        )


# --- draft notes ---------------------------------------------------------------------------


def note_candidates(services: HelpdeskHost, cfg: HelpdeskSettings) -> list[int]:
    """Pending drafts on this helpdesk's tickets whose note is not posted yet."""
    with session_scope(services.engine) as session:
        rows = session.exec(
            select(Draft.id, Draft.ticket_id)
            .join(Ticket, col(Ticket.id) == col(Draft.ticket_id))
            .where(
                Draft.status == "pending",
                Ticket.helpdesk == cfg.name,
                col(Ticket.helpdesk_ticket_id).is_not(None),
                col(Draft.created_at) >= since(cfg),
            )
            .order_by(col(Draft.id))
        ).all()
        posted = done_ids(session, "helpdesk_note", "draft_id", {t for _, t in rows})
    return [d for d, _ in rows if d is not None and d not in posted]


def post_draft_note(
    services: HelpdeskHost, helpdesk: Helpdesk, cfg: HelpdeskSettings, draft_id: int
) -> None:
    with session_scope(services.engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        ticket = session.get(Ticket, draft.ticket_id)
        assert ticket is not None and ticket.helpdesk_ticket_id is not None
        remote_id = ticket.helpdesk_ticket_id
        text = render_draft_note(services, cfg, session, draft)
    remote = helpdesk.ticket(remote_id)
    marker = draft_marker(draft_id)
    if find_entry(helpdesk.conversation(remote), marker, ("note",)) is None:
        if remote.mark is not None:
            helpdesk.clear_mark(remote)
        helpdesk.post_note(remote_id, text)
    with session_scope(services.engine) as session:
        record_action(
            session,
            "helpdesk_note",
            draft.ticket_id,
            draft_id=draft_id,
            helpdesk=cfg.name,
            helpdesk_ticket_id=remote_id,
        )
    log.info("%s ticket %s: draft %d posted for approval", cfg.name, remote_id, draft_id)


def render_draft_note(
    services: HelpdeskHost, cfg: HelpdeskSettings, session: Any, draft: Draft
) -> str:
    message = session.get(Message, draft.message_pk)
    passages = (
        [
            {"id": p["id"], "title": p.get("title", "")}
            for p in (message.passages or [])
            if p.get("id") in draft.citations
        ]
        if message
        else []
    )
    return services.templates.get_template("helpdesk_draft_note.txt.j2").render(
        marker=draft_marker(draft.id or 0),
        draft=draft,
        passages=passages or [{"id": c, "title": ""} for c in draft.citations],
        usage=usage_of(session, draft.message_pk),
        prefix=cfg.command_prefix,
        approve_how=approve_how(cfg),
        reject_how=reject_how(cfg),
    )


def approve_how(cfg: HelpdeskSettings) -> str:
    return APPROVE_HOW[cfg.kind].format(
        field=getattr(cfg, "approval_field", ""),
        value=getattr(cfg, "approved_value", ""),
        tag=getattr(cfg, "approve_tag", ""),
    )


def reject_how(cfg: HelpdeskSettings) -> str:
    if cfg.kind == "rt":
        return (
            f'or set "{getattr(cfg, "approval_field", "")}" to '
            f'"{getattr(cfg, "rejected_value", "")}"'
        )
    return f'or add the tag "{getattr(cfg, "reject_tag", "")}"'


# --- escalations ---------------------------------------------------------------------------


def escalation_candidates(services: HelpdeskHost, cfg: HelpdeskSettings) -> list[int]:
    with session_scope(services.engine) as session:
        rows = session.exec(
            select(Escalation.id, Escalation.ticket_id)
            .join(Ticket, col(Ticket.id) == col(Escalation.ticket_id))
            .where(
                Ticket.helpdesk == cfg.name,
                col(Ticket.helpdesk_ticket_id).is_not(None),
                col(Escalation.created_at) >= since(cfg),
            )
            .order_by(col(Escalation.id))
        ).all()
        pushed = done_ids(session, "helpdesk_escalated", "escalation_id", {t for _, t in rows if t})
    return [e for e, _ in rows if e is not None and e not in pushed]


def push_escalation(
    services: HelpdeskHost, helpdesk: Helpdesk, cfg: HelpdeskSettings, escalation_id: int
) -> None:
    with session_scope(services.engine) as session:
        row = session.get(Escalation, escalation_id)
        assert row is not None and row.ticket_id is not None
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and ticket.helpdesk_ticket_id is not None
        remote_id, reason = ticket.helpdesk_ticket_id, row.reason
        marker = escalation_marker(escalation_id)
        text = services.templates.get_template("helpdesk_escalation_note.txt.j2").render(
            marker=marker, escalation=row
        )
    remote = helpdesk.ticket(remote_id)
    if find_entry(helpdesk.conversation(remote), marker, ("note",)) is None:
        helpdesk.post_note(remote_id, text)
    helpdesk.escalate(remote, EscalationOrder(reason=reason))
    with session_scope(services.engine) as session:
        record_action(
            session,
            "helpdesk_escalated",
            row.ticket_id,
            escalation_id=escalation_id,
            helpdesk=cfg.name,
            helpdesk_ticket_id=remote_id,
        )
    log.info("%s ticket %s escalated: %s", cfg.name, remote_id, reason)
