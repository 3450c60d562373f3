"""The SMTP sink against a real aiosmtpd server (STARTTLS/implicit TLS, AUTH) delivering into
Dovecot: answers mapped to retry or fail, connection reuse, and the Sent-folder record."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

import pytest

from connectors.base import ConnectorError, OutboundMail
from connectors.imap import PENDING, SENT, SentFolder
from connectors.smtp import SmtpOutbox
from daemon.config import ImapSource, SmtpSink
from tests.peers.common import free_port
from tests.peers.mail import Dovecot, SmtpPeer, imap_settings, smtp_settings

pytestmark = [pytest.mark.peers, pytest.mark.usefixtures("smtp_password")]


def outbound(to: str, n: int = 1) -> OutboundMail:
    msg = EmailMessage()
    message_id = f"helpdeskd.reply.{n}.{uuid.uuid4().hex[:8]}@helpdeskd.test"
    msg["From"] = "Example Support <support@example.test>"
    msg["To"] = f"Customer <{to}>"
    msg["Subject"] = f"Re: question {n} [#{n}]"
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content(f"Answer number {n}.\n")
    return OutboundMail(message_id, str(msg["From"]), (str(msg["To"]),), msg.as_bytes())


def make_sink(smtp_peer: SmtpPeer, sent_user: str | None = None, **overrides: Any) -> SmtpOutbox:
    cfg = SmtpSink(**smtp_settings(smtp_peer, **overrides))
    sent = None
    if sent_user is not None:
        sent = SentFolder(ImapSource(**imap_settings(smtp_peer.dovecot, sent_user)), "Sent")
    return SmtpOutbox(cfg, sent)


def subjects(dovecot: Dovecot, user: str, folder: str = "INBOX") -> list[str]:
    return [
        line.split(b":", 1)[1].strip().decode()
        for raw in dovecot.messages(user, folder)
        for line in raw.split(b"\r\n")
        if line.startswith(b"Subject:")
    ]


def test_starttls_auth_and_one_connection_for_a_flush(
    dovecot: Dovecot, smtp_peer: SmtpPeer
) -> None:
    customer = dovecot.new_user("customer")
    sink = make_sink(smtp_peer)
    answers = [sink.send(outbound(customer, n)) for n in range(3)]
    sink.close()
    assert all(a.startswith("250") for a in answers), answers
    assert subjects(dovecot, customer) == [f"Re: question {n} [#{n}]" for n in range(3)]
    assert len(smtp_peer.sessions) == 1


def test_a_connection_idle_too_long_is_replaced(dovecot: Dovecot, smtp_peer: SmtpPeer) -> None:
    customer = dovecot.new_user("customer")
    sink = make_sink(smtp_peer, reuse_seconds=0)
    sink.send(outbound(customer, 1))
    sink.send(outbound(customer, 2))
    sink.close()
    assert len(smtp_peer.sessions) == 2
    assert len(dovecot.messages(customer)) == 2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(dovecot: Dovecot) -> None:
    peer = SmtpPeer(dovecot, free_port(), implicit_tls=True)
    peer.start()
    try:
        customer = dovecot.new_user("customer")
        sink = make_sink(peer, tls="implicit")
        assert sink.send(outbound(customer)).startswith("250")
        sink.close()
    finally:
        peer.stop()
    assert len(dovecot.messages(customer)) == 1


ANSWERS = [
    # (what the server says to DATA, permanent?)
    ("451 4.3.0 Try again later", False),
    ("421 4.7.0 Closing connection", False),
    ("452 4.3.1 Insufficient system storage", False),
    ("550 5.7.1 Message rejected", True),
    ("554 5.6.0 Content refused", True),
]


@pytest.mark.parametrize(("answer", "permanent"), ANSWERS)
def test_server_answers_decide_retry_or_fail(
    dovecot: Dovecot, smtp_peer: SmtpPeer, answer: str, permanent: bool
) -> None:
    customer = dovecot.new_user("customer")
    smtp_peer.script = [answer]
    sink = make_sink(smtp_peer)
    with pytest.raises(ConnectorError) as info:
        sink.send(outbound(customer, 1))
    assert info.value.permanent is permanent
    assert answer.split()[0] in str(info.value)
    assert dovecot.messages(customer) == []
    assert sink.send(outbound(customer, 2)).startswith("250")  # the sink recovers
    sink.close()
    assert subjects(dovecot, customer) == ["Re: question 2 [#2]"]


def test_server_down_is_transient_and_back_works(dovecot: Dovecot, smtp_peer: SmtpPeer) -> None:
    customer = dovecot.new_user("customer")
    sink = make_sink(smtp_peer)
    smtp_peer.stop()
    with pytest.raises(ConnectorError) as info:
        sink.send(outbound(customer, 1))
    assert not info.value.permanent
    smtp_peer.start()
    assert sink.send(outbound(customer, 1)).startswith("250")
    sink.close()
    assert len(dovecot.messages(customer)) == 1


def test_a_refused_login_keeps_the_mail_queued(
    dovecot: Dovecot, smtp_peer: SmtpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRONG_SMTP_PASSWORD", "wrong")
    sink = make_sink(smtp_peer, password_env="WRONG_SMTP_PASSWORD")
    with pytest.raises(ConnectorError, match="credentials") as info:
        sink.send(outbound(dovecot.new_user("customer")))
    sink.close()
    assert not info.value.permanent


def test_an_untrusted_certificate_is_refused(dovecot: Dovecot, smtp_peer: SmtpPeer) -> None:
    sink = make_sink(smtp_peer, ca_file=None)
    with pytest.raises(ConnectorError, match=r"(?i)certificate") as info:
        sink.send(outbound(dovecot.new_user("customer")))
    sink.close()
    assert not info.value.permanent
    assert smtp_peer.accepted == []


def sent_flags(dovecot: Dovecot, user: str, message_id: str) -> list[set[bytes]]:
    client = dovecot.client(user, "Sent")
    try:
        uids = client.search(["HEADER", "Message-ID", f"<{message_id}>"])
        return [set(f) for f in client.get_flags(uids).values()]
    finally:
        client.logout()


def test_sent_folder_records_what_was_sent(dovecot: Dovecot, smtp_peer: SmtpPeer) -> None:
    support, customer = dovecot.new_user("support"), dovecot.new_user("customer")
    sink = make_sink(smtp_peer, sent_user=support, sent_folder="Sent")
    mail = outbound(customer, 1)
    sink.send(mail)
    assert sink.was_sent(mail.message_id) is True
    assert sent_flags(dovecot, support, mail.message_id) == [{b"\\Seen", SENT.encode()}]
    assert sink.was_sent("never-sent@helpdeskd.test") is False
    # A retry after a 451: the copy is staged once, not twice.
    retry = outbound(customer, 2)
    smtp_peer.script = ["451 4.3.0 later"]
    with pytest.raises(ConnectorError):
        sink.send(retry)
    assert sink.was_sent(retry.message_id) is None  # staged, no 250 yet: cannot tell
    sink.send(retry)
    assert sent_flags(dovecot, support, retry.message_id) == [{b"\\Seen", SENT.encode()}]
    # A permanent refusal removes the copy: the Sent folder only holds what went out.
    refused = outbound(customer, 3)
    smtp_peer.script = ["550 5.1.1 no such user"]
    with pytest.raises(ConnectorError):
        sink.send(refused)
    assert sink.was_sent(refused.message_id) is False
    sink.close()
    assert subjects(dovecot, customer) == ["Re: question 1 [#1]", "Re: question 2 [#2]"]


def test_a_crash_inside_the_transaction_is_unknown(dovecot: Dovecot, smtp_peer: SmtpPeer) -> None:
    """Staged but never confirmed (the process died between APPEND and the 250)."""
    support = dovecot.new_user("support")
    sink = make_sink(smtp_peer, sent_user=support, sent_folder="Sent")
    mail = outbound(dovecot.new_user("customer"))
    assert sink.sent is not None
    sink.sent.stage(mail.message_id, mail.raw)
    assert sent_flags(dovecot, support, mail.message_id) == [{b"\\Seen", PENDING.encode()}]
    assert sink.was_sent(mail.message_id) is None
    sink.close()


def test_without_a_sent_folder_the_sink_cannot_tell(smtp_peer: SmtpPeer) -> None:
    sink = make_sink(smtp_peer)
    assert sink.was_sent("anything@helpdeskd.test") is None
    sink.close()


def test_xoauth2_login(dovecot: Dovecot, smtp_peer: SmtpPeer) -> None:
    """AUTH XOAUTH2 with a token from the command; the server checks it with the same
    introspection registry as Dovecot's oauth2 passdb."""
    customer = dovecot.new_user("customer")
    dovecot.oauth.tokens["smtp-token-" + customer] = smtp_peer.username
    sink = make_sink(
        smtp_peer,
        auth="xoauth2",
        password_env="",
        oauth={"token_command": f"echo smtp-token-{customer}"},
    )
    assert sink.send(outbound(customer)).startswith("250")
    sink.close()
    bad = make_sink(
        smtp_peer, auth="xoauth2", password_env="", oauth={"token_command": "echo nope"}
    )
    with pytest.raises(ConnectorError, match="credentials"):
        bad.send(outbound(customer, 2))
    bad.close()
    assert len(dovecot.messages(customer)) == 1


def test_sent_folder_lookup_survives_a_dropped_connection(
    dovecot: Dovecot, smtp_peer: SmtpPeer
) -> None:
    """The IMAP connection kept between flushes was closed by the server meanwhile: the
    lookup reconnects instead of answering 'cannot tell' (which would park the row)."""
    support, customer = dovecot.new_user("support"), dovecot.new_user("customer")
    sink = make_sink(smtp_peer, sent_user=support, sent_folder="Sent")
    mail = outbound(customer)
    sink.send(mail)
    dovecot.kick(support)
    assert sink.was_sent(mail.message_id) is True
    sink.close()
