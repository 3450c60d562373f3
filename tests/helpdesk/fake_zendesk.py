"""A local Zendesk Support API v2, written from Zendesk's public API documentation.

What it implements, and the documented behaviour it keeps:

- `GET /api/v2/incremental/tickets/cursor.json` — cursor-based incremental ticket export:
  `start_time` (Unix seconds) the first time, then `cursor`; answers `tickets`, `after_cursor`,
  `after_url`, `before_cursor`, `before_url`, `end_of_stream`; `include=users` sideloads users;
  items changed within the last `export_lag` seconds are left out (the docs: "any items that
  were created or changed within the minute prior to your request are excluded"; the tests set
  it to 0 to stay fast); at most `export_per_minute` requests a minute (documented: 10), else
  429 with `Retry-After`.
- `GET /api/v2/tickets/{id}.json` (`include=users`), `POST /api/v2/tickets.json` (with the
  `Idempotency-Key` header: a repeated key returns the first ticket and
  `x-idempotency-lookup: hit`), `PUT /api/v2/tickets/{id}.json` (a `comment` object adds a
  comment; `public: false` makes it an internal note; answers the ticket and its `audit`).
- `GET /api/v2/tickets/{id}/comments.json` — cursor pagination (`page[size]`, `page[after]`;
  `meta.has_more`, `meta.after_cursor`, `links.next`), `include=users`; comments carry `id`,
  `type`, `author_id`, `body`, `html_body`, `plain_body`, `public`, `attachments` (`file_name`,
  `content_url`, `content_type`, `size`), `via.channel`, `created_at`.
- `PUT`/`DELETE /api/v2/tickets/{id}/tags.json` add and remove tags without touching others.
- Authentication `{email}/token:{api_token}` over Basic (401 `Couldn't authenticate you`),
  account-wide per-minute limit with 429 + `Retry-After`, `X-Rate-Limit` and
  `X-Rate-Limit-Remaining` headers.

A public comment by an agent is an email to the requester: it is kept in `sent_mail`.
"""

from __future__ import annotations

import base64
import itertools
import re
import time
from typing import Any

from tests.helpdesk.fakeserver import FakeApi, Handler, Request, Response, now_iso

API_USER = {"id": 1, "name": "Help Bot", "email": "helpbot@example.test", "role": "agent"}
AGENT = {"id": 2, "name": "Alice Agent", "email": "alice@example.test", "role": "agent"}


