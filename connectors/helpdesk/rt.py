"""Request Tracker 5 through its REST2 API (and the mail gateway for customers' mail).

Decides how RT's objects map onto the `Helpdesk` records. Changed tickets come from a TicketSQL
search on `LastUpdated`, oldest first, page by page; the cursor is the last ticket's
`LastUpdated` (re-reading that second again is harmless: the daemon deduplicates by entry id).
A ticket's conversation is its Create, Correspond and Comment transactions: Create and
Correspond by a requestor are the customer's, other Correspond transactions are public replies,
Comments are internal notes. RT keeps every incoming email as a tree of attachments, so
`entry_bytes` rebuilds the original message from it. Customers' mail is put into RT (mirror
mode) through `/REST/1.0/NoAuth/mail-gateway`, exactly as `rt-mailgate` does, so RT records the
real email; the new ticket is then found by its Message-ID. The approval mark is a ticket
custom field (`AI Draft` = approved/rejected by default).

Facts relied on (RT 5.0.3): `fields[Requestor]=EmailAddress,...` expands users in one call;
listing a transaction's attachments with `fields=Parent` fails with a 500 when Parent is 0, so
the tree is read one attachment at a time; the mail gateway answers only "ok" (the ticket id
appears only in DevelMode); setting a custom field to "" deletes its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.helpdesk.http import ApiClient, client_for, env_secret
from connectors.helpdesk.mime import StoredPart, rebuild, synthesise
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

USER_FIELDS = "EmailAddress,RealName,Name"
CONVERSATION_TYPES = ("Create", "Correspond", "Comment")


class RequestTracker:
    kind = "rt"

    def __init__(self, settings: Any, client: ApiClient) -> None:
        self.name: str = settings.name
        self.cfg = settings
        self.api = client
        self.root = settings.url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Any) -> RequestTracker:
        return cls(
            settings,
            client_for(settings, "/REST/2.0", auth=rt_auth(settings), headers=rt_headers(settings)),
        )

    def close(self) -> None:
        self.api.close()

    # --- reading -------------------------------------------------------------------------

    def changed_tickets(self, cursor: str | None, since: float) -> Iterator[TicketPage]:
        after = cursor or rt_time(since)
        query = f"Queue = '{self.cfg.queue}' AND LastUpdated >= '{after}'"
        page = 1
        while True:
            data = self.api.json(
                "GET",
                "/tickets",
                params={
                    "query": query,
                    "orderby": "LastUpdated",
                    "order": "ASC",
                    "page": page,
                    "per_page": self.cfg.page_size,
                    "fields": "Subject,Status,LastUpdated,Requestor,Queue,CustomFields",
                    "fields[Requestor]": USER_FIELDS,
                    "fields[Queue]": "Name",
                },
            )
            tickets = tuple(self.to_ticket(item) for item in data.get("items", []))
            last = tickets[-1].updated_at if tickets else cursor
            yield TicketPage(tickets, last)
            if page >= int(data.get("pages") or 0) or not tickets:
                return
            page += 1

    def ticket(self, ticket_id: str) -> RemoteTicket:
        """One ticket, read through the search so the requestors come expanded (a plain
        `GET /ticket/N` ignores `fields` and gives only user ids)."""
        if not ticket_id.isdigit():
            raise HelpdeskError(
                f"{self.name}: bad ticket id {ticket_id!r}", permanent=True, scope="item"
            )
        data = self.api.json(
            "GET",
            "/tickets",
            item=True,
            params={
                "query": f"id = {ticket_id}",
                "fields": "Subject,Status,LastUpdated,Requestor,Queue,CustomFields",
                "fields[Requestor]": USER_FIELDS,
                "fields[Queue]": "Name",
            },
        )
        items = data.get("items", [])
        if not items:
            raise HelpdeskError(
                f"{self.name}: ticket {ticket_id} not found (deleted, or no right to see it)",
                permanent=True,
                status=404,
                scope="item",
            )
        return self.to_ticket(items[0])

    def to_ticket(self, item: dict[str, Any]) -> RemoteTicket:
        requestors = [to_person(u) for u in item.get("Requestor") or [] if isinstance(u, dict)]
        queue = item.get("Queue")
        return RemoteTicket(
            id=str(item["id"]),
            subject=item.get("Subject") or "",
            status=item.get("Status") or "",
            updated_at=item.get("LastUpdated") or "",
            requester=requestors[0] if requestors else None,
            mark=self.mark_of(item.get("CustomFields") or []),
            group=queue.get("Name") if isinstance(queue, dict) else None,
            extra={"requestor_names": [u.get("Name") for u in item.get("Requestor") or []]},
        )

    def mark_of(self, fields: list[dict[str, Any]]) -> Mark | None:
        for cf in fields:
            if cf.get("name") != self.cfg.approval_field:
                continue
            values = [v for v in cf.get("values") or [] if v]
            if self.cfg.rejected_value in values:
                return "rejected"
            if self.cfg.approved_value in values:
                return "approved"
        return None

    def conversation(self, ticket: RemoteTicket) -> list[Entry]:
        requestors = {n for n in ticket.extra.get("requestor_names", []) if n}
        entries = []
        for txn in self.history(ticket.id):
            if txn.get("Type") not in CONVERSATION_TYPES:
                continue
            entries.append(self.to_entry(txn, requestors))
        return entries

    def history(self, ticket_id: str) -> Iterator[dict[str, Any]]:
        """Every transaction, oldest first. RT 5.0.3 reports no page count for history, so
        pages are read until one comes back short."""
        page = 1
        while True:
            data = self.api.json(
                "GET",
                f"/ticket/{ticket_id}/history",
                item=True,
                params={
                    "page": page,
                    "per_page": 100,
                    "fields": "Type,Creator,Created",
                    "fields[Creator]": USER_FIELDS,
                },
            )
            items = data.get("items", [])
            yield from items
            if len(items) < 100:
                return
            page += 1

    def to_entry(self, txn: dict[str, Any], requestors: set[str]) -> Entry:
        creator = txn.get("Creator") or {}
        parts = self.api.json(
            "GET",
            f"/transaction/{txn['id']}/attachments",
            item=True,
            params={
                "fields": "ContentType,Filename,Content,Subject",
                "per_page": 100,
            },
        ).get("items", [])
        text = next(
            (p for p in parts if p.get("ContentType") == "text/plain" and not p.get("Filename")),
            None,
        )
        html = next(
            (p for p in parts if p.get("ContentType") == "text/html" and not p.get("Filename")),
            None,
        )
        # In a listing RT returns bodies as text, not base64 (only GET /attachment/N encodes).
        kind: EntryKind = "note"
        if txn["Type"] != "Comment":
            kind = "customer" if creator.get("Name") in requestors else "reply"
        return Entry(
            id=str(txn["id"]),
            kind=kind,
            author=to_person(creator),
            created_at=txn.get("Created") or "",
            text=(text.get("Content") or "") if text else "",
            html=(html.get("Content") or "") if html else None,
            attachments=tuple(
                RemoteAttachment(
                    filename=p["Filename"],
                    content_type=p.get("ContentType") or "application/octet-stream",
                    size=len(p.get("Content") or ""),
                    url=f"/attachment/{p['id']}",
                )
                for p in parts
                if p.get("Filename")
            ),
            via="rt",
        )

    def entry_bytes(self, ticket: RemoteTicket, entry: Entry) -> bytes:
        """The original email RT stored for this transaction (rebuilt from its parts)."""
        listing = self.api.json(
            "GET", f"/transaction/{entry.id}/attachments", item=True, params={"per_page": 100}
        ).get("items", [])
        parts = [self.stored_part(int(a["id"])) for a in listing]
        if parts and any(p.parent == 0 and "from:" in p.headers.lower() for p in parts):
            return rebuild(parts)
        # Created through the web UI or API: no email was stored, so synthesise one.
        host = re.sub(r"^https?://", "", self.root).split("/")[0]
        return synthesise(
            helpdesk=self.name,
            host=host,
            ticket=ticket,
            entry=entry,
            to=self.cfg.support_address or f"support@{host}",
            files=[],
        )

    def stored_part(self, attachment_id: int) -> StoredPart:
        data = self.api.json("GET", f"/attachment/{attachment_id}", item=True)
        parent = data.get("Parent")
        return StoredPart(
            id=attachment_id,
            parent=int(parent["id"]) if isinstance(parent, dict) else int(parent or 0),
            headers=data.get("Headers") or "",
            content_b64=data.get("Content"),
            content_type=data.get("ContentType") or "text/plain",
        )

    # --- writing -------------------------------------------------------------------------

    def create_ticket(self, mail: CustomerMail) -> str:
        message_id = header_message_id(mail.raw)
        if message_id and (known := self.ticket_by_message_id(message_id)):
            return known  # created before a crash: never twice
        self.mail_gateway(mail.raw, ticket=None)
        if not message_id or not (created := self.ticket_by_message_id(message_id)):
            raise HelpdeskError(
                f"{self.name}: the mail gateway accepted the mail but no ticket holds "
                f"Message-ID {message_id!r}",
                permanent=True,
                scope="item",
            )
        return created

    def add_customer_message(self, ticket: RemoteTicket, mail: CustomerMail) -> None:
        self.mail_gateway(mail.raw, ticket=ticket.id)

    def mail_gateway(self, raw: bytes, ticket: str | None) -> None:
        form = {
            "queue": self.cfg.queue,
            "action": "correspond",
            "message": raw.decode("utf-8", "surrogateescape"),
        }
        if ticket:
            form["ticket"] = ticket
        response = self.api.request(
            "POST", self.root + "/REST/1.0/NoAuth/mail-gateway", data=form, item=True
        )
        answer = response.text.strip()
        if not answer.startswith("ok"):
            temporary = answer.startswith("temporary")
            raise HelpdeskError(
                f"{self.name}: mail gateway said {answer[:200]!r}",
                permanent=not temporary,
                scope="item",
            )

    def ticket_by_message_id(self, message_id: str) -> str | None:
        found = self.api.json(  # a search: POST only because REST2 takes the query as JSON
            "POST",
            "/attachments",
            item=True,
            once=False,
            json=[{"field": "MessageId", "value": message_id}],
        )
        for item in found.get("items", []):
            attachment = self.api.json("GET", f"/attachment/{item['id']}", item=True)
            txn = self.api.json(
                "GET", f"/transaction/{attachment['TransactionId']['id']}", item=True
            )
            if txn.get("Object", {}).get("type") == "ticket":
                return str(txn["Object"]["id"])
        return None

    def post_note(self, ticket_id: str, text: str) -> None:
        self.api.json(
            "POST",
            f"/ticket/{ticket_id}/comment",
            item=True,
            json={"Content": text, "ContentType": "text/plain"},
        )

    def send_reply(self, ticket_id: str, text: str) -> str:
        answer = self.api.json(
            "POST",
            f"/ticket/{ticket_id}/correspond",
            item=True,
            json={"Content": text, "ContentType": "text/plain"},
        )
        return f"RT ticket {ticket_id}: " + "; ".join(answer or [])

    def escalate(self, ticket: RemoteTicket, order: EscalationOrder) -> None:
        update: dict[str, Any] = {}
        if self.cfg.escalation_queue:
            update["Queue"] = self.cfg.escalation_queue
        if self.cfg.escalation_priority is not None:
            update["Priority"] = self.cfg.escalation_priority
        if self.cfg.escalation_field:
            update["CustomFields"] = {self.cfg.escalation_field: self.cfg.escalation_value}
        if update:
            self.api.json("PUT", f"/ticket/{ticket.id}", item=True, json=update)

    def clear_mark(self, ticket: RemoteTicket) -> None:
        self.api.json(
            "PUT",
            f"/ticket/{ticket.id}",
            item=True,
            json={"CustomFields": {self.cfg.approval_field: ""}},
        )


def rt_auth(settings: Any) -> tuple[str, str] | None:
    if settings.token_env:
        return None  # the token goes in a header
    user = env_secret(settings.name, settings.username_env, "username_env")
    password = env_secret(settings.name, settings.password_env, "password_env")
    return (user, password)


def rt_headers(settings: Any) -> dict[str, str]:
    if not settings.token_env:
        return {}
    return {"Authorization": "token " + env_secret(settings.name, settings.token_env, "token_env")}


def to_person(user: dict[str, Any]) -> Person:
    email = user.get("EmailAddress") or ""
    name = user.get("RealName") or user.get("Name") or user.get("id") or ""
    if not email and "@" in str(user.get("id", "")):
        email = str(user["id"])
    return Person(name=str(name), email=str(email))


def rt_time(unix: float) -> str:
    """The form RT itself reports LastUpdated in (UTC, with Z), accepted back by TicketSQL."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
