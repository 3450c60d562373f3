"""IMAP in: one mailbox read by UID, so nothing is lost and nothing is read twice.

Decides how a mailbox is read. The position is (UIDVALIDITY, last UID), handed back with every
message as its cursor and committed with its row, so a restart resumes exactly after the last
recorded message; `\\Seen` is never looked at (another client may set it) and never set: bodies
are fetched with `BODY.PEEK[]`, in batches bounded in count and bytes. `RFC822.SIZE` is read
first: a message over `max_message_bytes` is fetched as headers only and handed over as a stub
(the parse stage escalates it), and a message the server cannot return becomes a stub too, so
one bad message never blocks the ones after it. When UIDVALIDITY changes the folder is read
again from the start and the store drops what it already holds (same Message-ID or same
bytes). The post-action (flag, keyword, move) runs only on `ack`, i.e. after the row is
committed; it is idempotent, and one that failed is redone on the next connection for every
message the committed cursor covers. Every failure is a `ConnectorError`.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from connectors.accounts import ImapSource as ImapSettings
from connectors.accounts import ServerAccount
from connectors.base import ConnectorError, FetchedMail
from connectors.oauth2 import TokenSource, account_password

log = logging.getLogger("helpdeskd.imap")
T = TypeVar("T")

BATCH_BYTES = 32 * 1024 * 1024  # one FETCH never carries more than this (peak memory)
SIZE_CHUNK = 1000  # UIDs per RFC822.SIZE request
SYSTEM_FLAG_UNSET = {
    "\\seen": "UNSEEN",
    "\\flagged": "UNFLAGGED",
    "\\answered": "UNANSWERED",
    "\\draft": "UNDRAFT",
}
IMAP_ERRORS = (imaplib.IMAP4.error, OSError, EOFError)


@contextmanager
def imap_errors(what: str) -> Iterator[None]:
    """Turn imaplib/socket/TLS failures into ConnectorError; bad credentials are permanent."""
    try:
        yield
    except LoginError as exc:
        raise ConnectorError(
            f"{what}: login refused ({exc}): check the credentials", permanent=True
        ) from exc
    except ssl.SSLCertVerificationError as exc:
        raise ConnectorError(
            f"{what}: certificate not trusted ({exc.verify_message}): "
            "set ca_file or fix the server's certificate"
        ) from exc
    except IMAP_ERRORS as exc:
        raise ConnectorError(f"{what}: {type(exc).__name__}: {exc}") from exc


def tls_context(ca_file: object) -> ssl.SSLContext:
    """Certificates and host names are always checked; `ca_file` adds a private CA."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def default_port(account: ServerAccount, implicit: int, other: int) -> int:
    return account.port or (implicit if account.tls == "implicit" else other)


def open_client(account: ServerAccount, tokens: TokenSource | None = None) -> IMAPClient:
    """Connect, secure and log in; raises ConnectorError."""
    context = tls_context(account.ca_file)
    port = default_port(account, 993, 143)
    where = f"IMAP {account.host}:{port}"
    with imap_errors(where):
        client = IMAPClient(
            account.host,
            port=port,
            ssl=account.tls == "implicit",
            ssl_context=context,
            timeout=account.timeout,
        )
        # imapclient sets imaplib's debug level to 5, which formats every response (whole
        # bodies) for a logger even when it is off: 6x slower fetches (DEPENDENCIES.md).
        client._imap.debug = 0
        if account.tls == "starttls":
            client.starttls(context)
        login(client, account, tokens)
    return client


def login(client: IMAPClient, account: ServerAccount, tokens: TokenSource | None) -> None:
    if account.auth == "xoauth2":
        assert tokens is not None
        try:
            client.oauth2_login(account.username, tokens.token())
        except LoginError:
            tokens.invalidate()  # an expired or revoked token: fetch a fresh one next time
            raise
        return
    client.login(account.username, account_password(account))


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """'UIDVALIDITY:UID' -> (uidvalidity, uid); None for no (or an unreadable) position."""
    if not cursor:
        return None
    validity, _, uid = cursor.partition(":")
    if not (validity.isdigit() and uid.isdigit()):
        return None
    return int(validity), int(uid)


@dataclass(frozen=True, slots=True)
class Pending:
    uid: int
    size: int


