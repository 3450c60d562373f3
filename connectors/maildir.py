"""Maildir in and out: the embedded default source and sink.

The source reads `new/` in delivery order and moves a message to `cur/` only when the daemon
acks it, i.e. after its row is committed; a crash in between leaves it in `new/` and the store's
(source, key) uniqueness makes the re-read harmless. One file never stops the others: a name
that is not UTF-8 gets a key that is valid text, and a file that cannot be read stays in `new/`
while the rest is handed over, after which the fetch fails naming it (the source shows failing
until it is fixed). A file over `max_message_bytes` is read only up to the end of its header
block (at most `HEADER_BYTES`) and handed over as a stub with its size, as the IMAP source does:
the daemon escalates it, and the whole file stays in `cur/`. The outbox writes each mail under a
name derived from its Message-ID, through `tmp/` with fsync and an atomic rename (the Maildir
protocol), so writing the same reply twice leaves one file and `was_sent` can tell for sure;
each file is 0600 and folders it creates are 0700, whatever the umask.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from connectors.base import ConnectorError, FetchedMail, OutboundMail

log = logging.getLogger("helpdeskd.maildir")

SUBDIRS = ("tmp", "new", "cur")
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600  # the outbox's modes (daemon.private decides the same for the state)
HEADER_END = re.compile(rb"\r?\n\r?\n")
HEADER_BYTES = 256 * 1024
"""The most of an oversized message that is read: its header block, or this much of it."""
DEFAULT_MAX_BYTES = 25_000_000


def ensure_maildir(path: Path, mode: int = 0o777) -> None:
    """Create the Maildir's folders that are missing (with `mode`, less the umask)."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    for sub in SUBDIRS:
        (path / sub).mkdir(mode=mode, parents=True, exist_ok=True)


def unique_name(filename: str) -> str:
    """The Maildir unique name: the file name without its ':2,FLAGS' info part."""
    return filename.split(":", 1)[0]


def maildir_key(filename: str) -> str:
    """A message's key: its unique name as valid text. A name that is not UTF-8 (os gives it
    with surrogate escapes, which no database stores) keeps its odd bytes as `\\xNN`, so two
    such names still get two keys."""
    name = unique_name(filename)
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def read_header_block(data: bytes) -> bytes:
    """The header block at the start of `data` with its blank line (all of `data` when no
    blank line ends it; a stub is never empty)."""
    end = HEADER_END.search(data)
    head = data[: end.end()] if end else data
    return head or b"\r\n"


class MaildirSource:
    """Reads `new/`; `ack` moves a message to `cur/`."""

    def __init__(self, name: str, path: Path, max_message_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.name = name
        self.path = path
        self.max_message_bytes = max_message_bytes
        self.files: dict[str, str] = {}  # key -> file name in new/, as last fetched

    def fetch(self, cursor: str | None) -> Iterator[FetchedMail]:
        new = self.path / "new"
        if not new.is_dir():
            raise ConnectorError(f"{self.path} is not a Maildir (no new/ folder)", permanent=True)
        unreadable: list[str] = []
        for entry in self.entries(new):
            try:
                mail = self.read(entry)
            except FileNotFoundError:  # another reader acked it meanwhile
                continue
            except OSError as exc:  # left in new/; the others still flow
                unreadable.append(f"{maildir_key(entry.name)}: {exc.strerror or exc}")
                continue
            self.files[mail.key] = entry.name
            yield mail
        if unreadable:
            raise ConnectorError(
                f"{len(unreadable)} file(s) in {new} cannot be read and stay there "
                f"(fix their permissions): {'; '.join(unreadable[:3])}"
            )

    @staticmethod
    def entries(new: Path) -> list[os.DirEntry[str]]:
        """The message files of `new/`, in delivery order."""
        try:
            found = [e for e in os.scandir(new) if not e.name.startswith(".") and e.is_file()]
        except OSError as exc:
            raise ConnectorError(f"cannot list {new}: {exc.strerror or exc}") from exc
        return sorted(found, key=lambda e: e.name)

    def read(self, entry: os.DirEntry[str]) -> FetchedMail:
        """The whole file, or its headers as a stub when it is over `max_message_bytes`."""
        key = maildir_key(entry.name)
        with open(entry.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= self.max_message_bytes:
                return FetchedMail(key=key, raw=fh.read())
            head = read_header_block(fh.read(HEADER_BYTES))
        reason = f"{size} bytes, over max_message_bytes ({self.max_message_bytes}): not read"
        log.warning("source %s: %s kept as headers only: %s", self.name, key, reason)
        return FetchedMail(key=key, raw=head, stub_reason=reason)

    def ack(self, mail: FetchedMail) -> None:
        name = self.files.pop(mail.key, None)
        if name is None:  # not fetched by this object: look for it (a scan of new/)
            name = next(
                (e.name for e in os.scandir(self.path / "new") if maildir_key(e.name) == mail.key),
                None,
            )
        if name is not None:
            with contextlib.suppress(FileNotFoundError):  # already moved: ack is idempotent
                (self.path / "new" / name).rename(self.path / "cur" / f"{unique_name(name)}:2,")

    def close(self) -> None:
        return None


class MaildirOutbox:
    """Delivers by writing into a Maildir; one file per Message-ID, written atomically."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        ensure_maildir(path, mode=PRIVATE_DIR)

    @staticmethod
    def filename(message_id: str) -> str:
        return hashlib.sha256(message_id.encode()).hexdigest()[:32] + ".helpdeskd"

    def send(self, mail: OutboundMail) -> str:
        name = self.filename(mail.message_id)
        tmp = self.path / "tmp" / name
        try:
            # 0600 whatever the umask: a reply quotes the customer's mail
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            os.fchmod(fd, PRIVATE_FILE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(mail.raw)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.rename(self.path / "new" / name)
            dir_fd = os.open(self.path / "new", os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise ConnectorError(f"cannot write to {self.path}: {exc}") from exc
        return f"250 written to {self.path / 'new' / name}"

    def was_sent(self, message_id: str) -> bool:
        name = self.filename(message_id)
        if (self.path / "new" / name).exists():
            return True
        return any(unique_name(e.name) == name for e in os.scandir(self.path / "cur"))

    def close(self) -> None:
        return None
