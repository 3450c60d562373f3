"""Freshdesk through its REST API v2.

Decides how Freshdesk's objects map onto the `Helpdesk` records. Changed tickets come from
`GET /api/v2/tickets?updated_since=...&order_by=updated_at&order_type=asc` with the requester
embedded (`include=requester`), `per_page` up to 100, following the `Link: <...>; rel="next"`
header until it is absent (Freshdesk sets it only when another page exists); the cursor is the
last ticket's `updated_at`. The ticket's description is its first customer entry (it is not in
the conversations list); conversations are read the same paged way: private ones are notes,
`incoming` ones or those by the requester are the customer's, the rest are replies. Notes go
to `/notes` (`private: true`), replies to `/reply`, a customer's follow-up in mirror mode to
`/notes` with `incoming: true, private: false` (the documented way to record a message as
coming from outside). Freshdesk bodies are HTML: our plain text is escaped with line breaks
kept. Tags carry the approval mark and the escalation; `PUT /tickets/{id}` replaces the whole
tag list, so the current tags are read first. Authentication is HTTP Basic with the API key as
the user name and "X" as the password. Rate-limit headers (`X-RateLimit-Remaining`) are logged;
429 answers carry `Retry-After`, which the shared client honours.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.helpdesk.hosted import HostedHelpdesk
from connectors.helpdesk.http import ApiClient, client_for, env_secret
from connectors.helpdesk.records import (
    CustomerMail,
    Entry,
    EntryKind,
    EscalationOrder,
    Mark,
    Person,
    RemoteAttachment,
    RemoteTicket,
    TicketPage,
    normalise,
)

STATUS_OPEN = 2
PRIORITY_LOW = 1
SOURCE_EMAIL = 1
DESCRIPTION = "description"
"""The entry id of a ticket's description (its first message)."""


