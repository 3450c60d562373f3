"""owned: does a human own this ticket? Then the model stays out of it.

Decides, when `[ownership] enabled`, two things in the flow (who owns a ticket is decided in
`daemon/ownership.py`). `agent_reply`, right after threading: mail on a ticket from our own
addresses (`mail.from_address`, `mail.our_addresses`) or an agent's (`ownership.agent_addresses`)
that carries none of our markers (a Message-ID we sent, our `helpdeskd.` Message-ID form, the
`X-Helpdeskd-Ticket` header) is an agent's personal reply: the ticket goes to that agent and the
mail is recorded as ignored (it is never answered). `run`, before routing, drafting's decision
and delivery: a message on a ticket a human owns is escalated with the reason "ticket owned by a
human", so no model triages or drafts for it and nothing is auto-sent, even when an agent took
the ticket while its draft was being written.
"""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated, Ignored
from daemon.kernel.stage import Context
from daemon.ownership import OWNED_REASON, give_to_human, owner_of
from daemon.records import ParsedMail
from daemon.stages.screen import LOOP_HEADER
from daemon.store.refs import remember_message_id
from daemon.tables import Message, MessageRef, Ticket


def run(item: Item, ctx: Context) -> Item | Escalated:
    if not ctx.settings.ownership.enabled or item.ticket_id is None:
        return item
    owner = owner_of(ctx.session, item.ticket_id)
    if owner is None:
        return item
    ctx.log.info("ticket %s is owned by a human: escalated, not drafted", item.ticket_id)
    return Escalated(f"{OWNED_REASON}: {owner}")


def agent_reply(item: Item, ctx: Context) -> Item | Ignored:
    mail = item.mail
    if not ctx.settings.ownership.enabled or not is_agent_mail(mail, ctx.settings):
        return item
    if is_ours(ctx.session, mail, ctx.settings):
        return item  # our own reply coming back (Sent folder, Cc): screening ignores it
    ticket_id = item.ticket_id or agent_ticket(ctx.session, mail, ctx.settings.mail.ticket_tag)
    if ticket_id is None:
        return item
    if item.ticket_id is None and mail.message_id:  # a customer answering it joins the ticket
        remember_message_id(ctx.session, mail.message_id, ticket_id, "in")
    assert mail.sender is not None
    agent = mail.sender.email.lower()
    give_to_human(ctx.session, ticket_id, agent, f"personal reply by {agent}", actor=agent)
    row = ctx.session.get(Message, item.pk)
    if row is not None:
        row.ticket_id = ticket_id  # the reply shows on its ticket (`tickets show`)
        ctx.session.add(row)
    ctx.log.info("ticket %s: an agent replied personally; a human owns it now", ticket_id)
    return Ignored(f"an agent's personal reply ({agent}): {OWNED_REASON}")


def is_agent_mail(mail: ParsedMail, settings: Settings) -> bool:
    if mail.sender is None:
        return False
    sender = mail.sender.email.lower()
    ours = {settings.mail.from_address.lower(), *(a.lower() for a in settings.mail.our_addresses)}
    agents = [a.lower() for a in settings.ownership.agent_addresses]
    return sender in ours or any(
        sender == a or (a.startswith("@") and sender.endswith(a)) for a in agents
    )


def is_ours(session: Session, mail: ParsedMail, settings: Settings) -> bool:
    """Mail helpdeskd wrote: one of our Message-IDs, or our loop header."""
    if mail.headers.get(LOOP_HEADER.lower()):
        return True
    mid = (mail.message_id or "").lower()
    if not mid:
        return False
    if mid.startswith("helpdeskd.") and mid.endswith("@" + settings.mail.message_id_domain.lower()):
        return True
    sent = session.exec(
        select(MessageRef.direction).where(
            MessageRef.message_id == mail.message_id, MessageRef.direction == "out"
        )
    ).first()
    return sent is not None


def agent_ticket(session: Session, mail: ParsedMail, tag: str) -> int | None:
    """The ticket an agent's mail answers: a Message-ID of the ticket it cites, else its
    subject tag. Unlike a customer's, an agent's tag needs no sender check: the worst a forged
    one does is give a ticket to the humans."""
    refs = [r for r in (mail.in_reply_to, *reversed(mail.references)) if r]
    if refs:
        known = dict(
            session.exec(
                select(MessageRef.message_id, MessageRef.ticket_id).where(
                    col(MessageRef.message_id).in_(refs)
                )
            ).all()
        )
        for ref in refs:
            if ref in known:
                return known[ref]
    match = re.search(r"\[" + re.escape(tag) + r"(\d{1,12})\]", mail.subject)
    ticket = session.get(Ticket, int(match.group(1))) if match else None
    return ticket.id if ticket is not None else None