class FakeZendesk(FakeApi):
    def __init__(
        self,
        *,
        token: str = "zd-token",  # noqa: S107 (a fake server's test credential)
        export_lag: int = 0,
        export_per_minute: int = 10,
        per_minute: int = 0,
    ) -> None:
        self.ids = itertools.count(100)
        self.seq = itertools.count(1)
        self.user_rows: dict[int, dict[str, Any]] = {1: dict(API_USER), 2: dict(AGENT)}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.files: dict[int, bytes] = {}
        self.idempotency: dict[str, int] = {}
        self.sent_mail: list[dict[str, Any]] = []
        self.export_lag = export_lag
        self.export_per_minute = export_per_minute
        self.export_calls: list[float] = []
        super().__init__(per_minute=per_minute)
        self.users = {
            f"{API_USER['email']}/token:{token}": self.user_rows[1],
            f"{AGENT['email']}/token:{token}": self.user_rows[2],
        }

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", r"/api/v2/incremental/tickets/cursor\.json", self.export),
            ("GET", r"/api/v2/tickets/(\d+)\.json", self.show),
            ("POST", r"/api/v2/tickets\.json", self.create),
            ("PUT", r"/api/v2/tickets/(\d+)\.json", self.update),
            ("GET", r"/api/v2/tickets/(\d+)/comments\.json", self.list_comments),
            ("PUT", r"/api/v2/tickets/(\d+)/tags\.json", self.add_tags),
            ("DELETE", r"/api/v2/tickets/(\d+)/tags\.json", self.remove_tags),
            ("GET", r"/attachments/token/(\d+)/", self.download),
        ]

    def unauthorized(self) -> Response:
        return Response(401, {"error": "Couldn't authenticate you"})

    def not_found(self) -> Response:
        return Response(404, {"error": "RecordNotFound", "description": "Not found"})

    def limit_headers(self) -> dict[str, str]:
        if not self.per_minute:
            return {}
        return {
            "X-Rate-Limit": str(self.per_minute),
            "X-Rate-Limit-Remaining": str(max(self.per_minute - len(self.window), 0)),
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
            user = self.user_for(name, email)
            ticket = self.new_ticket(subject, user["id"])
            self.add_comment(ticket, user["id"], text, public=True, channel="email", files=files)
            return int(ticket["id"])

    def customer_reply(self, ticket_id: int, text: str) -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            self.add_comment(ticket, ticket["requester_id"], text, public=True, channel="email")

    # --- handlers --------------------------------------------------------------------------

    def export(self, req: Request, m: re.Match[str]) -> Response:
        now = time.monotonic()
        self.export_calls = [t for t in self.export_calls if now - t < 60]
        if len(self.export_calls) >= self.export_per_minute:
            return Response(429, {"error": "TooManyRequests"}, {"Retry-After": "60"})
        self.export_calls.append(now)
        if "cursor" in req.query:
            after = int(base64.b64decode(req.query["cursor"]).decode())
            rows = [t for t in self.tickets.values() if t["_seq"] > after]
        else:
            start = int(req.query.get("start_time", "0"))
            rows = [t for t in self.tickets.values() if t["_updated"] >= start]
        horizon = time.time() - self.export_lag
        rows = sorted((t for t in rows if t["_updated"] <= horizon), key=lambda t: t["_seq"])
        per_page = int(req.query.get("per_page", "1000"))
        page, more = rows[:per_page], len(rows) > per_page
        last = page[-1]["_seq"] if page else self.last_seq(req)
        cursor = base64.b64encode(str(last).encode()).decode()
        body: dict[str, Any] = {
            "tickets": [public(t) for t in page],
            "after_cursor": cursor,
            "after_url": f"{self.url}/api/v2/incremental/tickets/cursor.json?cursor={cursor}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": not more,
        }
        if "users" in req.query.get("include", ""):
            body["users"] = self.users_of(page)
        return Response(200, body)

    def last_seq(self, req: Request) -> int:
        if "cursor" in req.query:
            return int(base64.b64decode(req.query["cursor"]).decode())
        return 0

    def show(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        body: dict[str, Any] = {"ticket": public(ticket)}
        if "users" in req.query.get("include", ""):
            body["users"] = self.users_of([ticket])
        return Response(200, body)

    def create(self, req: Request, m: re.Match[str]) -> Response:
        key = req.headers.get("idempotency-key")
        if key and key in self.idempotency:
            ticket = self.tickets[self.idempotency[key]]
            return Response(201, {"ticket": public(ticket)}, {"x-idempotency-lookup": "hit"})
        data = req.json()["ticket"]
        requester = data.get("requester") or {}
        user = self.user_for(requester.get("name", ""), requester["email"])
        ticket = self.new_ticket(data["subject"], user["id"], data.get("group_id"))
        comment = data.get("comment") or {}
        self.add_comment(ticket, user["id"], comment.get("body", ""), public=True, channel="api")
        if key:
            self.idempotency[key] = ticket["id"]
        return Response(201, {"ticket": public(ticket)}, {"x-idempotency-lookup": "miss"})

    def update(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        data = req.json()["ticket"]
        for key in ("status", "priority", "group_id", "tags", "subject"):
            if key in data:
                ticket[key] = data[key]
        if comment := data.get("comment"):
            author = comment.get("author_id") or req.user["id"]
            self.add_comment(
                ticket, author, comment["body"], public=comment.get("public", True), channel="api"
            )
        self.touch(ticket)
        audit = {
            "id": next(self.ids),
            "ticket_id": ticket["id"],
            "created_at": now_iso(),
            "author_id": req.user["id"],
            "events": [],
        }
        return Response(200, {"ticket": public(ticket), "audit": audit})

    def list_comments(self, req: Request, m: re.Match[str]) -> Response:
        ticket_id = int(m.group(1))
        if ticket_id not in self.tickets:
            return self.not_found()
        rows = self.comments[ticket_id]
        size = int(req.query.get("page[size]", "100"))
        after = (
            int(base64.b64decode(req.query["page[after]"]).decode())
            if ("page[after]" in req.query)
            else 0
        )
        page = rows[after : after + size]
        more = after + size < len(rows)
        cursor = base64.b64encode(str(after + size).encode()).decode() if more else None
        body: dict[str, Any] = {
            "comments": page,
            "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
            "links": {
                "next": f"{self.url}/api/v2/tickets/{ticket_id}/comments.json?"
                f"page[size]={size}&page[after]={cursor}"
                if more
                else None,
                "prev": None,
            },
        }
        if "users" in req.query.get("include", ""):
            ids = {c["author_id"] for c in page}
            body["users"] = [self.user_rows[i] for i in sorted(ids) if i in self.user_rows]
        return Response(200, body)

    def add_tags(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        for tag in req.json()["tags"]:
            if tag not in ticket["tags"]:
                ticket["tags"].append(tag)
        self.touch(ticket)
        return Response(200, {"tags": ticket["tags"]})

    def remove_tags(self, req: Request, m: re.Match[str]) -> Response:
        ticket = self.tickets.get(int(m.group(1)))
        if ticket is None:
            return self.not_found()
        drop = set(req.json()["tags"])
        ticket["tags"] = [t for t in ticket["tags"] if t not in drop]
        self.touch(ticket)
        return Response(200, {"tags": ticket["tags"]})

    def download(self, req: Request, m: re.Match[str]) -> Response:
        data = self.files.get(int(m.group(1)))
        if data is None:
            return self.not_found()
        return Response(200, raw=data, headers={"Content-Type": "application/octet-stream"})

    # --- state -------------------------------------------------------------------------------

    def user_for(self, name: str, email: str) -> dict[str, Any]:
        for user in self.user_rows.values():
            if user["email"] == email:
                return user
        user = {"id": next(self.ids), "name": name or email, "email": email, "role": "end-user"}
        self.user_rows[user["id"]] = user
        return user

    def users_of(self, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = {t["requester_id"] for t in tickets}
        return [self.user_rows[i] for i in sorted(ids)]

    def new_ticket(self, subject: str, requester: int, group: int | None = None) -> dict[str, Any]:
        ticket: dict[str, Any] = {
            "id": next(self.ids),
            "subject": subject,
            "raw_subject": subject,
            "status": "new",
            "priority": None,
            "requester_id": requester,
            "submitter_id": requester,
            "group_id": group,
            "tags": [],
            "created_at": now_iso(),
        }
        self.tickets[ticket["id"]] = ticket
        self.comments[ticket["id"]] = []
        self.touch(ticket)
        return ticket

    def add_comment(
        self,
        ticket: dict[str, Any],
        author: int,
        body: str,
        *,
        public: bool,
        channel: str,
        files: tuple[tuple[str, str, bytes], ...] = (),
    ) -> None:
        attachments = []
        for name, content_type, data in files:
            file_id = next(self.ids)
            self.files[file_id] = data
            attachments.append(
                {
                    "id": file_id,
                    "file_name": name,
                    "content_type": content_type,
                    "size": len(data),
                    "content_url": f"{self.url}/attachments/token/{file_id}/?name={name}",
                }
            )
        comment = {
            "id": next(self.ids),
            "type": "Comment",
            "author_id": author,
            "body": body,
            "html_body": f'<div class="zd-comment"><p>{body}</p></div>',
            "plain_body": body,
            "public": public,
            "attachments": attachments,
            "via": {"channel": channel, "source": {}},
            "created_at": now_iso(),
            "audit_id": next(self.ids),
        }
        self.comments[ticket["id"]].append(comment)
        requester = self.user_rows[ticket["requester_id"]]
        if public and author != ticket["requester_id"]:
            self.sent_mail.append(
                {"to": requester["email"], "ticket_id": ticket["id"], "body": body}
            )
        self.touch(ticket)

    def touch(self, ticket: dict[str, Any]) -> None:
        ticket["_seq"] = next(self.seq)
        ticket["_updated"] = int(time.time())
        ticket["updated_at"] = now_iso()
        ticket["generated_timestamp"] = ticket["_updated"]


def public(ticket: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ticket.items() if not k.startswith("_")}
