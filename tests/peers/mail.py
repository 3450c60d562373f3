"""Real mail servers for the tests: a private Dovecot (IMAP, IMAPS, LMTP) and an aiosmtpd server.

Decides how the mail tests get their peers. Dovecot runs from its own config in a scratch
folder, on free loopback ports, with a self-signed certificate (`dovecot.cert`, the CA file
the connectors are given). Any user name logs in with the password `secret` (a static passdb)
and gets its own Maildir, so each test takes fresh mailboxes by picking new user names instead
of restarting the server. XOAUTH2 is checked for real: Dovecot's `oauth2` passdb asks a local
token-introspection endpoint (`OAuthIntrospection`, an HTTP server in this process) whether a
bearer token is active and whose it is.

SMTP is an aiosmtpd server (STARTTLS required, AUTH required) that delivers every accepted
mail into Dovecot by LMTP — the real path of a mail into an INBOX — and that a test can script
(`SmtpPeer.script`: answer 451 then 250, 550, …) or stop and restart on the same port.
Postfix is not used: aiosmtpd is both the submission server our sink talks to and, scripted,
the faulty server the fault tests need (PEERS.md §2 shows Postfix works too).

Missing binaries or not being root skip the tests with the fix (tests/peers/provision.sh).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from imapclient import IMAPClient

from tests.factories import mime_mail
from tests.peers.common import (
    Proc,
    elapsed,
    free_port,
    report,
    require_binary,
    require_root,
    run,
    user_ids,
    wait_for_banner,
    wait_until,
)

PASSWORD = "secret"
PASSWORD_ENV = "HELPDESKD_TEST_MAIL_PASSWORD"  # the connectors read the password from here
SMTP_PASSWORD_ENV = "HELPDESKD_TEST_SMTP_PASSWORD"
DOMAIN = "example.test"
FAILING_ADDRESSES = itertools.count(2)

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = helpdeskd-test-{tag}
log_path = {root}/log/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    port = {lmtp}
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""

OAUTH2_CONF = """\
introspection_mode = post
introspection_url = http://127.0.0.1:{port}/introspect
username_attribute = username
active_attribute = active
active_value = true
"""


class OAuthIntrospection:
    """A token-introspection endpoint (RFC 7662) and a token endpoint (refresh grant)."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # access token -> user
        self.refresh: dict[str, str] = {}  # refresh token -> user
        self.requests: list[str] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                peer.requests.append(self.path)
                status, body = peer.answer(self.path, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path == "/introspect":
            user = self.tokens.get(form.get("token", ""))
            return 200, {"active": True, "username": user} if user else {"active": False}
        if path == "/token" and form.get("grant_type") == "refresh_token":
            user = self.refresh.get(form.get("refresh_token", ""))
            if user is None:
                return 400, {"error": "invalid_grant"}
            token = uuid.uuid4().hex
            self.tokens[token] = user
            return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        return 404, {"error": "not found"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Dovecot:
    """A running private Dovecot and the hooks the tests drive it with."""

    root: Path
    imap_port: int
    imaps_port: int
    lmtp_port: int
    oauth: OAuthIntrospection
    proc: Proc | None = None
    _users: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    host = "127.0.0.1"

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    @property
    def log(self) -> Path:
        return self.root / "log" / "dovecot.log"

    def new_user(self, name: str) -> str:
        """A fresh address (so a fresh, empty mailbox) for this test."""
        return f"{name}-{next(self._users)}-{uuid.uuid4().hex[:6]}@{DOMAIN}"

    def start(self) -> None:
        binary = require_binary("dovecot", "dovecot-imapd")
        t0 = time.monotonic()
        self.proc = Proc.start("dovecot", [binary, "-F", "-c", str(self.conf)], log=self.log)
        wait_for_banner(self.imap_port, b"* OK", log=self.log, proc=self.proc)
        wait_for_banner(self.lmtp_port, b"220", log=self.log, proc=self.proc)
        report("dovecot start", elapsed(t0))

    def stop(self) -> None:
        if self.proc is not None:
            self.kick()  # `dovecot stop` alone leaves connected imap processes running
            self.proc.stop()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def doveadm(self, *args: str, input: bytes | None = None) -> str:
        binary = require_binary("doveadm", "dovecot-core")
        done = run([binary, "-c", str(self.conf), *args], f"doveadm {args[0]}", input=input)
        return done.stdout.decode()

    def kick(self, user: str = "*") -> None:
        binary = require_binary("doveadm", "dovecot-core")
        subprocess.run(
            [binary, "-c", str(self.conf), "kick", user],
            capture_output=True,
            check=False,
            timeout=30,
        )

    def set_uidvalidity(self, user: str, value: int, mailbox: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), mailbox)

    def deliver(self, user: str, raw: bytes) -> None:
        """Deliver like an MTA would: LMTP into the user's INBOX."""
        self.deliver_many([user], raw)

    def deliver_many(self, recipients: list[str], raw: bytes) -> None:
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail(f"bounces@{DOMAIN}", recipients, raw)

    def client(self, user: str, folder: str | None = "INBOX") -> IMAPClient:
        """A logged-in IMAP client (plain port: we are the other client in the tests)."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=30)
        client._imap.debug = 0
        client.login(user, PASSWORD)
        if folder:
            client.select_folder(folder)
        return client

    def append(self, user: str, raws: list[bytes], folder: str = "INBOX") -> None:
        client = self.client(user, None)
        try:
            for raw in raws:
                client.append(folder, raw)
        finally:
            client.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Every message of a folder, in UID order (read with BODY.PEEK[])."""
        client = self.client(user, None)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [bytes(data[u][b"BODY[]"]) for u in sorted(data)]
        finally:
            client.logout()


def make_certificate(root: Path) -> None:
    openssl = require_binary("openssl", "openssl")
    run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(root / "key.pem"),
            "-out",
            str(root / "cert.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        "self-signed certificate",
    )


def configure_dovecot(root: Path, oauth: OAuthIntrospection) -> Dovecot:
    uid, gid = user_ids("vmail")
    for sub in ("run", "state", "log", "mail"):
        (root / sub).mkdir()
    os.chown(root / "mail", uid, gid)
    make_certificate(root)
    peer = Dovecot(root, free_port(), free_port(), free_port(), oauth)
    (root / "oauth2.conf.ext").write_text(OAUTH2_CONF.format(port=oauth.port))
    peer.conf.write_text(
        DOVECOT_CONF.format(
            root=root,
            tag=uuid.uuid4().hex[:8],
            password=PASSWORD,
            uid=uid,
            gid=gid,
            imap=peer.imap_port,
            imaps=peer.imaps_port,
            lmtp=peer.lmtp_port,
        )
    )
    return peer


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot for the session; tests isolate themselves with `new_user`."""
    require_binary("dovecot", "dovecot-imapd")
    require_binary("/usr/lib/dovecot/lmtp", "dovecot-lmtpd")
    require_root("Dovecot delivering as the vmail user")
    os.environ[PASSWORD_ENV] = PASSWORD
    oauth = OAuthIntrospection()
    # Not under pytest's temp root: every pytest run resets that to 0700, and the vmail user
    # must reach the mail folders (another run on the same machine would cut Dovecot off).
    root = Path(tempfile.mkdtemp(prefix="helpdeskd-dovecot-"))
    root.chmod(0o755)
    peer = configure_dovecot(root, oauth)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
        oauth.close()
        shutil.rmtree(root, ignore_errors=True)


# -- SMTP ---------------------------------------------------------------------------------


@dataclass
class SmtpPeer:
    """aiosmtpd with STARTTLS and AUTH, delivering into Dovecot by LMTP, scriptable."""

    dovecot: Dovecot
    port: int
    username: str = "helpdeskd"
    password: str = "smtp-secret"
    script: list[str] = field(default_factory=list)  # answers to DATA before delivering
    accepted: list[bytes] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    sessions: list[Any] = field(default_factory=list)
    implicit_tls: bool = False  # TLS from the first byte (port 465 style) instead of STARTTLS
    controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        peer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if not any(s is session for s in peer.sessions):
                    peer.sessions.append(session)  # one per connection: shows reuse
                if peer.script:
                    answer = peer.script.pop(0)
                    peer.answers.append(answer)
                    if not answer.startswith("250"):
                        return answer
                raw = bytes(envelope.original_content or envelope.content)
                peer.dovecot.deliver_many(envelope.rcpt_tos, raw)
                peer.accepted.append(raw)
                return "250 2.0.0 Ok: delivered"

            async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
                """SASL XOAUTH2 checked against the same token registry Dovecot asks."""
                fields = base64.b64decode(args[1]).decode().split("\x01") if len(args) > 1 else []
                values = dict(f.split("=", 1) for f in fields if "=" in f)
                token = values.get("auth", "").removeprefix("Bearer ")
                ok = bool(token) and peer.dovecot.oauth.tokens.get(token) == values.get("user")
                return AuthResult(success=ok, handled=False)

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            ) == (peer.username, peer.password)
            return AuthResult(success=ok, handled=False)  # handled=True would hang the client

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.dovecot.cert, self.dovecot.root / "key.pem")
        tls: dict[str, Any] = (
            # aiosmtpd does not count implicit TLS as TLS for AUTH; the socket is TLS anyway
            {"ssl_context": context, "auth_require_tls": False}
            if self.implicit_tls
            else {"tls_context": context, "require_starttls": True}
        )
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_required=True,
            **tls,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_peer(dovecot: Dovecot) -> Iterator[SmtpPeer]:
    """A fresh aiosmtpd submission server for one test (starts in milliseconds)."""
    pytest.importorskip("aiosmtpd")
    peer = SmtpPeer(dovecot, free_port())
    peer.start()
    wait_until(lambda: peer.controller is not None, "aiosmtpd")
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def smtp_password(smtp_peer: SmtpPeer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SMTP_PASSWORD_ENV, smtp_peer.password)
    return smtp_peer.password


# -- settings and mail for the tests ------------------------------------------------------


def imap_settings(dovecot: Dovecot, user: str, **overrides: Any) -> dict[str, Any]:
    """An `[[sources]]` entry reading `user`'s INBOX over STARTTLS with the test CA."""
    return {
        "kind": "imap",
        "name": "support",
        "host": dovecot.host,
        "port": dovecot.imap_port,
        "tls": "starttls",
        "ca_file": str(dovecot.cert),
        "username": user,
        "password_env": PASSWORD_ENV,
        "timeout": 20.0,
        **overrides,
    }


def smtp_settings(smtp: SmtpPeer, **overrides: Any) -> dict[str, Any]:
    """An `[outbox]` sending through the aiosmtpd peer with STARTTLS and AUTH."""
    return {
        "kind": "smtp",
        "host": "127.0.0.1",
        "port": smtp.port,
        "tls": "starttls",
        "ca_file": str(smtp.dovecot.cert),
        "username": smtp.username,
        "password_env": SMTP_PASSWORD_ENV,
        "timeout": 20.0,
        **overrides,
    }


def customer_mail(
    sender: str, to: str, n: int, *, body: str = "", attachments: int = 0, size: int = 0
) -> bytes:
    """A plain customer question (with attachments and padding when asked)."""
    text = body or f"Hello, where is my order {10000 + n}? I am waiting for it.\n"
    if size:
        text += ("padding line for a larger message " * 3 + "\n") * (size // 100)
    raw = mime_mail(
        sender=f"Customer {n} <{sender}>",
        to=to,
        subject=f"Question {n} about my order",
        date=format_datetime(datetime.now().astimezone()),
        message_id=make_msgid(f"q{n}", domain="customer.example.test"),
        date_first=True,
        body=text,
        attachments=[
            (
                f"file-{i}.bin",
                "application/octet-stream",
                f"attachment {i} of message {n}\n".encode() * 8,
            )
            for i in range(attachments)
        ],
    )
    return raw.replace(b"\n", b"\r\n")


@pytest.fixture
def failing_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connect from a fresh 127.0.0.x in a test that logs in wrongly on purpose: Dovecot
    delays every later login from an address that failed (its auth penalty, up to 15 s), and
    that must not slow down the tests that follow."""
    original = socket.create_connection
    source = f"127.0.0.{next(FAILING_ADDRESSES)}"

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        kwargs.setdefault("source_address", (source, 0))
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)


def daemon_config(
    base: Path,
    dovecot: Dovecot,
    smtp: SmtpPeer,
    support: str,
    *,
    extra: str = "",
    pipeline: str = "",
    poll_seconds: int = 5,
) -> Path:
    """A helpdeskd.toml reading `support`'s INBOX and sending through `smtp` (Sent copies in
    `support`'s Sent folder); the loop-guard caps and the burst throttle are raised so one
    test customer may write many times. `extra` is appended as more TOML."""
    cert = dovecot.cert
    text = f"""\
state_dir = "{base / "state"}"

[pipeline]
workers = 2
poll_seconds = {poll_seconds}
{pipeline}

[[sources]]
kind = "imap"
name = "support"
host = "{dovecot.host}"
port = {dovecot.imap_port}
tls = "starttls"
ca_file = "{cert}"
username = "{support}"
password_env = "{PASSWORD_ENV}"
timeout = 20.0

[outbox]
kind = "smtp"
host = "127.0.0.1"
port = {smtp.port}
tls = "starttls"
ca_file = "{cert}"
username = "{smtp.username}"
password_env = "{SMTP_PASSWORD_ENV}"
timeout = 20.0
sent_folder = "Sent"

[mail]
from_address = "{support}"
from_name = "Example Support"
message_id_domain = "helpdeskd.test"

[screen]
replies_per_sender_per_hour = 100000
replies_per_ticket_per_hour = 100000
burst_messages = 100000
replies_per_hour = 100000
replies_per_domain_per_hour = 100000
{extra}
"""
    path = base / "helpdeskd.toml"
    path.write_text(text)
    return path
