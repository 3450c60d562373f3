"""The first OAuth2 refresh token of a mailbox: what `helpdeskd oauth login` runs.

Decides how an operator authorises helpdeskd once, without outside scripts, per the account's
`oauth.flow`: `device` is the device authorization grant (RFC 8628, Microsoft 365): the
operator opens a short URL anywhere and types a code while we poll the token endpoint,
waiting on `authorization_pending` and slowing down by 5 s at every `slow_down`; `loopback`
is the authorization-code grant with PKCE S256 (RFC 7636) and a redirect to a one-shot
listener on 127.0.0.1 (RFC 8252, Google). Either way the refresh token is stored in the
account's `token_file` (connectors/oauth2.py), where the refresh grant then keeps it current.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from connectors.accounts import OAuth2Settings
from connectors.base import ConnectorError
from connectors.oauth2 import StoredToken, read_secret, save_stored

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5.0  # RFC 8628 §3.5: each slow_down adds 5 seconds to the interval


@dataclass(frozen=True, slots=True)
class LoginResult:
    refresh_token_stored: bool
    scope: str


def post_form(url: str, form: dict[str, str], timeout: float) -> tuple[int, dict[str, Any]]:
    """POST a form; the status and the JSON object answered ({} when it is not one)."""
    import httpx

    try:
        response = httpx.post(url, data=form, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{url} unreachable: {exc}") from exc
    try:
        data = response.json()
    except ValueError:
        data = {}
    return response.status_code, data if isinstance(data, dict) else {}


def client_form(cfg: OAuth2Settings) -> dict[str, str]:
    form = {"client_id": cfg.client_id}
    if cfg.client_secret_env or cfg.client_secret_credential:
        form["client_secret"] = read_secret(
            cfg.client_secret_env, cfg.client_secret_credential, "oauth client secret"
        )
    return form


def device_login(
    cfg: OAuth2Settings,
    show: Callable[[str], None],
    timeout: float = 30.0,
    slow_down_step: float = SLOW_DOWN_STEP,
) -> LoginResult:
    """RFC 8628: ask for a device code, show the operator where to enter it, poll for tokens."""
    status, start = post_form(
        cfg.device_authorization_url, {**client_form(cfg), "scope": cfg.scope}, timeout
    )
    if status != 200 or "device_code" not in start:
        raise ConnectorError(f"device authorization refused ({status}): {start.get('error')}")
    uri = start.get("verification_uri_complete") or start.get("verification_uri")
    show(f"open {uri} and enter the code {start.get('user_code')}")
    interval = float(start.get("interval", 5))
    deadline = time.monotonic() + float(start.get("expires_in", 900))
    form = {**client_form(cfg), "grant_type": DEVICE_GRANT, "device_code": start["device_code"]}
    while time.monotonic() < deadline:
        time.sleep(interval)
        status, data = post_form(cfg.token_url, form, timeout)
        error = data.get("error")
        if status == 200:
            return store_tokens(cfg, data)
        if error == "slow_down":
            interval += slow_down_step
        elif error != "authorization_pending":
            raise ConnectorError(f"device login failed ({status}): {error or data}")
    raise ConnectorError("device login: the code expired before it was entered")


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def loopback_login(
    cfg: OAuth2Settings,
    open_url: Callable[[str], None],
    timeout: float = 30.0,
    wait: float = 600.0,
) -> LoginResult:
    """RFC 8252 + 7636: send the browser to the authorization endpoint, take the code on a
    127.0.0.1 listener, and exchange it with the PKCE verifier."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set
    state = secrets.token_urlsafe(16)
    listener = OneShot(("127.0.0.1", 0), Redirect)
    listener.timeout = wait
    redirect = f"http://127.0.0.1:{listener.server_address[1]}/"
    query = {
        "response_type": "code",
        "client_id": cfg.client_id,
        "redirect_uri": redirect,
        "scope": cfg.scope,
        "state": state,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "access_type": "offline",  # Google: issue a refresh token
        "prompt": "consent",
    }
    try:
        threading.Thread(
            target=open_url, args=(f"{cfg.authorization_url}?{urlencode(query)}",), daemon=True
        ).start()
        listener.handle_request()
    finally:
        listener.server_close()
    answer = listener.answer
    if answer.get("state") != state or "code" not in answer:
        raise ConnectorError(f"login redirect without a valid code: {answer.get('error')}")
    form = {
        **client_form(cfg),
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": redirect,
        "code_verifier": verifier,
    }
    status, data = post_form(cfg.token_url, form, timeout)
    if status != 200:
        raise ConnectorError(f"code exchange refused ({status}): {data.get('error')}")
    return store_tokens(cfg, data)


class OneShot(HTTPServer):
    answer: dict[str, str] = {}  # noqa: RUF012  (set per instance by the handler)


class Redirect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        assert isinstance(self.server, OneShot)
        self.server.answer = {k: v[0] for k, v in query.items()}
        body = b"helpdeskd: authorised, you can close this window.\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def store_tokens(cfg: OAuth2Settings, data: dict[str, Any]) -> LoginResult:
    """Keep the refresh token the token endpoint issued (a login is not tied to a seed)."""
    refresh = str(data.get("refresh_token") or "")
    if not refresh:
        raise ConnectorError(
            "the token endpoint issued no refresh token: add offline_access (Microsoft) "
            "to oauth.scope, or revoke the app's access and log in again (Google)"
        )
    if cfg.token_file is None:
        raise ConnectorError("oauth.token_file is not set", permanent=True)
    save_stored(cfg.token_file, StoredToken(refresh, time.time()))
    return LoginResult(True, str(data.get("scope", cfg.scope)))
