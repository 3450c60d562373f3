"""Composing our mail: replies that thread correctly, and escalation notices for agents.

Decides the headers of everything we send. Replies carry In-Reply-To and References so mail
clients thread them, the ticket tag in the subject, a deterministic Message-ID (so a resend is
recognisably the same mail) and, when no human approved it, `Auto-Submitted: auto-replied`
(RFC 3834) so other robots do not answer us. A reply goes to the From address. Account data
only ever goes to the verified From: a verified sender (the only one tools give data for) is
answered at From whatever Reply-To says; an unverified sender's Reply-To is honoured only within
the From domain. Nothing from the customer's headers is copied unchecked: ids must be valid
msg-ids (`connectors.rfc5322.msgid`) and are written raw, text and names go through
`connectors.rfc5322.headertext`. Our Message-IDs carry an HMAC of their deterministic part
(`daemon.secret`), so nobody can guess the id of someone else's reply and thread into that ticket.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import jinja2

from connectors.rfc5322.headertext import MAX_SUBJECT, clean_text, mailbox
from connectors.rfc5322.msgid import fold_ids, reply_ids
from daemon.config import Settings
from daemon.mail.subject import strip_subject
from daemon.records import Address, ParsedMail
from daemon.secret import message_id_secret
from daemon.tables import utcnow


def reply_message_id(settings: Settings, kind: str, *ids: int) -> str:
    """`helpdeskd.<kind>.<ids>.<mac>@<domain>`: the same for the same row every time (the
    Sent-folder check after a crash finds the mail by it), unguessable without the secret."""
    base = f"helpdeskd.{kind}.{'.'.join(map(str, ids))}"
    domain = settings.mail.message_id_domain
    mac = hmac.new(message_id_secret(settings), f"{base}@{domain}".encode(), hashlib.sha256)
    return f"{base}.{mac.hexdigest()[:32]}@{domain}"


def reply_recipient(mail: ParsedMail) -> Address | None:
    sender = mail.sender
    if sender is None or mail.auth.verified:
        return sender  # a verified sender's reply may carry account data: From only
    domain = sender.email.rsplit("@", 1)[-1].lower()
    for alt in mail.reply_to:
        if alt.email.rsplit("@", 1)[-1].lower() == domain:
            return alt
    return sender


def reply_subject(settings: Settings, subject: str, ticket_id: int) -> str:
    """`Re: <their subject, cleaned and capped> [#<ticket>]`: the tag always survives the cap."""
    tag = f"[{settings.mail.ticket_tag}{ticket_id}]"
    theirs = clean_text(strip_subject(subject, settings.mail.ticket_tag), MAX_SUBJECT - 20)
    return f"Re: {theirs or '(no subject)'} {tag}"


def set_thread_headers(msg: EmailMessage, mail: ParsedMail) -> None:
    """In-Reply-To and References from the valid ids only, set raw (`set_raw`): through the
    header factory an id holding `=?utf-8?q?=0D=0A?=` would be decoded into a line break, and
    a long id folded into an RFC 2047 word no client threads on."""
    in_reply_to, references = reply_ids(mail.message_id, mail.references)
    if in_reply_to is None:
        return
    msg.set_raw("In-Reply-To", f"<{in_reply_to}>")
    msg.set_raw("References", fold_ids(references))


def wrap_reply(
    templates: jinja2.Environment, settings: Settings, mail: ParsedMail, body: str
) -> str:
    """Greeting, body, signature and AI disclosure in the customer's language, from
    templates/reply.txt.j2 and [reply] (per language: [reply.languages.<code>])."""
    texts = settings.reply.texts(mail.language)
    name = mail.sender.name.split()[0] if mail.sender and mail.sender.name.strip() else ""
    greeting = (texts.greeting or "").format(name=name) if name else texts.greeting_anonymous
    return templates.get_template("reply.txt.j2").render(
        greeting=greeting,
        body=body.strip(),
        signature=texts.signature,
        ai_disclosure=texts.ai_disclosure,
    )


def compose_reply(
    settings: Settings,
    mail: ParsedMail,
    *,
    ticket_id: int,
    body: str,
    message_id: str,
    automatic: bool,
) -> EmailMessage:
    to = reply_recipient(mail)
    if to is None:
        raise ValueError("the message has no sender to reply to")
    msg = base_message(settings, message_id)
    msg["To"] = mailbox(to.name, to.email)
    msg["Subject"] = clean_text(reply_subject(settings, mail.subject, ticket_id), MAX_SUBJECT)
    set_thread_headers(msg, mail)
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
    msg["X-Helpdeskd-Ticket"] = str(ticket_id)
    msg.set_content(body)
    return msg


def compose_notice(
    settings: Settings, *, to: str, subject: str, body: str, message_id: str
) -> EmailMessage:
    msg = base_message(settings, message_id)
    msg["To"] = mailbox(*parseaddr(to))  # an operator may write "Agents <agents@…>"
    msg["Subject"] = clean_text(subject, MAX_SUBJECT)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


# 998 is RFC 5322's hard line limit. At the default 78, the email package RFC 2047-encodes a
# Message-ID it cannot fold (a long one in In-Reply-To), and threading breaks at every client.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def base_message(settings: Settings, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = mailbox(settings.mail.from_name, settings.mail.from_address)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = f"<{message_id}>"
    msg["X-Auto-Response-Suppress"] = "All"  # Exchange: do not send us out-of-office replies
    return msg
