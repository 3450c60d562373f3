"""screen: may this message be answered at all?

Decides which mail is never answered — machine-written mail (RFC 3834 auto-replies,
out-of-office, bounces, lists, bulk), no-reply senders, our own outgoing mail — and enforces the
per-sender and per-ticket reply caps that stop a loop with an autoresponder that sets no
headers. Screened-out mail is recorded with the reason, never answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import col, func, select

from daemon.item import Context, Item
from daemon.models import Outbox
from daemon.records import Ignored

Rule = Callable[[Item, Context], str | None]


def run(item: Item, ctx: Context) -> Item | Ignored:
    for rule in RULES:
        reason = rule(item, ctx)
        if reason:
            return Ignored(reason)
    return item


def machine_written(item: Item, ctx: Context) -> str | None:
    auto = item.mail.auto
    if item.mail.bounce is not None:
        return "bounce: " + (auto.reason or "delivery status notification")
    return f"{auto.kind}: {auto.reason}" if auto.is_auto else None


def no_sender(item: Item, ctx: Context) -> str | None:
    return None if item.mail.sender else "no usable sender address"


def own_mail(item: Item, ctx: Context) -> str | None:
    mail, cfg = item.mail, ctx.settings.mail
    ours = {cfg.from_address.lower(), *(a.lower() for a in cfg.our_addresses)}
    if mail.sender and mail.sender.email.lower() in ours:
        return f"our own mail (from {mail.sender.email})"
    if mail.message_id and mail.message_id.endswith("@" + cfg.message_id_domain):
        return "our own mail (our Message-ID)"
    return None


def noreply_sender(item: Item, ctx: Context) -> str | None:
    sender = item.mail.sender.email.lower() if item.mail.sender else ""
    for pattern in ctx.settings.screen.noreply_patterns:
        if re.search(pattern, sender):
            return f"no-reply sender {sender}"
    return None


def reply_caps(item: Item, ctx: Context) -> str | None:
    cfg = ctx.settings.screen
    since = ctx.now - timedelta(hours=1)
    sender = item.mail.sender.email.lower() if item.mail.sender else ""
    recent = (
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.kind == "reply", col(Outbox.created_at) >= since)
    )
    to_sender = ctx.session.exec(recent.where(Outbox.customer == sender)).one()
    if to_sender >= cfg.replies_per_sender_per_hour:
        return f"reply cap: {to_sender} replies to this sender in the last hour (loop guard)"
    if item.ticket_id is not None:
        on_ticket = ctx.session.exec(recent.where(Outbox.ticket_id == item.ticket_id)).one()
        if on_ticket >= cfg.replies_per_ticket_per_hour:
            return f"reply cap: {on_ticket} replies on this ticket in the last hour (loop guard)"
    return None


RULES: tuple[Rule, ...] = (no_sender, own_mail, machine_written, noreply_sender, reply_caps)