class ImapMailbox:
    """A MailSource over one IMAP folder (see the module docstring for the guarantees)."""

    def __init__(self, cfg: ImapSettings, tokens: TokenSource | None = None) -> None:
        self.name = cfg.name
        self.cfg = cfg
        self.tokens = tokens or (
            TokenSource(cfg.oauth, cfg.timeout, cfg.name) if cfg.auth == "xoauth2" else None
        )
        self._client: IMAPClient | None = None
        self.uidvalidity = 0
        self.since: date | None = None  # backfill: only mail from this day on

    # -- connection ---------------------------------------------------------------------
    def client(self) -> IMAPClient:
        if self._client is None:
            client = open_client(self.cfg, self.tokens)
            with imap_errors(f"{self.name}: SELECT {self.cfg.mailbox}"):
                info = client.select_folder(
                    self.cfg.mailbox, readonly=self.cfg.post_action == "none"
                )
            self.uidvalidity = int(info[b"UIDVALIDITY"])
            self._client = client
        return self._client

    def drop(self) -> None:
        """Forget a connection that failed; the next call reconnects."""
        client, self._client = self._client, None
        if client is not None:
            with suppress(*IMAP_ERRORS):
                client.shutdown()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with suppress(*IMAP_ERRORS):
                client.logout()

    @contextmanager
    def guarded(self, what: str) -> Iterator[IMAPClient]:
        """The live client; on any failure the connection is dropped and ConnectorError raised."""
        try:
            with imap_errors(f"{self.name}: {what}"):
                yield self.client()
        except ConnectorError:
            self.drop()
            raise

    # -- MailSource ---------------------------------------------------------------------
    def fetch(self, cursor: str | None) -> Iterator[FetchedMail]:
        with self.guarded("connect"):
            pass
        last = self.start_uid(parse_cursor(cursor))
        self.catch_up_post_action(last)
        uids = self.new_uids(last)
        for start in range(0, len(uids), SIZE_CHUNK):
            pending = self.sizes(uids[start : start + SIZE_CHUNK])
            for batch in self.batches(pending):
                yield from self.fetch_batch(batch)

    def start_uid(self, position: tuple[int, int] | None) -> int:
        if position is None:
            return 0
        validity, uid = position
        if validity != self.uidvalidity:
            log.warning(
                "source %s: UIDVALIDITY of %s changed from %d to %d: resyncing the whole folder; "
                "messages already recorded (same Message-ID or same bytes) are skipped",
                self.name,
                self.cfg.mailbox,
                validity,
                self.uidvalidity,
            )
            return 0
        return uid

    def new_uids(self, last: int) -> list[int]:
        criteria: list[Any] = ["UID", f"{last + 1}:*"]
        if self.since is not None:
            criteria += ["SINCE", self.since]
        with self.guarded("UID SEARCH") as client:
            found = client.search(criteria)
        # "n:*" always matches the highest UID, even below n: keep only what is new.
        return sorted(int(u) for u in found if int(u) > last)

    def sizes(self, uids: Sequence[int]) -> list[Pending]:
        with self.guarded("FETCH RFC822.SIZE") as client:
            data = client.fetch(list(uids), ["RFC822.SIZE"])
        return [Pending(uid, int(data[uid][b"RFC822.SIZE"])) for uid in uids if uid in data]

    def batches(self, pending: list[Pending]) -> Iterator[list[Pending]]:
        """Consecutive groups of at most batch_size messages and BATCH_BYTES bytes."""
        batch: list[Pending] = []
        total = 0
        for p in pending:
            small = p.size if p.size <= self.cfg.max_message_bytes else 0
            if batch and (len(batch) >= self.cfg.batch_size or total + small > BATCH_BYTES):
                yield batch
                batch, total = [], 0
            batch.append(p)
            total += small
        if batch:
            yield batch

    def fetch_batch(self, batch: list[Pending]) -> Iterator[FetchedMail]:
        whole = [p.uid for p in batch if p.size <= self.cfg.max_message_bytes]
        bodies = self.fetch_bodies(whole) if whole else {}
        for p in batch:
            if p.size > self.cfg.max_message_bytes:
                yield self.stub(
                    p.uid,
                    f"{p.size} bytes, over max_message_bytes "
                    f"({self.cfg.max_message_bytes}): not fetched",
                )
            elif (raw := bodies.get(p.uid)) is not None:
                yield self.mail(p.uid, raw)
            elif p.uid in bodies:
                yield self.stub(p.uid, "the server did not return the message body")
            # not in bodies at all: expunged meanwhile by another client, nothing to record

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes | None]:
        """UID -> body (None: the server refused that one message). BODY.PEEK[] leaves
        \\Seen alone. A batch the server refuses (NO) is retried one message at a time."""
        try:
            with imap_errors(f"{self.name}: FETCH BODY.PEEK[]"):
                data = self.client().fetch(uids, ["BODY.PEEK[]"])
        except ConnectorError as exc:
            if not refused(exc):
                self.drop()  # the connection broke: the poll ends, the next one resumes
                raise
            if len(uids) == 1:
                return {uids[0]: None}
            return {u: b for one in uids for u, b in self.fetch_bodies([one]).items()}
        # A UID missing from the answer was expunged by another client meanwhile.
        return {uid: _body(data[uid]) for uid in uids if uid in data}

    def stub(self, uid: int, reason: str) -> FetchedMail:
        with self.guarded("FETCH BODY.PEEK[HEADER]") as client:
            data = client.fetch([uid], ["BODY.PEEK[HEADER]"])
        header = data.get(uid, {}).get(b"BODY[HEADER]") or b""
        log.warning("source %s: UID %d kept as headers only: %s", self.name, uid, reason)
        return FetchedMail(
            key=self.key(uid),
            raw=bytes(header) or b"\r\n",
            cursor=self.key(uid),
            stub_reason=reason,
        )

    def mail(self, uid: int, raw: bytes) -> FetchedMail:
        return FetchedMail(key=self.key(uid), raw=raw, cursor=self.key(uid))

    def key(self, uid: int) -> str:
        return f"{self.uidvalidity}:{uid}"

    # -- post-action --------------------------------------------------------------------
    def ack(self, mail: FetchedMail) -> None:
        """Apply the post-action to one recorded message. Never raises: a failure is logged
        and redone by `catch_up_post_action` on the next connection."""
        position = parse_cursor(mail.key)
        if self.cfg.post_action == "none" or position is None:
            return
        validity, uid = position
        try:
            if validity == self.uidvalidity:
                self.apply_post_action([uid])
        except ConnectorError as exc:
            log.warning(
                "source %s: post-action on UID %d failed, redone later: %s", self.name, uid, exc
            )

    def apply_post_action(self, uids: list[int]) -> None:
        action, value = self.cfg.post_action, self.cfg.post_action_value
        with self.guarded(f"post-action {action} {value}") as client:
            if action in ("flag", "keyword"):
                client.add_flags(uids, [value], silent=True)
            elif action == "move":
                client.move(uids, value)

    def catch_up_post_action(self, last: int) -> None:
        """Redo the post-action for every committed message (UID <= last) still lacking it."""
        if self.cfg.post_action == "none" or last == 0:
            return
        criteria: list[Any] = ["UID", f"1:{last}"]
        value = self.cfg.post_action_value
        if self.cfg.post_action in ("flag", "keyword"):
            unset = SYSTEM_FLAG_UNSET.get(value.lower())
            criteria += [unset] if unset else ["UNKEYWORD", value]
        with self.guarded("SEARCH for the post-action") as client:
            missing = [u for u in client.search(criteria) if int(u) <= last]
        if missing:
            log.info("source %s: redoing the post-action on %d message(s)", self.name, len(missing))
            self.apply_post_action(missing)

    # -- IDLE ---------------------------------------------------------------------------
    def supports_idle(self) -> bool:
        with self.guarded("CAPABILITY") as client:
            return bool(client.has_capability("IDLE"))

    def wait_for_mail(self, seconds: float, stop: Any = None) -> bool:
        """IDLE up to `seconds` (then DONE, so the caller can re-issue before the server's
        29-minute cut-off); True when the server announced new mail."""
        deadline = time.monotonic() + seconds
        with self.guarded("IDLE") as client:
            client.idle()
            try:
                while time.monotonic() < deadline and not (stop and stop.is_set()):
                    if announces_mail(idle_step(client, min(1.0, seconds))):
                        return True
                return False
            finally:
                client.idle_done()


