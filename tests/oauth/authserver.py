"""A local OAuth2 authorization server written from the RFCs, over real HTTP.

RFC 6749 token endpoint (refresh_token grant rotating the refresh token at every use, the old
one refused with invalid_grant; authorization_code grant), RFC 8628 device-authorization
endpoint (authorization_pending until the test approves, slow_down when polled too fast) and
RFC 7636 S256: the code's challenge must match the verifier sent to the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class AuthState:
    refresh_tokens: set[str] = field(default_factory=set)
    device_codes: dict[str, bool] = field(default_factory=dict)  # code -> approved
    last_poll: dict[str, float] = field(default_factory=dict)
    interval: float = 0.2
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (challenge, redirect)
    grants: list[dict[str, str]] = field(default_factory=list)
    slow_downs: int = 0
    force_slow_down: int = 0  # answer slow_down to this many polls whatever their pace

    def issue(self) -> dict[str, object]:
        refresh = secrets.token_urlsafe(16)
        self.refresh_tokens.add(refresh)
        return {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
        }


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class AuthServer:
    def __init__(self) -> None:
        self.state = AuthState()
        handler = type("Handler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Handler(BaseHTTPRequestHandler):
    state: AuthState

    def log_message(self, format: str, *args: object) -> None:
        return

    def reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # the authorization endpoint: the "user" approves at once
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != "/authorize" or q.get("code_challenge_method") != "S256":
            self.reply(400, {"error": "invalid_request"})
            return
        code = secrets.token_urlsafe(8)
        self.state.codes[code] = (q["code_challenge"], q["redirect_uri"])
        self.send_response(302)
        self.send_header("Location", f"{q['redirect_uri']}?code={code}&state={q['state']}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.state.grants.append(form)
        if self.path == "/devicecode":
            self.device(form)
        elif self.path == "/token":
            self.token(form)
        else:
            self.reply(404, {"error": "not_found"})

    def device(self, form: dict[str, str]) -> None:
        code = secrets.token_urlsafe(8)
        self.state.device_codes[code] = False
        self.reply(
            200,
            {
                "device_code": code,
                "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/device",
                "expires_in": 600,
                "interval": self.state.interval,
            },
        )

    def token(self, form: dict[str, str]) -> None:
        grant = form.get("grant_type", "")
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.state.refresh_tokens:
                self.reply(400, {"error": "invalid_grant"})
                return
            self.state.refresh_tokens.discard(form["refresh_token"])  # rotation: old one dies
            self.reply(200, self.state.issue())
        elif grant == "urn:ietf:params:oauth:grant-type:device_code":
            self.device_token(form.get("device_code", ""))
        elif grant == "authorization_code":
            self.code_token(form)
        else:
            self.reply(400, {"error": "unsupported_grant_type"})

    def device_token(self, code: str) -> None:
        if code not in self.state.device_codes:
            self.reply(400, {"error": "expired_token"})
            return
        now = time.monotonic()
        last = self.state.last_poll.get(code)
        self.state.last_poll[code] = now
        if self.state.force_slow_down or (last and now - last < self.state.interval * 0.9):
            self.state.force_slow_down = max(self.state.force_slow_down - 1, 0)
            self.state.slow_downs += 1
            self.reply(400, {"error": "slow_down"})
        elif not self.state.device_codes[code]:
            self.reply(400, {"error": "authorization_pending"})
        else:
            del self.state.device_codes[code]
            self.reply(200, self.state.issue())

    def code_token(self, form: dict[str, str]) -> None:
        challenge, redirect = self.state.codes.pop(form.get("code", ""), ("", ""))
        if not challenge or form.get("redirect_uri") != redirect:
            self.reply(400, {"error": "invalid_grant"})
        elif s256(form.get("code_verifier", "")) != challenge:
            self.reply(400, {"error": "invalid_grant", "error_description": "PKCE"})
        else:
            self.reply(200, self.state.issue())
