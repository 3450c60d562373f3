"""secret: the key that makes our Message-IDs unguessable, and where it comes from.

Decides which secret signs our Message-IDs (`daemon.outgoing_mail.reply_message_id`): the one named
by `[mail] message_id_secret_env` (an environment variable) or `message_id_secret_credential`
(a systemd credential) when set, else `<state_dir>/secret`, 32 random bytes created mode 0600 on
first use and read ever after. The id must stay the same for the same outbox row across restarts
(exactly-once: the Sent-folder check looks the row up by it), so the file is never rewritten;
replicas sharing one database must share the secret (set it through the environment).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import cache
from pathlib import Path

from daemon.config import Settings
from daemon.errors import ConfigError

SECRET_FILE = "secret"  # noqa: S105 (a file name, not a password)


def message_id_secret(settings: Settings) -> bytes:
    """The configured secret, else the state directory's (created on first use)."""
    cfg = settings.mail
    if cfg.message_id_secret_env:
        return from_environment(cfg.message_id_secret_env)
    if cfg.message_id_secret_credential:
        return from_credential(cfg.message_id_secret_credential)
    return state_secret(settings.state_dir / SECRET_FILE)


def from_environment(name: str) -> bytes:
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise ConfigError(
            [("mail.message_id_secret_env", f"set {name} to at least 16 random characters")]
        )
    return value.encode()


def from_credential(name: str) -> bytes:
    base = os.environ.get("CREDENTIALS_DIRECTORY", "")
    try:
        value = (Path(base) / name).read_bytes().strip() if base else b""
    except OSError as exc:
        raise ConfigError(
            [("mail.message_id_secret_credential", f"cannot read {name}: {exc.strerror}")]
        ) from None
    if len(value) < 16:
        raise ConfigError(
            [
                (
                    "mail.message_id_secret_credential",
                    f"{name}: at least 16 random bytes, via "
                    "LoadCredential= ($CREDENTIALS_DIRECTORY)",
                )
            ]
        )
    return value


@cache
def state_secret(path: Path) -> bytes:
    """The secret file's bytes, creating it when missing: written whole to a temporary file
    (mkstemp: 0600 whatever the umask) and linked into place, so no reader ever sees half a
    secret, and of two processes racing to create it the loser reads the winner's."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_hex(32).encode())
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            Path(tmp).unlink()
    return read_secret_file(path)


def read_secret_file(path: Path) -> bytes:
    value = path.read_bytes().strip()
    if len(value) < 16:  # a half-written file from a crash mid-creation, or an emptied one
        raise ConfigError(
            [
                (
                    str(path),
                    "the Message-ID secret is missing or too short: restore it from a "
                    "backup (a new one changes the ids of unsent replies)",
                )
            ]
        )
    return value
