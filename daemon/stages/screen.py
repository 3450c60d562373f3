"""screen: may this message be answered at all?

Decides which mail is never answered, as a table of small rules tried in order; the first that
objects names the reason, which the pipeline records (state `ignored`, audit row) and which is
counted in `helpdeskd_screened_out_total{rule=...}`. Ignored mail is never answered:

- no usable sender; our own outgoing mail (our From addresses, our Message-ID domain, or the
  `X-Helpdeskd-Ticket` header outgoing_mail.py stamps on every reply);
- machine-written mail (`daemon/mail/auto.py`: bounces, complaints, out-of-office, RFC 3834
  auto-replies, lists, bulk, no-reply senders) and the operator's no-reply patterns;
- a burst: beyond `burst_messages` inbound messages from one sender within `burst_minutes`
  (counted in arrival order, whatever became of them), so a looping robot or a flood cannot
  make us draft for each one; recorded as a `burst` audit event;
- one text from many senders: the same normalised new text (case, spacing, punctuation and
  digits aside) from `identical_body_senders` different senders within
  `identical_body_minutes` is a robot answering from a new address each time, or a campaign;
  recorded as an `identical_body` audit event;
- the reply caps per sender and per ticket and sender (Outbox rows of the last hour), which
  stop a loop with an autoresponder that sets none of the headers above. The caps across
  senders (global, per domain) are checked when sending (`daemon.replycaps`), where reaching
  one holds the draft for an agent instead of dropping a customer's mail.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import col, select

from daemon.kernel.item import Item
from daemon.kernel.outcomes import Ignored
from daemon.kernel.stage import Context
from daemon.metrics import SCREENED_OUT
from daemon.outbox import recent_replies, replies_to_customers
from daemon.records import ParsedMail
from daemon.store.audit import audit
from daemon.tables import Message

Rule = Callable[[Item, Context], str | None]
LOOP_HEADER = "X-Helpdeskd-Ticket"  # outgoing_mail.py stamps it on every reply we send


def run(item: Item, ctx: Context) -> Item | Ignored:
    for rule in RULES:
        reason = rule(item, ctx)
        if reason:
            SCREENED_OUT.labels(rule.__name__).inc()
            ctx.log.info("screened out by %s: %s", rule.__name__, reason)
            return Ignored(reason)
    return item


def no_sender(item: Item, ctx: Context) -> str | None:
    return None if item.mail.sender else "no usable sender address"


def own_mail(item: Item, ctx: Context) -> str | None:
    mail, cfg = item.mail, ctx.settings.mail
    ours = {cfg.from_address.lower(), *(a.lower() for a in cfg.our_addresses)}
    if mail.sender and mail.sender.email.lower() in ours:
        return f"our own mail (from {mail.sender.email})"
    domain = cfg.message_id_domain.lower()
    if mail.message_id and mail.message_id.lower().endswith("@" + domain):
        return f"our own mail (Message-ID on {domain})"
    ticket = item.mail.headers.get(LOOP_HEADER.lower(), "")
    if ticket:
        return f"our own mail ({LOOP_HEADER}: {ticket[:20]})"
    return None


def machine_written(item: Item, ctx: Context) -> str | None:
    auto = item.mail.auto
    if item.mail.bounce is not None and auto.kind != "bounce":
        return "bounce: " + (auto.reason or "delivery status notification")
    return f"{auto.kind}: {auto.reason}" if auto.is_auto else None


def noreply_sender(item: Item, ctx: Context) -> str | None:
    sender = sender_of(item)
    for pattern in ctx.settings.screen.noreply_patterns:
        if re.search(pattern, sender):
            return f"no-reply sender {sender}"
    return None


def burst(item: Item, ctx: Context) -> str | None:
    cfg = ctx.settings.screen
    sender = sender_of(item)
    written = item.mail.sender.email if item.mail.sender else ""
    since = ctx.now - timedelta(minutes=cfg.burst_minutes)
    earlier = earlier_from_sender(ctx, item.pk, written, since)
    if earlier < cfg.burst_messages:
        return None
    if earlier == cfg.burst_messages:  # the first one over the limit: tell the operator once
        ctx.log.warning("burst from %s: throttling after %d messages", sender, earlier)
    audit(
        ctx.session,
        "burst",
        message=ctx.session.get(Message, item.pk),
        sender=sender,
        earlier=earlier,
        window_minutes=cfg.burst_minutes,
    )
    return (
        f"burst: {earlier + 1} messages from {sender} within {cfg.burst_minutes} minutes "
        f"(more than {cfg.burst_messages}): throttled"
    )


def earlier_from_sender(ctx: Context, pk: int, written: str, since: datetime) -> int:
    """Inbound messages before message `pk` from its sender (as written, or lower-cased)
    received since `since`. Counted for the whole batch at its first message, in one query
    (the batch's senders were flushed after its parse step, and nothing the screen step
    writes changes a count); a message stepped alone is counted alone."""
    memo: dict[int, int] = ctx.session.info.setdefault(BURST_MEMO, {})
    if pk not in memo:
        batch = [(row.id, row.sender) for row in ctx.batch if row.id and row.sender]
        wanted = batch if any(key == pk for key, _ in batch) else [(pk, written)]
        memo.update(count_earlier(ctx, wanted, since))
    return memo[pk]


BURST_MEMO = "helpdeskd.screen.earlier"


def count_earlier(ctx: Context, wanted: list[tuple[int, str]], since: datetime) -> dict[int, int]:
    senders = {form for _pk, written in wanted for form in (written, written.lower())}
    params = {"senders": list(senders), "since": since, "below": max(pk for pk, _ in wanted)}
    # On the connection, not the session: a session query would first flush every row the
    # batch changed so far, one by one, instead of once at the end.
    found = ctx.session.connection().execute(FROM_SENDERS, params).all()
    ids: dict[str, list[int]] = {}
    for found_pk, sender in sorted(found):
        ids.setdefault(sender, []).append(found_pk)
    counts = {}
    for pk, written in wanted:
        forms = {written, written.lower()}
        counts[pk] = sum(bisect_left(ids.get(form, []), pk) for form in forms)
    return counts


FROM_SENDERS = select(Message.id, Message.sender).where(
    # the sender index, not lower(): a backfill of thousands must not scan them all
    col(Message.sender).in_(bindparam("senders", expanding=True)),
    col(Message.received_at) >= bindparam("since"),
    col(Message.id) < bindparam("below"),
)
"""Built once: it runs for every screened batch."""


def identical_body(item: Item, ctx: Context) -> str | None:
    cfg = ctx.settings.screen
    digest = body_digest(item.mail) if cfg.identical_body_senders else None
    if digest is None:
        return None
    row = ctx.session.get(Message, item.pk)
    if row is not None:
        row.body_hash = digest  # written with the step: later mail is compared with it
    since = ctx.now - timedelta(minutes=cfg.identical_body_minutes)
    senders = senders_of_body(ctx, item.pk, digest, since) | {sender_of(item)}
    ctx.session.info.setdefault(BODIES_MEMO, {}).setdefault(digest, set()).add(sender_of(item))
    if len(senders) < cfg.identical_body_senders:
        return None
    audit(ctx.session, "identical_body", message=row, senders=len(senders), body_hash=digest)
    return (
        f"identical body: the same text from {len(senders)} different senders within "
        f"{cfg.identical_body_minutes} minutes (robot or campaign)"
    )


MIN_BODY_CHARS = 80
"""Shorter normalised texts ("Thanks!", "Hello, where is my order 10005? I am waiting for it.")
are the same by chance, from real customers; a robot's boilerplate is longer."""


