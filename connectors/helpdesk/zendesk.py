"""Zendesk Support through its REST API v2.

Decides how Zendesk's objects map onto the `Helpdesk` records. Changed tickets come from the
cursor-based incremental ticket export (`/api/v2/incremental/tickets/cursor.json`: `start_time`
the first time, then `cursor=<after_cursor>` until `end_of_stream`), with requesters sideloaded
(`include=users`); that endpoint allows 10 requests a minute, so its calls are spaced on their
own clock besides the account-wide `requests_per_minute`. It leaves out the last minute's
changes: an approval shows up one poll later. Comments are read with cursor pagination
(`page[size]`, `page[after]`, `meta.has_more`); a public comment by the requester is the
customer's, other public comments are replies, private ones are internal notes. Notes, replies
and follow-ups are comments added by updating the ticket; tags carry the approval mark and the
escalation (`PUT`/`DELETE /tickets/{id}/tags.json` add and remove without touching the others).
A ticket is created with an `Idempotency-Key` header (the mail's Message-ID), so a retried
create after a crash returns the same ticket. An update that adds a comment is not idempotent
(the same PUT twice adds two comments): the shared client never retries it blindly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.helpdesk.hosted import HostedHelpdesk
from connectors.helpdesk.http import ApiClient, client_for, env_secret
from connectors.helpdesk.records import (
    CustomerMail,
    Entry,
    EntryKind,
    EscalationOrder,
    HelpdeskError,
    Mark,
    Person,
    RemoteAttachment,
    RemoteTicket,
    TicketPage,
)
from connectors.rfc5322.head import header_message_id


class Zendesk(HostedHelpdesk):
    kind = "zendesk"

    def __init__(self, settings: Any, client: ApiClient) -> None:
        super().__init__(settings, client)
        self.export_interval = 60.0 / max(settings.export_requests_per_minute, 1)
        self.last_export = -1e9

    @classmethod
    def from_settings(cls, settings: Any) -> Zendesk:
        auth: tuple[str, str] | None = None
        headers: dict[str, str] = {}
        if settings.oauth_token_env:
            headers["Authorization"] = "Bearer " + env_secret(
                settings.name, settings.oauth_token_env, "oauth_token_env"
            )
        else:
            email = env_secret(settings.name, settings.email_env, "email_env")
            auth = (f"{email}/token", env_secret(settings.name, settings.token_env, "token_env"))
        return cls(
            settings,
            client_for(settings, "/api/v2", auth=auth, headers=headers),
        )

    # --- reading -------------------------------------------------------------------------

    def changed_tickets(self, cursor: str | None, since: float) -> Iterator[TicketPage]:
        params: dict[str, Any] = {"include": "users", "per_page": self.cfg.page_size}
        if cursor:
            params["cursor"] = cursor
        else:
            params["start_time"] = int(since)
        while True:
            self.space_export()
            data = self.api.json("GET", "/incremental/tickets/cursor.json", params=params)
            users = users_by_id(data.get("users", []))
            tickets = tuple(
                self.to_ticket(t, users) for t in data.get("tickets", []) if self.wanted(t)
            )
            after = data.get("after_cursor") or cursor
            yield TicketPage(tickets, after)
            if data.get("end_of_stream", True) or not data.get("after_cursor"):
                return
            params = {"include": "users", "per_page": self.cfg.page_size, "cursor": after}

    def space_export(self) -> None:
        wait = self.last_export + self.export_interval - self.api.clock()
        if wait > self.cfg.max_wait_seconds:
            raise HelpdeskError(
                f"{self.name}: incremental export limit: {wait:.0f} s to wait",
                retry_after=wait,
                status=429,
            )
        if wait > 0:
            self.api.sleep(wait)
        self.last_export = self.api.clock()

    def wanted(self, ticket: dict[str, Any]) -> bool:
        if ticket.get("status") == "deleted":
            return False
        return self.cfg.group_id is None or ticket.get("group_id") == self.cfg.group_id

    def ticket(self, ticket_id: str) -> RemoteTicket:
        data = self.api.json(
            "GET", f"/tickets/{ticket_id}.json", item=True, params={"include": "users"}
        )
        return self.to_ticket(data["ticket"], users_by_id(data.get("users", [])))

    def to_ticket(self, t: dict[str, Any], users: dict[int, Person]) -> RemoteTicket:
        tags = list(t.get("tags") or [])
        return RemoteTicket(
            id=str(t["id"]),
            subject=t.get("subject") or t.get("raw_subject") or "",
            status=t.get("status") or "",
            updated_at=t.get("updated_at") or "",
            requester=users.get(t.get("requester_id") or 0),
            mark=self.mark_of(tags),
            group=str(t["group_id"]) if t.get("group_id") is not None else None,
            extra={"requester_id": t.get("requester_id"), "tags": tags},
        )

    def mark_of(self, tags: list[str]) -> Mark | None:
        if self.cfg.reject_tag in tags:
            return "rejected"
        if self.cfg.approve_tag in tags:
            return "approved"
        return None

    def conversation(self, ticket: RemoteTicket) -> list[Entry]:
        entries: list[Entry] = []
        params: dict[str, Any] = {"include": "users", "page[size]": 100}
        while True:
            data = self.api.json(
                "GET", f"/tickets/{ticket.id}/comments.json", item=True, params=params
            )
            users = users_by_id(data.get("users", []))
            entries += [self.to_entry(c, ticket, users) for c in data.get("comments", [])]
            meta = data.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return entries
            params = {"include": "users", "page[size]": 100, "page[after]": meta["after_cursor"]}

    def to_entry(self, c: dict[str, Any], ticket: RemoteTicket, users: dict[int, Person]) -> Entry:
        public = bool(c.get("public", True))
        author_id = c.get("author_id")
        kind: EntryKind = "note"
        if public:
            kind = "customer" if author_id == ticket.extra.get("requester_id") else "reply"
        return Entry(
            id=str(c["id"]),
            kind=kind,
            author=users.get(author_id or 0, Person(f"user {author_id}", "")),
            created_at=c.get("created_at") or "",
            text=c.get("plain_body") or c.get("body") or "",
            html=c.get("html_body"),
            attachments=tuple(
                RemoteAttachment(
                    filename=a.get("file_name") or "attachment",
                    content_type=a.get("content_type") or "application/octet-stream",
                    size=int(a.get("size") or 0),
                    url=a["content_url"],
                )
                for a in c.get("attachments") or []
            ),
            via=str((c.get("via") or {}).get("channel") or ""),
        )

    # --- writing -------------------------------------------------------------------------

    def create_ticket(self, mail: CustomerMail) -> str:
        ticket: dict[str, Any] = {
            "subject": mail.subject or "(no subject)",
            "comment": {"body": mail.text},
            "requester": {
                "name": mail.sender.name or mail.sender.email,
                "email": mail.sender.email,
            },
        }
        if self.cfg.group_id is not None:
            ticket["group_id"] = self.cfg.group_id
        key = header_message_id(mail.raw)
        headers = {"Idempotency-Key": key} if key else {}
        data = self.api.json(
            "POST",
            "/tickets.json",
            item=True,
            once=not key,  # with the key, Zendesk answers a repeat with the same ticket
            json={"ticket": ticket},
            headers=headers,
        )
        return str(data["ticket"]["id"])

    def add_customer_message(self, ticket: RemoteTicket, mail: CustomerMail) -> None:
        comment = {"body": mail.text, "public": True, "author_id": ticket.extra.get("requester_id")}
        self.update(ticket.id, {"comment": comment})

    def update(self, ticket_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.api.json(
            "PUT",
            f"/tickets/{ticket_id}.json",
            item=True,
            once="comment" in fields,  # a comment is added again by each repeat
            json={"ticket": fields},
        )
        return data

    def post_note(self, ticket_id: str, text: str) -> None:
        self.update(ticket_id, {"comment": {"body": text, "public": False}})

    def send_reply(self, ticket_id: str, text: str) -> str:
        data = self.update(ticket_id, {"comment": {"body": text, "public": True}})
        audit = (data.get("audit") or {}).get("id")
        return f"Zendesk ticket {ticket_id}: comment added (audit {audit})"

    def escalate(self, ticket: RemoteTicket, order: EscalationOrder) -> None:
        fields: dict[str, Any] = {}
        if self.cfg.escalation_group_id is not None:
            fields["group_id"] = self.cfg.escalation_group_id
        if self.cfg.escalation_priority:
            fields["priority"] = self.cfg.escalation_priority
        if fields:
            self.update(ticket.id, fields)
        if self.cfg.escalation_tag:
            self.api.json(
                "PUT",
                f"/tickets/{ticket.id}/tags.json",
                item=True,
                json={"tags": [self.cfg.escalation_tag]},
            )

    def clear_mark(self, ticket: RemoteTicket) -> None:
        self.api.json(
            "DELETE",
            f"/tickets/{ticket.id}/tags.json",
            item=True,
            json={"tags": [self.cfg.approve_tag, self.cfg.reject_tag]},
        )


def users_by_id(users: list[dict[str, Any]]) -> dict[int, Person]:
    return {
        int(u["id"]): Person(name=u.get("name") or "", email=u.get("email") or "")
        for u in users
        if u.get("id") is not None
    }
