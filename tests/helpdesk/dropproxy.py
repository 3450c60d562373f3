"""A loopback HTTP proxy in front of a real server that loses answers on demand.

Decides nothing about any helpdesk: every request is forwarded to the upstream server as it
came and the answer relayed back, except for the requests armed with `lose_answer`: those are
forwarded, the upstream server carries them out, and then the answer is lost — the connection
closes without a byte ("drop"), or a 502 comes back instead ("status"). That is what a load
balancer or a flaky network does to a helpdesk that already accepted a write, and it lets the
tests inject it in front of a server we cannot change (Request Tracker).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
DECODED = {"content-encoding"}  # httpx hands the body back decoded


@dataclass
class LostAnswer:
    method: str
    path: re.Pattern[str]
    kind: str  # "drop" or "status"
    count: int


class DropProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream.rstrip("/"), timeout=60)
        self.lock = threading.Lock()
        self.armed: list[LostAnswer] = []
        self.log: list[tuple[str, str, int | str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def lose_answer(self, method: str, path: str, kind: str = "drop", count: int = 1) -> None:
        """The next `count` requests matching `method` and the `path` regex reach the server;
        their answers do not come back."""
        with self.lock:
            self.armed.append(LostAnswer(method, re.compile(path), kind, count))

    def take(self, method: str, path: str) -> LostAnswer | None:
        with self.lock:
            for armed in self.armed:
                if armed.method == method and armed.path.fullmatch(path):
                    armed.count -= 1
                    if armed.count <= 0:
                        self.armed.remove(armed)
                    return armed
            return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = proxy.upstream.request(
                    self.command, self.path, headers=headers, content=body
                )
                lost = proxy.take(self.command, self.path.split("?")[0])
                with proxy.lock:
                    proxy.log.append(
                        (self.command, self.path, lost.kind if lost else answer.status_code)
                    )
                if lost is not None and lost.kind == "drop":
                    self.close_connection = True  # done upstream; the answer never leaves
                    return
                status, payload, kept = answer.status_code, answer.content, answer.headers
                if lost is not None:
                    status, payload, kept = 502, b"Bad Gateway", httpx.Headers()
                self.send_response(status)
                for name, value in kept.multi_items():
                    if name.lower() not in HOP_BY_HOP | DECODED:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