def idle_step(client: IMAPClient, timeout: float) -> list[tuple[Any, ...]]:
    """One idle_check. imapclient neither raises on the server's BYE (`doveadm kick`, a
    shutdown) nor on a closed socket (it returns [] at once): both are a lost connection."""
    started = time.monotonic()
    responses: list[tuple[Any, ...]] = client.idle_check(timeout=timeout)
    if any(r and r[0] == b"BYE" for r in responses):
        raise imaplib.IMAP4.abort("the server said BYE")
    if not responses and time.monotonic() - started < timeout / 2:
        raise imaplib.IMAP4.abort("the connection closed during IDLE")
    return responses


def announces_mail(responses: list[tuple[Any, ...]]) -> bool:
    return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def refused(exc: ConnectorError) -> bool:
    """The server answered NO/BAD to a command (the connection is still fine)."""
    cause = exc.__cause__
    return isinstance(cause, imaplib.IMAP4.error) and not isinstance(cause, imaplib.IMAP4.abort)


def _body(item: dict[bytes, Any]) -> bytes | None:
    body = item.get(b"BODY[]")
    return bytes(body) if body is not None else None


PENDING = "$HelpdeskdPending"  # copied to Sent, SMTP not yet confirmed
SENT = "$HelpdeskdSent"  # the SMTP server accepted it