class Freshdesk(HostedHelpdesk):
    kind = "freshdesk"

    def __init__(self, settings: Any, client: ApiClient) -> None:
        super().__init__(settings, client)

    @classmethod
    def from_settings(cls, settings: Any) -> Freshdesk:
        key = env_secret(settings.name, settings.api_key_env, "api_key_env")
        return cls(
            settings,
            client_for(settings, "/api/v2", auth=(key, "X")),
        )

    # --- reading -------------------------------------------------------------------------

    def changed_tickets(self, cursor: str | None, since: float) -> Iterator[TicketPage]:
        url: str | None = "/tickets"
        params: dict[str, Any] | None = {
            "updated_since": cursor or iso(since),
            "order_by": "updated_at",
            "order_type": "asc",
            "include": "requester",
            "per_page": self.cfg.page_size,
        }
        last = cursor
        while url:
            response = self.api.request("GET", url, params=params)
            self.note_limits(response)
            items = response.json()
            tickets = tuple(self.to_ticket(t) for t in items if self.wanted(t))
            last = items[-1]["updated_at"] if items else last
            yield TicketPage(tickets, last)
            url, params = next_link(response), None

    def note_limits(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is not None:
            self.api.log.debug(
                "rate limit: %s of %s left", remaining, response.headers.get("X-RateLimit-Total")
            )

    def wanted(self, ticket: dict[str, Any]) -> bool:
        if ticket.get("deleted") or ticket.get("spam"):
            return False
        return self.cfg.group_id is None or ticket.get("group_id") == self.cfg.group_id

    def ticket(self, ticket_id: str) -> RemoteTicket:
        data = self.api.json(
            "GET", f"/tickets/{ticket_id}", item=True, params={"include": "requester"}
        )
        return self.to_ticket(data)

    def to_ticket(self, t: dict[str, Any]) -> RemoteTicket:
        requester = t.get("requester") or {}
        tags = list(t.get("tags") or [])
        return RemoteTicket(
            id=str(t["id"]),
            subject=t.get("subject") or "",
            status=str(t.get("status") or ""),
            updated_at=t.get("updated_at") or "",
            requester=Person(requester.get("name") or "", requester.get("email") or "")
            if requester
            else None,
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
        full = self.api.json("GET", f"/tickets/{ticket.id}", item=True)
        entries = [self.description_entry(full, ticket)]
        url: str | None = f"/tickets/{ticket.id}/conversations"
        params: dict[str, Any] | None = {"per_page": 100}
        while url:
            response = self.api.request("GET", url, params=params, item=True)
            entries += [self.to_entry(c, ticket) for c in response.json()]
            url, params = next_link(response), None
        return entries

    def description_entry(self, full: dict[str, Any], ticket: RemoteTicket) -> Entry:
        return Entry(
            id=DESCRIPTION,
            kind="customer",
            author=ticket.requester or Person("", ""),
            created_at=full.get("created_at") or "",
            text=full.get("description_text") or "",
            html=full.get("description"),
            attachments=attachments(full.get("attachments")),
            via=f"source {full.get('source')}",
        )

    def to_entry(self, c: dict[str, Any], ticket: RemoteTicket) -> Entry:
        kind: EntryKind = "reply"
        if c.get("private"):
            kind = "note"
        elif c.get("incoming") or c.get("user_id") == ticket.extra.get("requester_id"):
            kind = "customer"
        author = (
            ticket.requester
            if kind == "customer" and ticket.requester
            else Person(f"user {c.get('user_id')}", sender_address(c.get("from_email") or ""))
        )
        return Entry(
            id=str(c["id"]),
            kind=kind,
            author=author,
            created_at=c.get("created_at") or "",
            text=c.get("body_text") or "",
            html=c.get("body"),
            attachments=attachments(c.get("attachments")),
            via=f"source {c.get('source')}",
        )

    # --- writing -------------------------------------------------------------------------

    def create_ticket(self, mail: CustomerMail) -> str:
        if known := self.find_created(mail):
            return known  # created before a crash: Freshdesk has no idempotency key
        body: dict[str, Any] = {
            "email": mail.sender.email,
            "name": mail.sender.name or mail.sender.email,
            "subject": mail.subject or "(no subject)",
            "description": to_html(mail.text),
            "status": STATUS_OPEN,
            "priority": PRIORITY_LOW,
            "source": SOURCE_EMAIL,
        }
        if self.cfg.group_id is not None:
            body["group_id"] = self.cfg.group_id
        data = self.api.json("POST", "/tickets", item=True, json=body)
        return str(data["id"])

    def find_created(self, mail: CustomerMail) -> str | None:
        """A ticket of this requester with this exact description (a create that succeeded
        just before a crash)."""
        found = self.api.json(
            "GET",
            "/tickets",
            item=True,
            params={
                "email": mail.sender.email,
                "include": "description",
                "order_by": "created_at",
                "per_page": 30,
            },
        )
        wanted = normalise(mail.text)
        for t in found or []:
            if normalise(t.get("description_text") or "") == wanted:
                return str(t["id"])
        return None

    def add_customer_message(self, ticket: RemoteTicket, mail: CustomerMail) -> None:
        self.api.json(
            "POST",
            f"/tickets/{ticket.id}/notes",
            item=True,
            json={
                "body": to_html(mail.text),
                "incoming": True,
                "private": False,
                "user_id": ticket.extra.get("requester_id"),
            },
        )

    def post_note(self, ticket_id: str, text: str) -> None:
        self.api.json(
            "POST",
            f"/tickets/{ticket_id}/notes",
            item=True,
            json={"body": to_html(text), "private": True},
        )

    def send_reply(self, ticket_id: str, text: str) -> str:
        data = self.api.json(
            "POST", f"/tickets/{ticket_id}/reply", item=True, json={"body": to_html(text)}
        )
        return f"Freshdesk ticket {ticket_id}: reply {data.get('id')}"

    def escalate(self, ticket: RemoteTicket, order: EscalationOrder) -> None:
        fields: dict[str, Any] = {}
        if self.cfg.escalation_group_id is not None:
            fields["group_id"] = self.cfg.escalation_group_id
        if self.cfg.escalation_priority is not None:
            fields["priority"] = self.cfg.escalation_priority
        if self.cfg.escalation_tag:
            tags = self.current_tags(ticket.id)
            fields["tags"] = (
                [*tags, self.cfg.escalation_tag] if (self.cfg.escalation_tag not in tags) else tags
            )
        if fields:
            self.api.json("PUT", f"/tickets/{ticket.id}", item=True, json=fields)

    def clear_mark(self, ticket: RemoteTicket) -> None:
        tags = self.current_tags(ticket.id)
        kept = [t for t in tags if t not in (self.cfg.approve_tag, self.cfg.reject_tag)]
        if kept != tags:
            self.api.json("PUT", f"/tickets/{ticket.id}", item=True, json={"tags": kept})

    def current_tags(self, ticket_id: str) -> list[str]:
        data = self.api.json("GET", f"/tickets/{ticket_id}", item=True)
        return list(data.get("tags") or [])


def next_link(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of the Link header; None on the last page (no header)."""
    link = response.links.get("next")
    return link.get("url") if link else None


def attachments(items: list[dict[str, Any]] | None) -> tuple[RemoteAttachment, ...]:
    return tuple(
        RemoteAttachment(
            filename=a.get("name") or "attachment",
            content_type=a.get("content_type") or "application/octet-stream",
            size=int(a.get("size") or a.get("file_size") or 0),
            url=a["attachment_url"],
        )
        for a in items or []
    )


def to_html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>\n") + "</div>"


def sender_address(value: str) -> str:
    match = re.search(r"<([^>]+)>", value)
    return match.group(1) if match else value.strip()


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
