"""Credentials for mail servers: passwords from where the operator keeps them, XOAUTH2 tokens.

Decides where a secret is read from and when an access token is fetched again. A password lives
in an environment variable (`password_env`) or a systemd credential (`password_credential`, a
file in `$CREDENTIALS_DIRECTORY`); the config only names it. XOAUTH2 (Gmail, Microsoft 365)
gets its access token either from an operator's command (`token_command`, e.g. a helper that
already manages the refresh) or by the OAuth2 refresh-token grant against `token_url`; a token
is reused until a minute before it expires. Secrets are never logged or put in error texts.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from pathlib import Path

from connectors.accounts import OAuth2Settings, ServerAccount
from connectors.base import ConnectorError

EARLY_REFRESH = 60.0  # seconds before expiry a token is replaced


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

    def __init__(self, cfg: OAuth2Settings, timeout: float = 30.0) -> None:
        self.cfg = cfg
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
            return refresh_access_token(self.cfg, self.timeout)
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


def refresh_access_token(cfg: OAuth2Settings, timeout: float) -> tuple[str, float]:
    """The OAuth2 refresh-token grant (RFC 6749 §6): a new access token and its lifetime."""
    form = {
        "grant_type": "refresh_token",
        "client_id": cfg.client_id,
        "refresh_token": read_secret(
            cfg.refresh_token_env, cfg.refresh_token_credential, "oauth refresh token"
        ),
    }
    if cfg.client_secret_env or cfg.client_secret_credential:
        form["client_secret"] = read_secret(
            cfg.client_secret_env, cfg.client_secret_credential, "oauth client secret"
        )
    if cfg.scope:
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
    return str(data["access_token"]), float(data.get("expires_in", 3600))
