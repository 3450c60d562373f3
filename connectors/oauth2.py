"""Credentials for mail servers: passwords from where the operator keeps them, XOAUTH2 tokens.

Decides where a secret is read from and when an access token is fetched again. A password lives
in an environment variable (`password_env`) or a systemd credential (`password_credential`, a
file in `$CREDENTIALS_DIRECTORY`); the config only names it. XOAUTH2 (Gmail, Microsoft 365)
gets its access token either from an operator's command (`token_command`, e.g. a helper that
already manages the refresh) or by the OAuth2 refresh-token grant against `token_url`; a token
is reused until a minute before it expires. Secrets are never logged or put in error texts.

The refresh token the endpoint sends back (Microsoft rotates it at every refresh; the old one
dies within 90 days) is kept in the account's `token_file` (0600, written whole then renamed)
with the time it was issued, and used at the next refresh and after a restart: the configured
`refresh_token_env`/`_credential` only seeds it (a changed seed wins over the file). A refused
refresh is recorded there too, so `helpdeskd status` can say "re-authorise" before the next poll.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.accounts import OAuth2Settings, ServerAccount
from connectors.base import ConnectorError

EARLY_REFRESH = 60.0  # seconds before expiry a token is replaced
MICROSOFT_REFRESH_DAYS = 90  # Microsoft identity platform: refresh tokens live 90 days
DAY = 86400.0


def read_secret(env: str, credential: str, what: str) -> str:
    """The secret named by an environment variable or a systemd credential (first set wins)."""
    if env:
        value = os.environ.get(env)
        if value:
            return value
        raise ConnectorError(f"{what}: environment variable {env} is not set", permanent=True)
    if credential:
        base = os.environ.get("CREDENTIALS_DIRECTORY")
        if not base:
            raise ConnectorError(
                f"{what}: credential {credential!r} named but $CREDENTIALS_DIRECTORY is not set "
                "(add LoadCredential= to the unit)",
                permanent=True,
            )
        try:
            return (Path(base) / credential).read_text().strip()
        except OSError as exc:
            raise ConnectorError(
                f"{what}: cannot read credential {credential}: {exc.strerror}", permanent=True
            ) from exc
    raise ConnectorError(f"{what}: set password_env or password_credential", permanent=True)


def account_password(account: ServerAccount) -> str:
    return read_secret(account.password_env, account.password_credential, f"{account.host} login")


class TokenSource:
    """Access tokens for one account: from the command or the refresh grant, cached to expiry."""

    def __init__(self, cfg: OAuth2Settings, timeout: float = 30.0, name: str = "SOURCE") -> None:
        self.cfg = cfg
        self.name = name
        self.timeout = timeout
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if not self._token or time.monotonic() > self._expires - EARLY_REFRESH:
                self._token, lifetime = self._fetch()
                self._expires = time.monotonic() + lifetime
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it): the next call fetches a new one."""
        with self._lock:
            self._token = ""

    def _fetch(self) -> tuple[str, float]:
        if self.cfg.token_command:
            return run_token_command(self.cfg.token_command, self.timeout), 300.0
        if self.cfg.token_url:
            return refresh_access_token(self.cfg, self.timeout, self.name)
        raise ConnectorError(
            "auth = xoauth2 needs oauth.token_command or oauth.token_url", permanent=True
        )


def run_token_command(command: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            shlex.split(command), capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConnectorError(f"oauth.token_command failed to run: {exc}") from exc
    token = done.stdout.decode().strip()
    if done.returncode != 0 or not token:
        err = done.stderr.decode(errors="replace").strip()[-300:]
        raise ConnectorError(f"oauth.token_command exited {done.returncode}: {err}")
    return token


@dataclass(frozen=True, slots=True)
class StoredToken:
    """What `token_file` holds: the refresh token, when it was issued, the last refusal."""

    refresh_token: str
    issued_at: float  # unix time; a seed from the config counts from when it was first used
    seed: str = ""  # fingerprint of the configured token this one descends from ('' : login)
    failure: str = ""  # the token endpoint's last refusal ('' : the last refresh worked)


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def load_stored(path: Path | None) -> StoredToken | None:
    """The stored token, or None when there is none (or the file is unreadable)."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
        return StoredToken(
            **{k: data[k] for k in ("refresh_token", "issued_at") if k in data}
            | {k: str(data.get(k, "")) for k in ("seed", "failure")}
        )
    except (OSError, ValueError, TypeError):
        return None


def save_stored(path: Path, token: StoredToken) -> None:
    """Write the token file whole (0600 in a 0700 folder), then rename it into place."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600, unique
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(token), out)
        out.flush()
        os.fsync(out.fileno())
    Path(tmp).replace(path)


