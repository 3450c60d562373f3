"""Shared pieces of the model-stack pipeline tests: real mail bytes, the settings of a daemon
pointed at the scripted LLM and the example tool service, and a fixed knowledge base."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from daemon.app import Services, build_services
from daemon.config import Settings
from daemon.cycle import run_cycle
from daemon.records import Passage
from daemon.tables import Draft, Escalation, Message, Outbox, Usage
from tests.conftest import make_settings
from tests.factories import mime_mail

AUTHSERV = "mx.example.test"
PASSAGES = (
    Passage(
        "faq-shipping-1",
        "Shipping times",
        "shipping",
        "Orders ship within 2 working days "
        "and arrive 1-3 days later. Tracking numbers are mailed when the parcel leaves.",
        3.1,
    ),
    Passage(
        "policy-refund-1",
        "Refund policy",
        "policies",
        "Items can be returned for a full refund within 30 days of delivery.",
        2.9,
    ),
    Passage(
        "faq-contact-1", "Contact", "faq", "Our team answers mail within one working day.", 1.2
    ),
)
_seq = itertools.count()


def example_tools(url: str, **extra: dict[str, Any]) -> dict[str, Any]:
    """The three example tools as documented in examples/helpdeskd.toml, plus `extra`."""
    order = {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "pattern": "^[0-9]{4,12}$"},
            "email": {"type": "string"},
        },
        "required": ["order_id", "email"],
        "additionalProperties": False,
    }
    return {
        "get_order_status": {
            "description": "Status, carrier and tracking of one of the customer's orders.",
            "parameters": order,
            "url": f"{url}/orders/{{order_id}}",
            "identity": {"email": "sender_email"},
            "owner_field": "customer_email",
        },
        "check_refund_eligibility": {
            "description": "Whether one of the customer's orders can be refunded.",
            "parameters": order,
            "url": f"{url}/refunds/{{order_id}}",
            "identity": {"email": "sender_email"},
            "owner_field": "customer_email",
        },
        "create_crm_ticket": {
            "description": "Open a CRM ticket for a follow-up by the team.",
            "method": "POST",
            "parameters": {
                "type": "object",
                "properties": {"subject": {"type": "string"}, "email": {"type": "string"}},
                "required": ["subject", "email"],
            },
            "url": f"{url}/crm/tickets",
            "identity": {"email": "sender_email"},
            "owner_field": "customer_email",
        },
        **extra,
    }


class FixedRetriever:
    """The knowledge base of these tests: three passages, by namespace."""

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]:
        return [p for p in PASSAGES if p.namespace in namespaces][:k]

    def close(self) -> None:
        return None


def make_mail(
    body: str,
    *,
    sender: str = "Alice Example <alice@example.org>",
    subject: str = "Question",
    dmarc: str = "pass",
    html: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    in_reply_to: str | None = None,
) -> bytes:
    """A customer's mail as our receiving server hands it over (with its
    Authentication-Results)."""
    domain = parseaddr(sender)[1].rsplit("@", 1)[-1]
    n = next(_seq)
    return mime_mail(
        auth=(
            f"{AUTHSERV}; dkim={dmarc} header.d={domain}; spf={dmarc} smtp.mailfrom={domain}; "
            f"dmarc={dmarc} header.from={domain}"
        ),
        sender=sender,
        to=formataddr(("Support", "support@example.com")),
        subject=subject,
        date="Thu, 26 Nov 2026 10:00:00 +0000",
        message_id=f"<m{n}.{id(body)}@{domain}>",
        date_first=True,
        in_reply_to=f"<{in_reply_to}>" if in_reply_to else None,
        body=body,
        html=html,
        attachments=attachments,
    )


def llm_settings(tmp_path: Path, llm_url: str, tool_url: str, **overrides: Any) -> Settings:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "screen": {"trusted_authserv_ids": [AUTHSERV]},
        "llm": {
            "base_url": llm_url,
            "timeout_seconds": 2.0,
            "stream_idle_seconds": 1.0,
            "retries": 1,
            "max_retry_wait_seconds": 0.5,
        },
        "models": {
            "triage": {"model": "llama-3.3-70b", "tokenizer": "llama3"},
            "multilingual": {"model": "qwen-3-32b", "tokenizer": "qwen3"},
            "vision": {"model": "kimi-k2.6", "vision": True, "tokenizer": "estimate"},
        },
        "tools": example_tools(tool_url),
        "policies": {
            "standard": {"auto_send": True, "min_confidence": 0.8},
            "escalate": {"always_escalate": True},
        },
        "pricing": {"per_request": 0.01},
        "pipeline": {"workers": 1},
    }
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    return make_settings(tmp_path, **data)


def start_services(settings: Settings) -> Services:
    services = build_services(settings)
    services.retriever = FixedRetriever()
    return services


def deliver(services: Services, *raws: bytes) -> list[Message]:
    """Drop the mails into the inbox, run one cycle, return their rows."""
    inbox = services.settings.sources[0].path  # type: ignore[union-attr]
    for raw in raws:
        (inbox / "new" / f"{next(_seq)}.test.eml").write_bytes(raw)
    run_cycle(services)
    with Session(services.engine) as session:
        return list(session.exec(select(Message).order_by(col(Message.id))).all())


@dataclass
class Snapshot:
    messages: list[Message]
    drafts: list[Draft]
    outbox: list[Outbox]
    usage: list[Usage]
    escalations: list[Escalation]

    @property
    def replies(self) -> list[Outbox]:
        return [o for o in self.outbox if o.kind == "reply"]


def snapshot(services: Services) -> Snapshot:
    with Session(services.engine) as s:
        return Snapshot(
            list(s.exec(select(Message).order_by(col(Message.id))).all()),
            list(s.exec(select(Draft).order_by(col(Draft.id))).all()),
            list(s.exec(select(Outbox).order_by(col(Outbox.id))).all()),
            list(s.exec(select(Usage).order_by(col(Usage.id))).all()),
            list(s.exec(select(Escalation).order_by(col(Escalation.id))).all()),
        )
