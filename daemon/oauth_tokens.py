"""OAuth2 token health: when a mailbox's refresh token needs a human to re-authorise it.

Decides, for each XOAUTH2 account refreshed against a token endpoint (IMAP sources and the
SMTP outbox), whether its stored refresh token (connectors/oauth2.py keeps it in `token_file`)
is in trouble: the endpoint refused the last refresh, there is none yet, or it dies within
`EXPIRY_WARNING` of its known lifetime (`refresh_token_days`; Microsoft: 90 days after issue).
The source alert (daemon/source_alerts.py) turns trouble into an ALERT naming the command,
"re-authorise: helpdeskd oauth login SOURCE", and `helpdeskd_oauth_token_expiry_seconds{source}`
(daemon/metrics.py) holds the Unix time the token reaches its lifetime.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connectors.accounts import ServerAccount
from connectors.oauth2 import load_stored, refresh_token_lifetime
from daemon.config import Settings
from daemon.metrics import OAUTH_TOKEN_EXPIRY

EXPIRY_WARNING = 14 * 86400.0  # a dying token alerts this long before it dies


@dataclass(frozen=True, slots=True)
class TokenHealth:
    source: str
    expires_in: float | None  # seconds left; None: lifetime unknown or no token
    problem: str  # '' when fine


def refreshed_accounts(settings: Settings) -> list[tuple[str, ServerAccount]]:
    """(name, account) of every XOAUTH2 account that uses the refresh-token grant."""
    accounts: list[tuple[str, ServerAccount]] = [
        (s.name, s) for s in settings.sources if isinstance(s, ServerAccount)
    ]
    if isinstance(settings.outbox, ServerAccount):
        accounts.append(("outbox", settings.outbox))
    return [
        (name, a)
        for name, a in accounts
        if a.auth == "xoauth2" and a.oauth.token_url and not a.oauth.token_command
    ]


def token_health(name: str, account: ServerAccount, now: float | None = None) -> TokenHealth:
    """The health of one account's refresh token; sets its expiry gauge when known."""
    now = time.time() if now is None else now
    cfg = account.oauth
    stored = load_stored(cfg.token_file)
    if stored is None:
        seeded = cfg.refresh_token_env or cfg.refresh_token_credential
        return TokenHealth(name, None, "" if seeded else "no refresh token yet")
    lifetime = refresh_token_lifetime(cfg)
    left = stored.issued_at + lifetime - now if lifetime else None
    if left is not None:
        OAUTH_TOKEN_EXPIRY.labels(source=name).set(stored.issued_at + (lifetime or 0.0))
    if stored.failure:
        return TokenHealth(
            name, left, f"the token endpoint refused the refresh token: {stored.failure}"
        )
    if left is not None and left < EXPIRY_WARNING:
        days = max(left, 0.0) / 86400
        return TokenHealth(name, left, f"the refresh token reaches its lifetime in {days:.1f} days")
    return TokenHealth(name, left, "")


def token_problems(settings: Settings, now: float | None = None) -> dict[str, str]:
    """Source name -> the alert text for every account whose token needs re-authorising."""
    found = (token_health(name, a, now) for name, a in refreshed_accounts(settings))
    return {
        h.source: f"OAuth2: {h.problem}; re-authorise: helpdeskd oauth login {h.source}"
        for h in found
        if h.problem
    }
