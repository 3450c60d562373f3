"""An example company API for helpdeskd's tools: order status, refund eligibility, CRM tickets.

Run it for the demo (`python examples/tool_service.py --port 8099`) and point `[tools.*]` at
it (see examples/helpdeskd.toml); the tests start it in-process on a free port. It behaves
like a careful internal API: an order looked up with an `email` that is not its customer's is
"not found". Without `email` it answers anyway — as a careless API would — which is what
helpdeskd's `owner_field` check exists for. Every request is recorded (`service.requests`) so
tests can prove whose data was asked for. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ORDERS: dict[str, dict[str, Any]] = {
    "10001": {
        "order_id": "10001",
        "customer_email": "alice@example.org",
        "status": "shipped",
        "carrier": "DHL",
        "tracking": "JJD000390007770001",
        "eta": "2026-11-24",
        "total": "49.90 EUR",
        "delivered_days_ago": None,
    },
    "10002": {
        "order_id": "10002",
        "customer_email": "bob@example.net",
        "status": "delivered",
        "carrier": "UPS",
        "tracking": "1Z999AA10123456784",
        "eta": None,
        "total": "129.00 EUR",
        "delivered_days_ago": 5,
    },
    "10004": {
        "order_id": "10004",
        "customer_email": "alice@example.org",
        "status": "delivered",
        "carrier": "DHL",
        "tracking": "JJD000390007770004",
        "eta": None,
        "total": "89.00 EUR",
        "delivered_days_ago": 3,
    },
    "10003": {
        "order_id": "10003",
        "customer_email": "alice@example.org",
        "status": "delivered",
        "carrier": "DHL",
        "tracking": "JJD000390007770003",
        "eta": None,
        "total": "15.00 EUR",
        "delivered_days_ago": 45,
    },
}
REFUND_DAYS = 30


class Server(ThreadingHTTPServer):
    # listen() backlog: the default 5 drops concurrent connects (clients retry after 1 s).
    request_queue_size = 256
    daemon_threads = True


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorized: bool


@dataclass
class ToolService:
    """The service and what it was asked; `start()` serves it from a thread."""

    token: str = ""
    latency: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    url: str = ""
    crm_tickets: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(ORDERS))

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        service = self

        class Handler(ToolHandler):
            owner = service

        self.server = Server((host, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://{host}:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def emails_asked(self) -> set[str]:
        """Every customer identity any request named (query or body)."""
        found = {r.query["email"].lower() for r in self.requests if r.query.get("email")}
        found |= {
            str(r.body["email"]).lower()
            for r in self.requests
            if isinstance(r.body, dict) and r.body.get("email")
        }
        return found

    # --- the API -------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and len(parts) == 2 and parts[0] == "orders":
            return self.order(parts[1], query.get("email"))
        if method == "GET" and len(parts) == 2 and parts[0] == "refunds":
            return self.refund(parts[1], query.get("email"))
        if method == "POST" and parts == ["crm", "tickets"]:
            return self.crm_ticket(body)
        if method == "GET" and parts == ["big"]:
            return 200, {"blob": "x" * 200_000}
        if method == "GET" and parts == ["broken"]:
            return 503, {"error": "maintenance"}
        return 404, {"error": "no such endpoint"}

    def order(self, order_id: str, email: str | None) -> tuple[int, Any]:
        order = self.orders.get(order_id)
        if order is None or (email is not None and email.lower() != order["customer_email"]):
            return 404, {"error": f"no order {order_id} for this customer"}
        return 200, order

    def refund(self, order_id: str, email: str | None) -> tuple[int, Any]:
        status, order = self.order(order_id, email)
        if status != 200:
            return status, order
        days = order["delivered_days_ago"]
        eligible = days is not None and days <= REFUND_DAYS
        reason = (
            f"delivered {days} days ago, within the {REFUND_DAYS}-day window"
            if eligible
            else "not delivered yet"
            if days is None
            else f"delivered {days} days ago, after the {REFUND_DAYS}-day window"
        )
        return 200, {
            "order_id": order_id,
            "customer_email": order["customer_email"],
            "eligible": eligible,
            "reason": reason,
            "max_amount": order["total"] if eligible else None,
        }

    def crm_ticket(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("email") or not body.get("subject"):
            return 400, {"error": "email and subject are required"}
        ticket = {
            "crm_ticket_id": f"CRM-{len(self.crm_tickets) + 1}",
            "customer_email": str(body["email"]).lower(),
            "subject": body["subject"],
        }
        self.crm_tickets.append(ticket)
        return 201, ticket


class ToolHandler(BaseHTTPRequestHandler):
    owner: ToolService

    def do_GET(self) -> None:
        self.handle_any("GET")

    def do_POST(self) -> None:
        self.handle_any("POST")

    def handle_any(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        token = self.owner.token
        authorized = not token or self.headers.get("Authorization") == f"Bearer {token}"
        self.owner.requests.append(Recorded(method, url.path, query, body, authorized))
        if self.owner.latency:
            time.sleep(self.owner.latency)
        status, data = (
            (401, {"error": "unauthorized"})
            if not authorized
            else (self.owner.answer(method, url.path, query, body))
        )
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read `requests` instead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--token", default="", help="require Authorization: Bearer TOKEN")
    args = parser.parse_args()
    service = ToolService(token=args.token)
    url = service.start(args.host, args.port)
    print(f"example tool service on {url} (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        service.stop()


if __name__ == "__main__":
    main()
