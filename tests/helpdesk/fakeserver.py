"""The plumbing both fake helpdesks share: a threaded HTTP server on loopback, routes by
regex, HTTP Basic users, a per-minute rate limit answering 429 with Retry-After, and faults
injected on demand: the next N requests fail with a given status (before anything is done), or
a matching request is carried out and then its answer is lost (`fail_after_accept`: the
connection is dropped, or hangs past the client's timeout, or a 502 comes back instead).

Decides nothing about Zendesk or Freshdesk: `fake_zendesk.py` and `fake_freshdesk.py` add the
routes and the JSON shapes from each one's public API documentation.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    user: Any = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Handler = Callable[[Request, re.Match[str]], Response]


@dataclass
class Fault:
    status: int
    count: int
    headers: dict[str, str]
    body: Any


@dataclass
class AfterFault:
    """What becomes of the answer to a request the fake has already carried out."""

    method: str
    path: re.Pattern[str]
    kind: str  # "drop": close without answering; "hang": wait `seconds`, then drop; "status"
    count: int
    status: int = 502
    seconds: float = 0.0


class FakeApi(ABC):
    """Subclasses register routes in `routes()` and users in `self.users`."""

    def __init__(self, *, per_minute: int = 0) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, Any] = {}  # "user:password" -> user record
        self.per_minute = per_minute
        self.window: list[float] = []
        self.faults: list[Fault] = []
        self.after_faults: list[AfterFault] = []
        self.log: list[tuple[str, str, int]] = []
        self.authorized: list[tuple[str, bool]] = []  # (path, carried an Authorization header)
        self.table: list[tuple[str, re.Pattern[str], Handler]] = [
            (m, re.compile(p), h) for m, p, h in self.routes()
        ]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    public_paths: tuple[str, ...] = ()
    """Paths served without credentials (presigned file URLs)."""

    @abstractmethod
    def routes(self) -> list[tuple[str, str, Handler]]:
        """(method, path regex, handler) of every endpoint the fake serves."""

    # --- test controls -----------------------------------------------------------------

    def fail_next(
        self, status: int, count: int = 1, headers: dict[str, str] | None = None, body: Any = None
    ) -> None:
        with self.lock:
            self.faults.append(Fault(status, count, headers or {}, body))

    def fail_after_accept(
        self,
        method: str,
        path: str,
        kind: str,
        *,
        count: int = 1,
        status: int = 502,
        seconds: float = 0.0,
    ) -> None:
        """The next `count` requests matching `method` and the `path` regex are carried out,
        then their answer is lost the way `kind` says."""
        with self.lock:
            self.after_faults.append(
                AfterFault(method, re.compile(path), kind, count, status, seconds)
            )

    def take_after_fault(self, request: Request) -> AfterFault | None:
        with self.lock:
            for fault in self.after_faults:
                if fault.method == request.method and fault.path.fullmatch(request.path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.after_faults.remove(fault)
                    return fault
            return None

    def requests(self, method: str | None = None, path: str = "") -> list[tuple[str, str, int]]:
        with self.lock:
            return [r for r in self.log if (method is None or r[0] == method) and path in r[1]]

    # --- request handling ----------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            if fault := self.take_fault():
                return fault
            header = request.headers.get("authorization", "")
            self.authorized.append((request.path, bool(header)))
            request.user = self.users.get(basic_user(header))
            if request.user is None and not request.path.startswith(self.public_paths):
                return self.unauthorized()
            if limited := self.rate_limit():
                return limited
            for method, pattern, handler in self.table:
                if method == request.method and (match := pattern.fullmatch(request.path)):
                    response = handler(request, match)
                    response.headers.update(self.limit_headers())
                    return response
            return self.not_found()

    def take_fault(self) -> Response | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self.faults.pop(0)
        return Response(fault.status, fault.body, dict(fault.headers))

    def rate_limit(self) -> Response | None:
        if not self.per_minute:
            return None
        now = time.monotonic()
        self.window = [t for t in self.window if now - t < 60]
        if len(self.window) >= self.per_minute:
            wait = int(60 - (now - self.window[0])) + 1
            return Response(429, self.rate_limited_body(), {"Retry-After": str(wait)})
        self.window.append(now)
        return None

    def limit_headers(self) -> dict[str, str]:
        return {}

    def rate_limited_body(self) -> Any:
        return {"error": "rate limited"}

    def unauthorized(self) -> Response:
        return Response(401, {"error": "unauthorized"})

    def not_found(self) -> Response:
        return Response(404, {"error": "not found"})

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_any(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = api.dispatch(request)
                after = api.take_after_fault(request) if response.status < 400 else None
                if after is not None and after.kind == "status":
                    response = Response(after.status, {"error": "Bad Gateway"})
                with api.lock:
                    api.log.append((self.command, self.path, response.status))
                if after is not None and after.kind in ("drop", "hang"):
                    time.sleep(after.seconds)  # the client times out meanwhile ("hang")
                    self.close_connection = True  # done, but the answer never leaves
                    return
                payload = (
                    response.raw
                    if response.raw is not None
                    else (b"" if response.body is None else json.dumps(response.body).encode())
                )
                self.send_response(response.status)
                if response.raw is None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def basic_user(header: str) -> str:
    if not header.lower().startswith("basic "):
        return header  # bearer tokens are looked up as they are
    try:
        return base64.b64decode(header[6:]).decode()
    except ValueError:
        return ""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def html_to_text(html: str) -> str:
    """What the helpdesks report as the plain text of an HTML body."""
    text = re.sub(r"<br\s*/?>\s*", "\n", html)
    text = re.sub(r"</(div|p)>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    import html as html_module

    return html_module.unescape(text).strip()
