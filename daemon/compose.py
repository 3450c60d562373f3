"""Composing our mail: replies that thread correctly, and escalation notices for agents.

Decides the headers of everything we send. Replies carry In-Reply-To and References so mail
clients thread them, the ticket tag in the subject, a deterministic Message-ID (so a resend is
recognisably the same mail) and, when no human approved it, `Auto-Submitted: auto-replied`
(RFC 3834) so other robots do not answer us. A reply goes to the From address. Account data
only ever goes to the verified From: a verified sender (the only one tools give data for) is
answered at From whatever Reply-To says; an unverified sender's Reply-To is honoured only within
the From domain.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import jinja2

from daemon.config import Settings
from daemon.models import utcnow
from daemon.records import Address, ParsedMail
from daemon.stages.thread import strip_subject

MAX_REFERENCES = 20


def reply_message_id(settings: Settings, kind: str, *ids: int) -> str:
    return f"helpdeskd.{kind}.{'.'.join(map(str, ids))}@{settings.mail.message_id_domain}"


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
    tag = f"[{settings.mail.ticket_tag}{ticket_id}]"
    return f"Re: {strip_subject(subject, settings.mail.ticket_tag) or '(no subject)'} {tag}"


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
    msg["To"] = formataddr((to.name, to.email))
    msg["Subject"] = reply_subject(settings, mail.subject, ticket_id)
    if mail.message_id:
        msg["In-Reply-To"] = f"<{mail.message_id}>"
        refs = [*mail.references, mail.message_id][-MAX_REFERENCES:]
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
    msg["X-Helpdeskd-Ticket"] = str(ticket_id)
    msg.set_content(body)
    return msg


def compose_notice(
    settings: Settings, *, to: str, subject: str, body: str, message_id: str
) -> EmailMessage:
    msg = base_message(settings, message_id)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


# 998 is RFC 5322's hard line limit. At the default 78, the email package RFC 2047-encodes a
# Message-ID it cannot fold (a long one in In-Reply-To), and threading breaks at every client.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def base_message(settings: Settings, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = formataddr((settings.mail.from_name, settings.mail.from_address))
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = f"<{message_id}>"
    msg["X-Auto-Response-Suppress"] = "All"  # Exchange: do not send us out-of-office replies
    return msg
