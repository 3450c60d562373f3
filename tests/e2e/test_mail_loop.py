"""The whole loop on real servers: a customer mails support over SMTP, Dovecot files it in the
support INBOX, `helpdeskd run --once` reads and drafts, an agent approves the draft
(`daemon.approvals.approve`: the offline drafter always holds its drafts), the next run sends the
reply over SMTP, and it lands in the customer's INBOX threaded under the question. Also:
`helpdeskd backfill` with --since, rerun, and a cursor that does not move back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import signal
import ssl
import subprocess
import sys
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlmodel import select

from daemon.app import build_services
from daemon.approvals import approve
from daemon.config import load_settings
from daemon.store.engine import session_scope
from daemon.tables import Cursor, Draft, Message, Outbox
from tests.peers.mail import Dovecot, SmtpPeer, customer_mail, daemon_config

pytestmark = [pytest.mark.peers, pytest.mark.usefixtures("smtp_password")]
HELPDESKD = str(Path(sys.executable).with_name("helpdeskd"))


def helpdeskd(config: Path, *args: str) -> str:
    done = subprocess.run(
        [HELPDESKD, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def approve_pending(config: Path) -> int:
    services = build_services(load_settings(config))
    try:
        with session_scope(services.engine) as session:
            drafts = session.exec(select(Draft.id).where(Draft.status == "pending")).all()
        for draft_id in drafts:
            assert draft_id is not None
            approve(services, draft_id, actor="agent@example.test")
        return len(drafts)
    finally:
        services.close()


def submit(smtp: SmtpPeer, sender: str, to: str, subject: str, body: str) -> str:
    """The customer's mail client: submission with STARTTLS and AUTH."""
    msg = EmailMessage()
    msg["From"] = f"Casey Customer <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = email.utils.make_msgid("question", domain="customer.example.test")
    msg["Date"] = email.utils.format_datetime(datetime.now().astimezone())
    msg.set_content(body)
    asyncio.run(
        aiosmtplib.send(
            msg,
            hostname="127.0.0.1",
            port=smtp.port,
            start_tls=True,
            tls_context=ssl.create_default_context(cafile=str(smtp.dovecot.cert)),
            username=smtp.username,
            password=smtp.password,
        )
    )
    return str(msg["Message-ID"])


def test_customer_mail_is_answered_in_thread(
    tmp_path: Path, dovecot: Dovecot, smtp_peer: SmtpPeer
) -> None:
    support, customer = dovecot.new_user("support"), dovecot.new_user("customer")
    config = daemon_config(tmp_path, dovecot, smtp_peer, support)
    question_id = submit(
        smtp_peer, customer, support, "Where is my order 12345?", "It has not arrived yet.\n"
    )
    assert len(dovecot.messages(support)) == 1

    out = helpdeskd(config, "run", "--once")
    assert "source support: 1 new (ok)" in out
    assert approve_pending(config) == 1
    out = helpdeskd(config, "run", "--once")
    assert "outbox: sent 1" in out

    replies = dovecot.messages(customer)
    assert len(replies) == 1
    reply = email.message_from_bytes(replies[0], policy=email.policy.default)
    assert str(reply["In-Reply-To"]).strip() == question_id  # may be folded onto a new line
    assert question_id in str(reply["References"]).split()
    assert str(reply["Subject"]).startswith("Re: Where is my order 12345?")
    assert "[#" in str(reply["Subject"])
    assert str(reply["Message-ID"]).endswith("@helpdeskd.test>")
    assert reply["Auto-Submitted"] is None  # an agent approved it: not an automatic reply
    sent = dovecot.messages(support, "Sent")
    assert len(sent) == 1 and reply["Message-ID"].encode() in sent[0]

    # Later cycles find nothing new and send nothing twice.
    out = helpdeskd(config, "run", "--once")
    assert "source support: 0 new (ok)" in out and "outbox: sent 0" in out
    assert len(dovecot.messages(customer)) == 1


def test_backfill_since_a_day_then_rerun(
    tmp_path: Path, dovecot: Dovecot, smtp_peer: SmtpPeer
) -> None:
    support = dovecot.new_user("support")
    config = daemon_config(tmp_path, dovecot, smtp_peer, support)
    old, new = datetime.now().astimezone() - timedelta(days=30), datetime.now().astimezone()
    client = dovecot.client(support, None)
    for n in range(5):
        client.append("INBOX", customer_mail(f"old{n}@shop.test", support, n), msg_time=old)
    for n in range(5, 12):
        client.append("INBOX", customer_mail(f"new{n}@shop.test", support, n), msg_time=new)
    client.logout()
    # A poll already read the mailbox up to here: the backfill must not move that back.
    since = (new - timedelta(days=1)).strftime("%Y-%m-%d")
    out = helpdeskd(config, "backfill", "support", "--since", since)
    assert "support: 7 recorded (7 screened), 0 already there" in out
    out = helpdeskd(config, "backfill", "support")
    assert "support: 5 recorded (5 screened), 7 already there" in out
    services = build_services(load_settings(config))
    try:
        with session_scope(services.engine) as session:
            states = session.exec(select(Message.state)).all()
            cursor = session.get(Cursor, "support")
            assert session.exec(select(Outbox)).all() == []
    finally:
        services.close()
    assert sorted(states) == ["screened"] * 12
    assert cursor is not None and cursor.value is not None and cursor.value.endswith(":12")


def test_the_running_daemon_reads_new_mail_at_once_with_idle(
    tmp_path: Path, dovecot: Dovecot, smtp_peer: SmtpPeer
) -> None:
    """`helpdeskd run` polls every 300 s here: only IDLE can explain a mail read in seconds."""
    support = dovecot.new_user("support")
    config = daemon_config(tmp_path, dovecot, smtp_peer, support, poll_seconds=300)
    daemon = subprocess.Popen(
        [HELPDESKD, "run", "--config", str(config)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: polled(config), "the first poll", 60)
        time.sleep(1.5)  # the IDLE thread is connected and waiting by now
        dovecot.deliver(support, customer_mail("idle@shop.test", support, 1))
        t0 = time.monotonic()
        wait_for(lambda: recorded_count(config) == 1, "the mail to be recorded", 30)
        assert time.monotonic() - t0 < 20
    finally:
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, output


def wait_for(check: Any, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def polled(config: Path) -> bool:
    services = build_services(load_settings(config), migrate=False)
    try:
        with session_scope(services.engine) as session:
            cursor = session.get(Cursor, "support")
            return cursor is not None and cursor.last_success_at is not None
    except Exception:  # the daemon has not created the database yet
        return False
    finally:
        services.close()


def recorded_count(config: Path) -> int:
    services = build_services(load_settings(config), migrate=False)
    try:
        with session_scope(services.engine) as session:
            return len(session.exec(select(Message.id)).all())
    finally:
        services.close()