def current_refresh_token(cfg: OAuth2Settings, name: str = "SOURCE") -> StoredToken:
    """The refresh token to use: the stored one, unless the operator configured a new seed."""
    stored = load_stored(cfg.token_file)
    seed = ""
    if cfg.refresh_token_env or cfg.refresh_token_credential:
        seed = read_secret(
            cfg.refresh_token_env, cfg.refresh_token_credential, "oauth refresh token"
        )
    if stored is not None and stored.seed in ("", fingerprint(seed) if seed else stored.seed):
        return stored  # from `oauth login`, or descending from the configured seed
    if not seed:
        raise ConnectorError(
            f"no OAuth2 refresh token: run `helpdeskd oauth login {name}`, or set "
            "oauth.refresh_token_env / refresh_token_credential",
            permanent=True,
        )
    return StoredToken(seed, time.time(), fingerprint(seed))


def refresh_token_lifetime(cfg: OAuth2Settings) -> float | None:
    """Seconds a refresh token lives after issue, when known (None: unknown or unlimited)."""
    days = cfg.refresh_token_days
    if days is None:
        host = urlsplit(cfg.token_url).hostname or ""
        days = MICROSOFT_REFRESH_DAYS if host == "login.microsoftonline.com" else 0
    return days * DAY if days else None


REFRESHING: dict[Path | None, threading.Lock] = {}
"""One lock per token file: the poll, the IDLE thread and the Sent copy of one mailbox each hold
a `TokenSource`; the refresh that rotates the token and the read that follows it must not
interleave (the second would send the refresh token the first just spent)."""
REFRESHING_GUARD = threading.Lock()


def refresh_access_token(
    cfg: OAuth2Settings, timeout: float, name: str = "SOURCE"
) -> tuple[str, float]:
    """The OAuth2 refresh-token grant (RFC 6749 §6): a new access token and its lifetime; the
    refresh token the endpoint sends back (or the one used) is stored with its issue time."""
    with REFRESHING_GUARD:
        lock = REFRESHING.setdefault(cfg.token_file, threading.Lock())
    with lock:
        return refresh_locked(cfg, timeout, name)


def refresh_locked(cfg: OAuth2Settings, timeout: float, name: str) -> tuple[str, float]:
    current = current_refresh_token(cfg, name)
    form = {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
    try:
        data = post_token_request(cfg, form, timeout)
    except ConnectorError as exc:
        if not exc.permanent:
            raise
        if cfg.token_file is not None:
            save_stored(cfg.token_file, replace(current, failure=str(exc)[:300]))
        raise ConnectorError(
            f"{exc}; re-authorise: helpdeskd oauth login {name}", permanent=True
        ) from exc
    rotated = str(data.get("refresh_token") or "")
    if cfg.token_file is not None:
        issued = time.time() if rotated else current.issued_at
        save_stored(
            cfg.token_file, StoredToken(rotated or current.refresh_token, issued, current.seed)
        )
    return str(data["access_token"]), float(data.get("expires_in", 3600))


def post_token_request(cfg: OAuth2Settings, form: dict[str, str], timeout: float) -> dict[str, Any]:
    """POST a grant to the token endpoint (client id and secret added); its JSON answer."""
    form = {"client_id": cfg.client_id, **form}
    if cfg.client_secret_env or cfg.client_secret_credential:
        form["client_secret"] = read_secret(
            cfg.client_secret_env, cfg.client_secret_credential, "oauth client secret"
        )
    if cfg.scope and form["grant_type"] == "refresh_token":
        form["scope"] = cfg.scope
    import httpx  # only XOAUTH2 refresh needs it: keep it out of every CLI start-up

    try:
        response = httpx.post(cfg.token_url, data=form, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ConnectorError(f"token endpoint {cfg.token_url} unreachable: {exc}") from exc
    if response.status_code != 200:
        raise ConnectorError(
            f"token endpoint {cfg.token_url} answered {response.status_code}: "
            f"{response.text[:200]}",
            permanent=400 <= response.status_code < 500,
        )
    data = response.json()
    if not isinstance(data, dict) or "access_token" not in data:
        raise ConnectorError(f"token endpoint {cfg.token_url} answered without access_token")
    return data
