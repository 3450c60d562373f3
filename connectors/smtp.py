"""SMTP out: each outbox mail handed to a submission server once, on a reused connection.

Decides what a server's answer means and how a sent mail can be recognised after a crash.
aiosmtplib runs on a private event loop (the outbox is synchronous); one connection is reused
while it was used within `reuse_seconds`, so a flush of many mails costs one TLS handshake and
one AUTH. Certificates are always checked (a private CA through `ca_file`); TLS is implicit,
STARTTLS, or plain only when the operator allowed it. A 5xx answer is permanent (the outbox
fails the row and escalates the ticket); a 4xx, a dropped or refused connection, a timeout or a
refused login is transient (retried with backoff: a wrong password must not fail the mail); an
envelope address that is not a plain addr-spec is permanent (nothing is sent).
With `sent_folder` set, a copy goes to that IMAP folder first and is marked sent after the
250, which is how `was_sent` answers after a crash (see `connectors.imap.SentFolder`); while
that folder cannot be reached nothing is sent (the mail waits in the outbox). Without it
`was_sent` cannot tell and says None.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from email.utils import getaddresses, parseaddr

import aiosmtplib

from connectors.accounts import ServerAccount
from connectors.accounts import SmtpSink as SmtpSettings
from connectors.base import ConnectorError, OutboundMail
from connectors.imap import SentFolder, default_port, tls_context
from connectors.oauth2 import TokenSource, account_password
from connectors.rfc5322.headertext import is_plain_address

log = logging.getLogger("helpdeskd.smtp")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def classify(exc: aiosmtplib.SMTPException) -> ConnectorError:
    """The ConnectorError for an SMTP failure: permanent only for a 5xx about this mail."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return ConnectorError(f"recipients refused: {text}", permanent=min(codes) >= 500)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return ConnectorError(
            f"SMTP login refused ({exc.code} {exc.message}): check the "
            "credentials; the mail stays queued"
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return ConnectorError(f"{exc.code} {exc.message}", permanent=exc.code >= 500)
    return ConnectorError(f"SMTP: {type(exc).__name__}: {exc}")


def envelope(mail: OutboundMail) -> tuple[str, list[str]]:
    """Bare addresses for MAIL FROM and RCPT TO from the header-style fields. An address that
    is not a plain addr-spec (a CR/LF would start another SMTP command) fails the mail for good:
    the outbox escalates its ticket rather than send it anywhere."""
    for field in (mail.sender, *mail.recipients):
        if CONTROL.search(field):  # getaddresses would split it into more recipients
            raise ConnectorError(
                f"refused: {field[:80]!a} holds a control character", permanent=True
            )
    sender = parseaddr(mail.sender)[1] or mail.sender
    recipients = [addr for _, addr in getaddresses(list(mail.recipients)) if addr]
    for addr in (sender, *recipients):
        if not is_plain_address(addr):
            raise ConnectorError(
                f"refused: {addr[:80]!a} is not a plain address for the SMTP envelope",
                permanent=True,
            )
    if not recipients:
        raise ConnectorError("refused: the mail has no recipient", permanent=True)
    return sender, recipients


class SmtpOutbox:
    """A MailSink over SMTP (aiosmtplib), optionally copying to an IMAP Sent folder."""

    def __init__(self, cfg: SmtpSettings, sent: SentFolder | None = None) -> None:
        self.name = "smtp"
        self.cfg = cfg
        self.sent = sent
        self.tokens = (
            TokenSource(cfg.oauth, cfg.timeout, "outbox") if cfg.auth == "xoauth2" else None
        )
        self._loop = asyncio.new_event_loop()
        self._smtp: aiosmtplib.SMTP | None = None
        self._last_used = 0.0

    # -- MailSink -----------------------------------------------------------------------
    def send(self, mail: OutboundMail) -> str:
        envelope(mail)  # a bad address fails before a Sent copy is staged
        if self.sent is not None:
            self.sent.stage(mail.message_id, mail.raw)  # fails before sending: nothing lost
        try:
            response = self._loop.run_until_complete(self._send(mail))
        except ConnectorError as exc:
            if exc.permanent and self.sent is not None:
                self._forget_copy(mail.message_id)
            raise
        if self.sent is not None:
            self._confirm_copy(mail.message_id)
        return response

    def was_sent(self, message_id: str) -> bool | None:
        if self.sent is None:
            return None
        try:
            return self.sent.status(message_id)
        except ConnectorError as exc:
            log.warning("cannot look %s up in the Sent folder: %s", message_id, exc)
            return None

    def close(self) -> None:
        if self._smtp is not None:
            self._loop.run_until_complete(self._disconnect())
        if self.sent is not None:
            self.sent.close()
        self._loop.close()

    # -- the SMTP conversation ----------------------------------------------------------
    async def _send(self, mail: OutboundMail) -> str:
        sender, recipients = envelope(mail)
        try:
            smtp = await self._connection()
            refused, message = await smtp.sendmail(sender, recipients, mail.raw)
        except aiosmtplib.SMTPException as exc:
            await self._disconnect()  # a failed transaction leaves the session in doubt
            raise classify(exc) from exc
        except OSError as exc:
            await self._disconnect()
            raise ConnectorError(f"SMTP {self.cfg.host}: {exc}") from exc
        self._last_used = time.monotonic()
        response = f"250 {message}"  # aiosmtplib hands back the text of the 250 without it
        if refused:
            response += " (refused: " + "; ".join(f"{a}: {r}" for a, r in refused.items()) + ")"
        return response

    async def _connection(self) -> aiosmtplib.SMTP:
        fresh = time.monotonic() - self._last_used < self.cfg.reuse_seconds
        if self._smtp is not None and self._smtp.is_connected and fresh:
            return self._smtp
        await self._disconnect()
        cfg = self.cfg
        smtp = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=default_port(cfg, 465, 587),
            use_tls=cfg.tls == "implicit",
            start_tls=cfg.tls == "starttls",
            tls_context=tls_context(cfg.ca_file),
            timeout=cfg.timeout,
        )
        await smtp.connect()
        self._smtp = smtp
        if cfg.username:
            await self._login(smtp)
        return smtp

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        if self.cfg.auth == "xoauth2":
            assert self.tokens is not None
            try:
                await smtp.auth_xoauth2(self.cfg.username, self.tokens.token())
            except aiosmtplib.SMTPAuthenticationError:
                self.tokens.invalidate()
                raise
            return
        await smtp.login(self.cfg.username, account_password(self.cfg))

    async def _disconnect(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()

    # -- the Sent copy ------------------------------------------------------------------
    def _confirm_copy(self, message_id: str) -> None:
        assert self.sent is not None
        try:
            self.sent.confirm(message_id)
        except ConnectorError as exc:  # the mail is sent: never fail (and so resend) it now
            log.warning("sent %s but could not mark its Sent copy: %s", message_id, exc)

    def _forget_copy(self, message_id: str) -> None:
        assert self.sent is not None
        try:
            self.sent.discard(message_id)
        except ConnectorError as exc:
            log.warning("could not remove the Sent copy of refused %s: %s", message_id, exc)


def open_outbox(cfg: SmtpSettings, sent_account: ServerAccount | None) -> SmtpOutbox:
    """The sink for `[outbox] kind = "smtp"`, with the Sent folder on `sent_account` (the IMAP
    account the daemon chose for `sent_source`; None when there is no `sent_folder`)."""
    sent = None
    if cfg.sent_folder and sent_account is not None:
        sent = SentFolder(sent_account, cfg.sent_folder)
    return SmtpOutbox(cfg, sent)
