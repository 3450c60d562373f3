"""A local Freshdesk API v2, written from Freshdesk's public API documentation.

What it implements, and the documented behaviour it keeps:

- `GET /api/v2/tickets` — `updated_since`, `order_by` (`created_at`, `updated_at`),
  `order_type`, `email`, `include=requester` / `include=description`, `per_page` (at most
  100, default 30) and `page`; when another page exists the response carries
  `Link: <…&page=N>; rel="next"`, and on the last page there is no Link header.
- `GET /api/v2/tickets/{id}` (description, `description_text`, `attachments`, `tags`,
  `include=requester`), `POST /api/v2/tickets` (requester by `email`, `status`, `priority`,
  `source`), `PUT /api/v2/tickets/{id}` (`tags` replaces the list; `group_id`, `priority`).
- `GET /api/v2/tickets/{id}/conversations` — paged like the list; conversations carry `id`,
  `body`, `body_text`, `incoming`, `private`, `user_id`, `source`, `from_email`, `to_emails`,
  `attachments` (`name`, `content_type`, `size`, `attachment_url`), `created_at`.
- `POST /api/v2/tickets/{id}/notes` (`private` defaults to true; `incoming: true` records it as
  coming from outside) and `POST /api/v2/tickets/{id}/reply` (emailed to the requester: kept
  in `sent_mail`).
- attachments served from another host (as Freshdesk's presigned storage URLs are), without
  credentials;
- Basic auth with the API key as user and `X` as password (401 `invalid_credentials`); the
  account-wide per-minute limit: `X-RateLimit-Total`, `X-RateLimit-Remaining`,
  `X-RateLimit-Used-CurrentRequest` on every answer, 429 with `Retry-After` past it.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.helpdesk.fakeserver import FakeApi, Handler, Request, Response, html_to_text, now_iso

SOURCE_EMAIL, SOURCE_PORTAL = 1, 2
CONV_REPLY, CONV_NOTE = 0, 2
AGENT_IDS = {"helpbot": 1, "alice": 2}


class FakeFreshdesk(FakeApi):
    def __init__(
        self, *, api_key: str = "fd-key", agent_key: str = "alice-key", per_minute: int = 0
    ) -> None:
        self.ids = itertools.count(1000)
        self.contacts: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, list[dict[str, Any]]] = {}
        self.files: dict[int, bytes] = {}
        self.sent_mail: list[dict[str, Any]] = []
        self.clock = itertools.count(0)
        super().__init__(per_minute=per_minute)
        self.users = {
            f"{api_key}:X": {"id": AGENT_IDS["helpbot"], "email": "helpbot@example.test"},
            f"{agent_key}:X": {"id": AGENT_IDS["alice"], "email": "alice@example.test"},
        }

    public_paths = ("/attachments/",)

    def storage_url(self, file_id: int) -> str:
        """Like Freshdesk's presigned storage links: another host, no credentials needed."""
        return f"http://localhost:{self.server.server_address[1]}/attachments/{file_id}"

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", r"/api/v2/tickets", self.list_tickets),
            ("POST", r"/api/v2/tickets", self.create),
            ("GET", r"/api/v2/tickets/(\d+)", self.view),
            ("PUT", r"/api/v2/tickets/(\d+)", self.update),
            ("GET", r"/api/v2/tickets/(\d+)/conversations", self.list_conversations),
            ("POST", r"/api/v2/tickets/(\d+)/notes", self.note),
            ("POST", r"/api/v2/tickets/(\d+)/reply", self.reply),
            ("GET", r"/attachments/(\d+)", self.download),
        ]

    def unauthorized(self) -> Response:
        return Response(
            401,
            {
                "code": "invalid_credentials",
                "message": "You have to be logged in to perform this action.",
            },
        )

    def not_found(self) -> Response:
        return Response(404, None)

    def rate_limited_body(self) -> Any:
        return {"message": "You have exceeded the limit of requests per minute"}

    def limit_headers(self) -> dict[str, str]:
        total = self.per_minute or 700
        return {
            "X-RateLimit-Total": str(total),
            "X-RateLimit-Remaining": str(max(total - len(self.window), 0)),
            "X-RateLimit-Used-CurrentRequest": "1",
        }

    # --- what a customer's email does (the email channel) ----------------------------------

    def customer_email(
        self,
        name: str,
        email: str,
        subject: str,
        text: str,
        files: tuple[tuple[str, str, bytes], ...] = (),
    ) -> int:
        with self.lock:
            contact = self.contact_for(name, email)
            ticket = self.new_ticket(subject, contact["id"], f"<div>{text}</div>", SOURCE_EMAIL)
            ticket["attachments"] = self.store_files(files)
            return int(ticket["id"])

    def customer_reply(self, ticket_id: int, text: str) -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            contact = self.contacts[ticket["requester_id"]]
            self.add_conversation(
                ticket,
                f"<div>{text}</div>",
                incoming=True,
                private=False,
                user_id=contact["id"],
                source=SOURCE_EMAIL,
                from_email=contact["email"],
            )

    # --- handlers --------------------------------------------------------------------------

    def list_tickets(self, req: Request, m: re.Match[str]) -> Response:
        rows = [t for t in self.tickets.values() if not t["deleted"] and not t["spam"]]
        if since := req.query.get("updated_since"):
            rows = [t for t in rows if t["updated_at"] >= since]
        if email := req.query.get("email"):
            rows = [t for t in rows if self.contacts[t["requester_id"]]["email"] == email]
        key = req.query.get("order_by", "created_at")
        rows.sort(
            key=lambda t: (t[key], t["_tick"]),
            reverse=req.query.get("order_type", "desc") == "desc",
        )
        include = req.query.get("include", "")
        view = [
            self.shown(t, requester="requester" in include, description="description" in include)
            for t in rows
        ]
        return self.paged(req, view, "/api/v2/tickets")

    def paged(self, req: Request, items: list[dict[str, Any]], path: str) -> Response:
        per_page = min(int(req.query.get("per_page", "30")), 100)
        page = int(req.query.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            query = "&".join(f"{k}={v}" for k, v in req.query.items() if k != "page")
            headers["Link"] = f'<{self.url}{path}?{query}&page={page + 1}>; rel="next"'
        return Response(200, chunk, headers)

    def view(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None or ticket["deleted"]:
            return self.not_found()
        return Response(
            200,
            self.shown(
                ticket, requester="requester" in req.query.get("include", ""), description=True
            ),
        )

    def create(self, req: Request, m: re.Match[str]) -> Response:
        data = req.json()
        contact = self.contact_for(data.get("name", ""), data["email"])
        ticket = self.new_ticket(
            data["subject"], contact["id"], data["description"], data.get("source", SOURCE_PORTAL)
        )
        for key in ("status", "priority", "group_id"):
            if key in data:
                ticket[key] = data[key]
        return Response(201, self.shown(ticket, description=True))

    def update(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        for key, value in req.json().items():
            if key in ("status", "priority", "group_id", "tags", "subject", "responder_id"):
                ticket[key] = value
        self.touch(ticket)
        return Response(200, self.shown(ticket, description=True))

    def list_conversations(self, req: Request, m: re.Match[str]) -> Response:
        ticket_id = int(m.group(1))
        if ticket_id not in self.tickets:
            return self.not_found()
        return self.paged(
            req, self.conversations[ticket_id], f"/api/v2/tickets/{ticket_id}/conversations"
        )

    def note(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        data = req.json()
        incoming = bool(data.get("incoming", False))
        user = data.get("user_id") or req.user["id"]
        conv = self.add_conversation(
            ticket,
            data["body"],
            incoming=incoming,
            private=data.get("private", True),
            user_id=user,
            source=CONV_NOTE,
            from_email=self.contacts[user]["email"] if user in self.contacts else None,
        )
        return Response(201, conv)

    def reply(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        conv = self.add_conversation(
            ticket,
            req.json()["body"],
            incoming=False,
            private=False,
            user_id=req.user["id"],
            source=CONV_REPLY,
            from_email="Support <support@example.test>",
        )
        requester = self.contacts[ticket["requester_id"]]
        self.sent_mail.append(
            {"to": requester["email"], "ticket_id": ticket["id"], "body": conv["body_text"]}
        )
        return Response(201, conv)

    def download(self, req: Request, m: re.Match[str]) -> Response:
        data = self.files.get(int(m.group(1)))
        if data is None:
            return self.not_found()
        return Response(200, raw=data, headers={"Content-Type": "application/octet-stream"})

    # --- state -------------------------------------------------------------------------------

    def contact_for(self, name: str, email: str) -> dict[str, Any]:
        for contact in self.contacts.values():
            if contact["email"] == email:
                return contact
        contact = {
            "id": next(self.ids),
            "name": name or email,
            "email": email,
            "mobile": None,
            "phone": None,
        }
        self.contacts[contact["id"]] = contact
        return contact

    def new_ticket(self, subject: str, requester: int, html: str, source: int) -> dict[str, Any]:
        ticket: dict[str, Any] = {
            "id": next(self.ids),
            "subject": subject,
            "description": html,
            "description_text": html_to_text(html),
            "status": 2,
            "priority": 1,
            "source": source,
            "requester_id": requester,
            "responder_id": None,
            "group_id": None,
            "tags": [],
            "attachments": [],
            "spam": False,
            "deleted": False,
            "custom_fields": {},
            "created_at": now_iso(),
            "cc_emails": [],
            "fwd_emails": [],
            "reply_cc_emails": [],
            "type": None,
        }
        self.tickets[ticket["id"]] = ticket
        self.conversations[ticket["id"]] = []
        self.touch(ticket)
        return ticket

    def add_conversation(
        self,
        ticket: dict[str, Any],
        html: str,
        *,
        incoming: bool,
        private: bool,
        user_id: int,
        source: int,
        from_email: str | None,
    ) -> dict[str, Any]:
        conv = {
            "id": next(self.ids),
            "body": html,
            "body_text": html_to_text(html),
            "incoming": incoming,
            "private": private,
            "user_id": user_id,
            "support_email": None,
            "source": source,
            "ticket_id": ticket["id"],
            "to_emails": [],
            "from_email": from_email,
            "cc_emails": [],
            "bcc_emails": [],
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "attachments": [],
        }
        self.conversations[ticket["id"]].append(conv)
        self.touch(ticket)
        return conv

    def store_files(self, files: tuple[tuple[str, str, bytes], ...]) -> list[dict[str, Any]]:
        out = []
        for name, content_type, data in files:
            file_id = next(self.ids)
            self.files[file_id] = data
            out.append(
                {
                    "id": file_id,
                    "name": name,
                    "content_type": content_type,
                    "size": len(data),
                    "attachment_url": self.storage_url(file_id),
                    "created_at": now_iso(),
                    "updated_at": now_iso(),
                }
            )
        return out

    def shown(
        self, ticket: dict[str, Any], *, requester: bool = False, description: bool = False
    ) -> dict[str, Any]:
        out = {k: v for k, v in ticket.items() if not k.startswith("_")}
        if not description:
            out.pop("description", None)
            out.pop("description_text", None)
        if requester:
            contact = self.contacts[ticket["requester_id"]]
            out["requester"] = {k: contact[k] for k in ("id", "name", "email", "mobile", "phone")}
        return out

    def touch(self, ticket: dict[str, Any]) -> None:
        ticket["_tick"] = next(self.clock)
        ticket["updated_at"] = now_iso()
