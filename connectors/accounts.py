"""Connection settings of the mail connectors: how to reach, secure and log in to a server.

Decides what an IMAP source and the SMTP sink need to know to connect — host, port, TLS mode,
CA bundle, login and where its secret lives (`password_env`, `password_credential`, or an
XOAUTH2 token command / refresh grant) — as frozen pydantic models that reject unknown keys.
They belong to the connectors that use them, which therefore import nothing from `daemon`;
`daemon.config` builds every other section on the same `Section` base, embeds these in
`Settings` as the IMAP `[[sources]]` and the SMTP `[outbox]` (re-exporting `ImapSource` and
`SmtpSink`) and cross-checks them there (plain text allowed, the Sent folder's account).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """One table of the config file: frozen once loaded, an unknown key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


TlsMode = Literal["implicit", "starttls", "plain"]


class OAuth2Settings(Section):
    """XOAUTH2 (Gmail, Microsoft 365): an access token from a command, or a refresh-token flow."""

    token_command: str = Field(
        "", description="command printing an access token on stdout (run when one is needed)"
    )
    token_url: str = Field("", description="OAuth2 token endpoint for the refresh-token flow")
    client_id: str = Field("", description="OAuth2 client id (refresh-token flow)")
    client_secret_env: str = Field("", description="environment variable with the client secret")
    client_secret_credential: str = Field("", description="systemd credential: client secret")
    refresh_token_env: str = Field("", description="environment variable with the refresh token")
    refresh_token_credential: str = Field("", description="systemd credential: refresh token")
    scope: str = Field(
        "", description="scopes, space-separated: sent with the refresh and asked for at login"
    )
    flow: Literal["device", "loopback"] = Field(
        "device",
        description="how `helpdeskd oauth login` gets the first token: device (Microsoft, "
        "RFC 8628) or loopback (Google: browser redirect to 127.0.0.1 with PKCE)",
    )
    device_authorization_url: str = Field(
        "", description="device-authorization endpoint (flow = device)"
    )
    authorization_url: str = Field("", description="authorization endpoint (flow = loopback)")
    refresh_token_days: int | None = Field(
        None,
        ge=0,
        description="refresh tokens die this many days after issue (unset: 90 for "
        "Microsoft's login.microsoftonline.com, else unknown; 0: never)",
    )
    token_file: Path | None = Field(
        None,
        description="where the rotated refresh token is kept, 0600 "
        "(default: <state_dir>/oauth/<source name>.json; the outbox's is outbox.json)",
    )


class ServerAccount(Section):
    """How to reach and log in to a mail server; shared by IMAP sources and the SMTP sink."""

    host: str = Field(description="server host name (checked against its certificate)")
    port: int = Field(0, ge=0, le=65535, description="0: 993/465 implicit TLS, 143/587 else")
    tls: TlsMode = Field("implicit", description="implicit, starttls, or plain")
    allow_plain: bool = Field(False, description="permit tls = plain (loopback tests only)")
    ca_file: Path | None = Field(None, description="CA bundle for a private CA (default: system)")
    username: str = Field("", description="login name (empty: no AUTH, SMTP only)")
    auth: Literal["password", "xoauth2"] = Field("password", description="password or xoauth2")
    password_env: str = Field("", description="environment variable holding the password")
    password_credential: str = Field(
        "", description="systemd credential name ($CREDENTIALS_DIRECTORY/<name>) with it"
    )
    oauth: OAuth2Settings = OAuth2Settings()
    timeout: float = Field(60.0, gt=0, description="seconds before a silent server is an error")


class ImapSource(ServerAccount):
    kind: Literal["imap"] = "imap"
    name: str = Field(description="unique source name, shown in status and logs")
    mailbox: str = Field("INBOX", description="folder to read")
    batch_size: int = Field(100, ge=1, le=5000, description="messages per FETCH")
    idle: bool = Field(True, description="use IDLE in `run` when the server offers it")
    idle_seconds: int = Field(
        1500, ge=30, le=1740, description="re-issue IDLE after this long (servers drop at 29 min)"
    )
    post_action: Literal["none", "flag", "keyword", "move"] = Field(
        "none", description="done to a message once recorded: none, flag, keyword, move"
    )
    post_action_value: str = Field(
        "", description="the flag (\\Flagged), keyword ($Helpdeskd) or folder for post_action"
    )
    max_message_bytes: int = Field(
        25_000_000, ge=1024, description="larger messages are kept as headers only (a stub)"
    )
    alert_after: int = Field(
        3600, ge=0, description="seconds a failing mailbox may fetch nothing before an alert"
    )


class SmtpSink(ServerAccount):
    kind: Literal["smtp"] = "smtp"
    tls: TlsMode = Field("starttls", description="implicit, starttls, or plain")
    reuse_seconds: float = Field(
        30.0, ge=0, description="reuse an idle connection this long, then reconnect"
    )
    sent_folder: str = Field("", description="APPEND a copy of each mail here; empty: do not")
    sent_source: str = Field(
        "", description="IMAP source whose account holds sent_folder (empty: the first one)"
    )
