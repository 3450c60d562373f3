"""What an agent does in each fake helpdesk, through its API, so one test loop serves both.

Each `Desk` wraps a fake server: how helpdeskd is configured for it, how a customer's email
arrives, how an agent adds an internal note or an approval tag, and what the test reads back
(notes, the ticket's group/priority/tags, the mail the helpdesk sent to customers).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpdesk.fake_freshdesk import FakeFreshdesk
from tests.helpdesk.fake_zendesk import AGENT, FakeZendesk


@dataclass
class Desk(ABC):
    kind: str
    fake: Any
    env: dict[str, str]
    settings: dict[str, Any]
    agent: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.agent = self.agent_client()

    @abstractmethod
    def agent_client(self) -> httpx.Client:
        """An HTTP client authenticated as the helpdesk's agent."""

    @abstractmethod
    def note(self, ticket: str, text: str) -> None:
        """Add an agent's internal note to a ticket."""

    @abstractmethod
    def tag(self, ticket: str, tag: str) -> None:
        """Add a tag to a ticket, as an agent does."""

    @abstractmethod
    def notes(self, ticket: str) -> list[str]:
        """The texts of a ticket's internal notes, oldest first."""

    @abstractmethod
    def customer_texts(self, ticket: str) -> list[str]:
        """The texts the customer wrote on a ticket, oldest first."""

    @abstractmethod
    def requester_email(self, ticket: str) -> str:
        """The email address of the ticket's requester."""

    @abstractmethod
    def state(self, ticket: str) -> dict[str, Any]:
        """The ticket's group, priority and tags."""

    def customer_email(
        self,
        subject: str,
        text: str,
        *,
        sender: str = "carol",
        files: tuple[tuple[str, str, bytes], ...] = (),
    ) -> str:
        return str(
            self.fake.customer_email(
                f"{sender.title()} Customer", f"{sender}@customer.test", subject, text, files
            )
        )

    def close(self) -> None:
        self.agent.close()
        self.fake.close()


class ZendeskDesk(Desk):
    def agent_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.fake.url + "/api/v2", auth=(f"{AGENT['email']}/token", "zd-token")
        )

    def note(self, ticket: str, text: str) -> None:
        answer = self.agent.put(
            f"/tickets/{ticket}.json", json={"ticket": {"comment": {"body": text, "public": False}}}
        )
        assert answer.status_code == 200, answer.text

    def tag(self, ticket: str, tag: str) -> None:
        assert (
            self.agent.put(f"/tickets/{ticket}/tags.json", json={"tags": [tag]}).status_code == 200
        )

    def notes(self, ticket: str) -> list[str]:
        return [c["body"] for c in self.fake.comments[int(ticket)] if not c["public"]]

    def customer_texts(self, ticket: str) -> list[str]:
        requester = self.fake.tickets[int(ticket)]["requester_id"]
        return [
            c["body"]
            for c in self.fake.comments[int(ticket)]
            if c["public"] and c["author_id"] == requester
        ]

    def requester_email(self, ticket: str) -> str:
        return str(self.fake.user_rows[self.fake.tickets[int(ticket)]["requester_id"]]["email"])

    def state(self, ticket: str) -> dict[str, Any]:
        t = self.fake.tickets[int(ticket)]
        return {"group": t["group_id"], "priority": t["priority"], "tags": list(t["tags"])}


class FreshdeskDesk(Desk):
    def agent_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.fake.url + "/api/v2", auth=("alice-key", "X"))

    def note(self, ticket: str, text: str) -> None:
        html = "<div>" + text.replace("\n", "<br>") + "</div>"
        answer = self.agent.post(f"/tickets/{ticket}/notes", json={"body": html, "private": True})
        assert answer.status_code == 201, answer.text

    def tag(self, ticket: str, tag: str) -> None:
        tags = self.agent.get(f"/tickets/{ticket}").json()["tags"]
        assert self.agent.put(f"/tickets/{ticket}", json={"tags": [*tags, tag]}).status_code == 200

    def notes(self, ticket: str) -> list[str]:
        return [c["body_text"] for c in self.fake.conversations[int(ticket)] if c["private"]]

    def customer_texts(self, ticket: str) -> list[str]:
        t = self.fake.tickets[int(ticket)]
        return [t["description_text"]] + [
            c["body_text"]
            for c in self.fake.conversations[int(ticket)]
            if not c["private"] and c["incoming"]
        ]

    def requester_email(self, ticket: str) -> str:
        return str(self.fake.contacts[self.fake.tickets[int(ticket)]["requester_id"]]["email"])

    def state(self, ticket: str) -> dict[str, Any]:
        t = self.fake.tickets[int(ticket)]
        return {"group": t["group_id"], "priority": t["priority"], "tags": list(t["tags"])}


def zendesk_desk(**overrides: Any) -> ZendeskDesk:
    fake = FakeZendesk(
        **{
            k: v
            for k, v in overrides.items()
            if k in ("export_lag", "export_per_minute", "per_minute")
        }
    )
    settings = {
        "kind": "zendesk",
        "name": "zd",
        "url": fake.url,
        "email_env": "TEST_ZD_EMAIL",
        "token_env": "TEST_ZD_TOKEN",
        "escalation_group_id": 42,
        "escalation_priority": "urgent",
        "max_wait_seconds": 5,
        "poll_seconds": 5,
        "export_requests_per_minute": 600,
        **{
            k: v
            for k, v in overrides.items()
            if k not in ("export_lag", "export_per_minute", "per_minute", "token")
        },
    }
    env = {
        "TEST_ZD_EMAIL": "helpbot@example.test",
        "TEST_ZD_TOKEN": overrides.get("token", "zd-token"),
    }
    return ZendeskDesk("zendesk", fake, env, settings)


def freshdesk_desk(**overrides: Any) -> FreshdeskDesk:
    fake = FakeFreshdesk(**{k: v for k, v in overrides.items() if k == "per_minute"})
    settings = {
        "kind": "freshdesk",
        "name": "fd",
        "url": fake.url,
        "api_key_env": "TEST_FD_KEY",
        "escalation_group_id": 42,
        "escalation_priority": 4,
        "max_wait_seconds": 5,
        "poll_seconds": 5,
        **{k: v for k, v in overrides.items() if k not in ("per_minute", "token")},
    }
    env = {"TEST_FD_KEY": overrides.get("token", "fd-key")}
    return FreshdeskDesk("freshdesk", fake, env, settings)


DESKS = {"zendesk": zendesk_desk, "freshdesk": freshdesk_desk}