class SentFolder:
    """Our copy of every sent mail in an IMAP folder, and the record `was_sent` reads.

    The copy is APPENDed with the keyword `$HelpdeskdPending` *before* the SMTP transaction and
    marked `$HelpdeskdSent` after the server's 250, so after a crash the folder tells the three
    cases apart: sent (resending would duplicate), not sent (safe to send), or a crash inside
    the SMTP transaction (unknown: the outbox parks it for an operator).
    """

    def __init__(self, account: ServerAccount, folder: str) -> None:
        self.account = account
        self.folder = folder
        self.tokens = (
            TokenSource(account.oauth, account.timeout, getattr(account, "name", "outbox"))
            if account.auth == "xoauth2"
            else None
        )
        self._client: IMAPClient | None = None

    @contextmanager
    def guarded(self, what: str) -> Iterator[IMAPClient]:
        try:
            with imap_errors(f"Sent folder {self.folder}: {what}"):
                if self._client is None:
                    client = open_client(self.account, self.tokens)
                    if not client.folder_exists(self.folder):
                        client.create_folder(self.folder)
                    client.select_folder(self.folder)
                    self._client = client
                yield self._client
        except ConnectorError:
            client, self._client = self._client, None
            if client is not None:
                with suppress(*IMAP_ERRORS):
                    client.shutdown()
            raise

    def once_more(self, action: Callable[[], T]) -> T:
        """Run `action`, and once more on a new connection if it failed: the connection
        kept between flushes may have been closed by the server (idle timeout) meanwhile."""
        try:
            return action()
        except ConnectorError as exc:
            if exc.permanent:
                raise
            return action()

    def find(self, message_id: str) -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of our copies of `message_id`."""
        return self.once_more(lambda: self._find(message_id))

    def _find(self, message_id: str) -> dict[int, tuple[bytes, ...]]:
        with self.guarded("SEARCH") as client:
            client.noop()  # see copies other connections appended meanwhile
            uids = client.search(["HEADER", "Message-ID", f"<{message_id}>"])
            if not uids:
                return {}
            flags = client.get_flags(uids)
        return {int(uid): tuple(f) for uid, f in flags.items()}

    def stage(self, message_id: str, raw: bytes) -> None:
        """APPEND the copy marked pending, unless a copy is already there (a retry)."""
        if self.find(message_id):
            return
        with self.guarded("APPEND") as client:
            client.append(self.folder, crlf(raw), flags=[b"\\Seen", PENDING.encode()])

    def confirm(self, message_id: str) -> None:
        uids = list(self.find(message_id))
        if uids:
            with self.guarded("STORE") as client:
                client.add_flags(uids, [SENT.encode()], silent=True)
                client.remove_flags(uids, [PENDING.encode()], silent=True)

    def discard(self, message_id: str) -> None:
        """Remove the copy of a mail the SMTP server refused for good."""
        uids = list(self.find(message_id))
        if uids:
            with self.guarded("EXPUNGE") as client:
                client.delete_messages(uids, silent=True)
                client.uid_expunge(uids)

    def status(self, message_id: str) -> bool | None:
        """True: sent; False: never staged; None: staged but the 250 was never recorded."""
        copies = self.find(message_id).values()
        if any(SENT.encode() in flags for flags in copies):
            return True
        return None if copies else False

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with suppress(*IMAP_ERRORS):
                client.logout()


def crlf(raw: bytes) -> bytes:
    """IMAP wants CRLF line ends; EmailMessage.as_bytes() writes bare LF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