def body_digest(mail: ParsedMail) -> str | None:
    """A hash of the mail's new text with case, spacing, punctuation and digits (ticket numbers
    and dates a robot fills in) normalised away; None when the text is too short to tell."""
    text = re.sub(r"\d+", "0", unicodedata.normalize("NFKC", mail.reply_text or mail.text))
    normal = " ".join(re.findall(r"\w+", text.casefold()))
    if len(normal) < MIN_BODY_CHARS:
        return None
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def senders_of_body(ctx: Context, pk: int, digest: str, since: datetime) -> set[str]:
    """Senders (lower-cased) of earlier mail with this body since `since`: committed rows from
    the database, and this transaction's own from a memo (its rows are not flushed yet)."""
    memo: dict[str, set[str]] = ctx.session.info.setdefault(BODIES_MEMO, {})
    params = {"digest": digest, "since": since, "below": pk}
    found = {str(s).lower() for (s,) in ctx.session.connection().execute(SAME_BODY, params) if s}
    return found | memo.get(digest, set())


BODIES_MEMO = "helpdeskd.screen.bodies"
SAME_BODY = (
    select(Message.sender)
    .where(
        Message.body_hash == bindparam("digest"),
        col(Message.received_at) >= bindparam("since"),
        col(Message.id) < bindparam("below"),
    )
    .distinct()
)


def reply_caps(item: Item, ctx: Context) -> str | None:
    cfg = ctx.settings.screen
    since = ctx.now - timedelta(hours=1)
    to_sender = replies_to_sender(ctx, sender_of(item), since)
    if to_sender >= cfg.replies_per_sender_per_hour:
        return f"reply cap: {to_sender} replies to this sender in the last hour (loop guard)"
    if item.ticket_id is not None:  # counted per sender: no one else can spend it
        on_ticket = recent_replies(
            ctx.session, since, customer=sender_of(item), ticket_id=item.ticket_id
        )
        if on_ticket >= cfg.replies_per_ticket_per_hour:
            return f"reply cap: {on_ticket} replies on this ticket in the last hour (loop guard)"
    return None


def replies_to_sender(ctx: Context, sender: str, since: datetime) -> int:
    """Replies queued to `sender` since `since`: for the whole batch's senders in one query
    at its first message (the screen step queues no replies; sending checks the cap again
    under a lock, `daemon.stages.deliver`)."""
    memo: dict[str, int] = ctx.session.info.setdefault(REPLIES_MEMO, {})
    if sender not in memo:
        batch = {row.sender.lower() for row in ctx.batch if row.sender}
        wanted = batch if sender in batch else {sender}
        memo.update(replies_to_customers(ctx.session, since, wanted))
    return memo[sender]


REPLIES_MEMO = "helpdeskd.screen.replies"


def sender_of(item: Item) -> str:
    return item.mail.sender.email.lower() if item.mail.sender else ""


RULES: tuple[Rule, ...] = (
    no_sender,
    own_mail,
    machine_written,
    noreply_sender,
    burst,
    identical_body,
    reply_caps,
)
