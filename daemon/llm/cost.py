"""Cost: what each request costs, and the per-ticket and daily caps.

Decides the price of a request — a flat price per request, per-million input and output token
prices, or both (a model's own prices win over `[pricing]`'s defaults) — and whether the next
request may be made. Spend is read from the usage rows, plus what requests in flight have
reserved (their worst case: the estimated prompt and `max_tokens` of answer), so concurrent
workers cannot all pass the check together. Over a cap the caller falls back (rules, offline
drafter, template summary) and the ticket is held with the reason; nothing is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Engine, or_
from sqlmodel import Session, col, func, select

from daemon.config import ModelSettings, PricingSettings
from daemon.tables import Message, Usage


@dataclass(frozen=True, slots=True)
class Price:
    per_request: float
    input_per_million: float
    output_per_million: float

    def of(self, input_tokens: int, output_tokens: int) -> float:
        return (
            self.per_request
            + input_tokens * self.input_per_million / 1e6
            + output_tokens * self.output_per_million / 1e6
        )


def price_of(model: ModelSettings, pricing: PricingSettings) -> Price:
    def pick(own: float | None, default: float) -> float:
        return default if own is None else own

    return Price(
        pick(model.per_request, pricing.per_request),
        pick(model.input_per_million, pricing.input_per_million),
        pick(model.output_per_million, pricing.output_per_million),
    )


class CostGuard:
    """Caps from `[pricing]`, checked against recorded spend plus reservations."""

    def __init__(self, pricing: PricingSettings, engine: Engine) -> None:
        self.pricing = pricing
        self.engine = engine
        self._lock = threading.Lock()
        self._reserved_today = 0.0
        self._reserved: dict[int, float] = {}

    @property
    def capped(self) -> bool:
        return bool(self.pricing.per_ticket_cap or self.pricing.daily_cap)

    @contextmanager
    def reserve(
        self, ticket_id: int | None, message_pk: int | None, worst_case: float
    ) -> Iterator[str | None]:
        """Yield None when the request may go (its worst case is held meanwhile), else the
        reason it may not."""
        if not self.capped:
            yield None
            return
        key = ticket_id if ticket_id is not None else -(message_pk or 0)
        with self._lock:
            refusal = self.refusal(ticket_id, message_pk, key, worst_case)
            if refusal is None:
                self._reserved_today += worst_case
                self._reserved[key] = self._reserved.get(key, 0.0) + worst_case
        try:
            yield refusal
        finally:
            if refusal is None:
                with self._lock:
                    self._reserved_today -= worst_case
                    self._reserved[key] -= worst_case

    def refusal(
        self, ticket_id: int | None, message_pk: int | None, key: int, worst_case: float
    ) -> str | None:
        p, cur = self.pricing, self.pricing.currency
        if p.daily_cap:
            today = self.spent_today() + self._reserved_today
            if today + worst_case > p.daily_cap:
                return f"daily LLM spend cap reached ({today:.4f} of {p.daily_cap:.4f} {cur})"
        if p.per_ticket_cap:
            spent = self.spent_on(ticket_id, message_pk) + self._reserved.get(key, 0.0)
            if spent + worst_case > p.per_ticket_cap:
                return (
                    f"per-ticket LLM spend cap reached ({spent:.4f} of "
                    f"{p.per_ticket_cap:.4f} {cur})"
                )
        return None

    def spent_today(self) -> float:
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        with Session(self.engine) as session:
            total = session.exec(select(func.sum(Usage.cost)).where(col(Usage.at) >= start)).one()
        return float(total or 0.0)

    def spent_on(self, ticket_id: int | None, message_pk: int | None) -> float:
        with Session(self.engine) as session:
            return spent_on_ticket(session, ticket_id, message_pk)


def spent_on_ticket(session: Session, ticket_id: int | None, message_pk: int | None) -> float:
    """Spend on a ticket: rows naming it, and rows of its messages recorded before the ticket
    existed (the triage of a new mail)."""
    conditions: list[ColumnElement[bool]] = []
    if ticket_id is not None:
        of_ticket = select(Message.id).where(Message.ticket_id == ticket_id)
        conditions += [col(Usage.ticket_id) == ticket_id, col(Usage.message_pk).in_(of_ticket)]
    if message_pk is not None:
        conditions.append(col(Usage.message_pk) == message_pk)
    if not conditions:
        return 0.0
    total = session.exec(select(func.sum(Usage.cost)).where(or_(*conditions))).one()
    return float(total or 0.0)
