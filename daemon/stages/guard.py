"""guard: what a drafted reply may contain before `decide` may send it.

Decides whether a draft is held for an agent because of what the model wrote or what it read.
The model's text is untrusted: a reply is held (never auto-sent) when it links to a domain
that is not ours, not configured and not linked from the knowledge passages it was given, or
names an email address, phone number, order or tracking id or card digits that the context
does not give as the customer's own — their mail, their earlier mails on the ticket, the
knowledge passages (not `past_tickets`: other customers' answers), the tool results bound to
the verified sender (an identity parameter set by us, or an `owner_field` that is theirs: a
careless tool that answers for anyone proves nothing), our reply layout, and the configured
allow-lists. It is also held when an earlier mail of the ticket (its text, quoted history,
hidden HTML, attachment names or text) carries an injection signal: the model saw it. The
draft's `needs_human` and reason record the findings, so `decide` holds it with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlmodel import col, select

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.llm.entities import Entity, Known, find_entities, find_urls, host_of
from daemon.llm.injection import scan_mail
from daemon.mail.message import minimal
from daemon.outgoing_mail import wrap_reply
from daemon.records import ParsedMail, ToolResult, stored_reply_text
from daemon.store.audit import audit
from daemon.tables import Draft, Message, MessageContent, MessageParse

MAX_KNOWN_CHARS = 400_000
"""Context read for known values (~1 s of the worst hostile text; mail is usually 1000x less)."""
MAX_THREAD_BYTES = 10_000_000
"""Raw bytes of earlier mails scanned for injection per draft."""
UNTRUSTED_NAMESPACES = frozenset({"past_tickets"})
"""Passages written from other customers' tickets: what they hold is not this customer's."""
LABELS = {
    "links": "a link to a domain we do not allow",
    "addresses": "an email address that is not the customer's",
    "phones": "a phone number not in the customer's mail or their own tool results",
    "identifiers": "an order or tracking id not in the customer's mail or their own tool results",
    "cards": "card digits not in the customer's mail or their own tool results",
}
KIND_CHECK = {
    "link": "links",
    "address": "addresses",
    "phone": "phones",
    "identifier": "identifiers",
    "card": "cards",
}


def run(item: Item, ctx: Context) -> Item:
    """Check the draft; a draft with findings asks for a human, with them as its reason."""
    cfg = ctx.settings.guard
    draft = item.draft
    if not cfg.enabled or draft is None or item.parsed is None:
        return item
    findings = check_draft(item, ctx)
    if not findings:
        return item
    reason = "output guard: " + "; ".join(findings)
    held = replace(draft, needs_human=True, reason=f"{reason}; {draft.reason}"[:1000])
    row = ctx.session.get(Draft, item.draft_id) if item.draft_id is not None else None
    if row is not None:
        row.needs_human, row.reason = True, held.reason
        ctx.session.add(row)
    audit(ctx.session, "guard_held", message=ctx.session.get(Message, item.pk), findings=findings)
    ctx.log.info("draft held by the output guard: %s", reason)
    return replace(item, draft=held)


def check_draft(item: Item, ctx: Context) -> list[str]:
    """The findings that hold the draft (readable, one per kind), in a fixed order."""
    cfg = ctx.settings.guard
    assert item.draft is not None
    findings = check_reply(item, ctx, item.draft.reply) if set(cfg.hold_on) - {"injection"} else []
    if "injection" in cfg.hold_on:
        findings += check_thread(item, ctx)
    return findings


def check_reply(item: Item, ctx: Context, reply: str) -> list[str]:
    cfg = ctx.settings.guard
    patterns = identifier_patterns(cfg.identifier_patterns)
    known = Known.of(known_texts(item, ctx), patterns)
    domains = allowed_domains(ctx.settings, item)
    bad: dict[str, dict[str, None]] = {}
    for entity in find_entities(reply, patterns):
        check = KIND_CHECK[entity.kind]
        if check in cfg.hold_on and not allowed(entity, known, domains):
            bad.setdefault(check, {})[entity.text[:80]] = None
    return [f"{LABELS[c]} ({', '.join(list(v)[:5])})" for c, v in bad.items()]


def allowed(entity: Entity, known: Known, domains: frozenset[str]) -> bool:
    if entity.kind == "link":
        return in_domains(entity.key, domains)
    if entity.kind == "address":
        return entity.key in known.addresses or in_domains(entity.key.rsplit("@")[-1], domains)
    if entity.kind in ("phone", "card"):
        return known.has_digits(entity.key)
    return entity.key in known.words or (entity.key.isdigit() and known.has_digits(entity.key))


def in_domains(host: str, domains: Iterable[str]) -> bool:
    return bool(host) and any(host == d or host.endswith("." + d) for d in domains)


def known_texts(item: Item, ctx: Context) -> Iterator[str]:
    """Everything the reply may repeat, the trusted and small first: the allow-lists, our
    layout, the tool results bound to the verified sender, the knowledge passages, what the
    customer wrote now and before — at most `MAX_KNOWN_CHARS` in all (past that the guard
    only gets stricter)."""
    left = MAX_KNOWN_CHARS
    for text in context_texts(item, ctx):
        yield text[:left]
        left -= min(len(text), left)
        if left <= 0:
            return


def context_texts(item: Item, ctx: Context) -> Iterator[str]:
    mail, settings = item.mail, ctx.settings
    yield " ".join((settings.mail.from_address, *settings.mail.our_addresses))
    yield " ".join((*settings.guard.allowed_addresses, *settings.guard.allowed_numbers))
    yield f"#{item.ticket_id}" if item.ticket_id else ""
    yield wrap_reply(ctx.roles.templates, settings, mail, "")
    customer = mail.sender.email.lower() if mail.sender and mail.auth.verified else None
    assert item.draft is not None
    for result in item.draft.tool_results:
        if customer is not None and bound_to(result, settings, customer):
            yield flatten(result.result)
    yield from (p.text for p in item.passages if p.namespace not in UNTRUSTED_NAMESPACES)
    yield mail_text(mail)
    yield from earlier_texts(item, ctx)


def mail_text(mail: ParsedMail) -> str:
    people = " ".join(a.email for a in (*mail.reply_to, *mail.to, *mail.cc))
    names = " ".join(a.filename or "" for a in mail.attachments)
    sender = mail.sender.email if mail.sender else ""
    return f"{sender} {people}\n{mail.subject}\n{mail.text}\n{names}"


def earlier_texts(item: Item, ctx: Context) -> Iterator[str]:
    """The earlier mails of the ticket from the same sender (another sender's are not this
    customer's to be told)."""
    if item.ticket_id is None or item.mail.sender is None:
        return
    rows = ctx.session.exec(
        select(MessageParse.parsed)
        .join(Message, col(MessageParse.message_pk) == col(Message.id))
        .where(
            Message.ticket_id == item.ticket_id,
            col(Message.id) < item.pk,
            Message.sender == item.mail.sender.email,
        )
        .order_by(col(Message.id).desc())
        .limit(ctx.settings.guard.thread_messages)
    )
    for parsed in rows:
        yield mail_text(stored_mail(parsed))


def stored_mail(data: Mapping[str, Any]) -> ParsedMail:
    """A stored parse result as a record; one written by hand or by an older version (some
    keys missing) still gives its subject and text."""
    try:
        return ParsedMail.from_json(dict(data))
    except (KeyError, TypeError, ValueError):
        return replace(
            minimal(""),
            subject=str(data.get("subject") or ""),
            text=str(data.get("text") or ""),
            reply_text=stored_reply_text(data),
            defects=(),
        )


def bound_to(result: ToolResult, settings: Settings, customer: str) -> bool:
    """A successful result that is the customer's: its owner field names them, or (without
    one) every identity parameter was set to them by the daemon."""
    cfg = settings.tools.get(result.name)
    if not result.ok or cfg is None:
        return False
    if cfg.owner_field:
        from daemon.tools import owner_of  # the tool stack loads only when configured

        owner = owner_of(result.result, cfg.owner_field)
        return owner is not None and owner.lower() == customer
    args = result.arguments
    return bool(cfg.identity) and all(
        str(args.get(p, "")).lower() == customer for p in cfg.identity
    )


def flatten(data: Any) -> str:
    """A JSON value's keys and scalars as text (one per line)."""
    if isinstance(data, dict):
        return "\n".join(f"{k}\n{flatten(v)}" for k, v in data.items())
    if isinstance(data, list):
        return "\n".join(flatten(v) for v in data)
    return "" if data is None else str(data)


def allowed_domains(settings: Settings, item: Item) -> frozenset[str]:
    """Ours (From, other addresses, Message-ID domain), the configured ones and, when on,
    those linked from the knowledge passages the model was given."""
    mail, cfg = settings.mail, settings.guard
    ours = [a.rsplit("@", 1)[-1] for a in (mail.from_address, *mail.our_addresses)]
    domains = [*ours, mail.message_id_domain, *cfg.allowed_link_domains]
    if cfg.knowledge_link_domains:
        for p in item.passages:
            if p.namespace not in UNTRUSTED_NAMESPACES:
                domains += [e.key for _s, _e, e in find_urls(p.text)]
                domains += [host_of(p.source)] if "//" in p.source else []
    return frozenset(d.lower().strip(".") for d in domains if d)


@lru_cache(maxsize=16)
def identifier_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def check_thread(item: Item, ctx: Context) -> list[str]:
    """Injection signals in the earlier mails of the ticket (the model saw them as turns or
    in their summary), newest first, up to `thread_messages` and `MAX_THREAD_BYTES` of raw
    mail (a ticket full of bombs costs one bounded scan per draft, not one per bomb)."""
    if item.ticket_id is None:
        return []
    pks = ctx.session.exec(
        select(Message.id)
        .where(Message.ticket_id == item.ticket_id, col(Message.id) < item.pk)
        .order_by(col(Message.id).desc())
        .limit(ctx.settings.guard.thread_messages)
    ).all()
    found: list[str] = []
    left = MAX_THREAD_BYTES
    for pk in pks:
        parse = ctx.session.get(MessageParse, pk)
        content = ctx.session.get(MessageContent, pk)
        if parse is None or content is None or left <= 0:
            continue
        left -= len(content.raw)
        suspicion = scan_mail(stored_mail(parse.parsed), content.raw[: max(left, 0) or None])
        if suspicion:
            found.append(f"an earlier mail of the ticket (#{pk}): {suspicion.describe()}")
    return found[:3]
