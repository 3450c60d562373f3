"""Outcomes: how a message's flow ends — values, not exceptions.

Decides the four ends a stage may return instead of a new item (`Ignored`, `Sent`, `Held`,
`Escalated`), each with the reason a person reads in `status` and the audit trail, and their
stored JSON form (`{"outcome": kind, "reason": ...}` in the message's `decision` column), so
a step that resumes after a restart reads back exactly what was decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


@dataclass(frozen=True, slots=True)
class Sent:
    reason: str


@dataclass(frozen=True, slots=True)
class Held:
    reason: str


@dataclass(frozen=True, slots=True)
class Escalated:
    reason: str


Outcome = Ignored | Sent | Held | Escalated

_OUTCOMES: dict[str, type[Outcome]] = {
    "sent": Sent,
    "held": Held,
    "escalated": Escalated,
    "ignored": Ignored,
}


def outcome_to_json(outcome: Outcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    kind = next(k for k, t in _OUTCOMES.items() if isinstance(outcome, t))
    return {"outcome": kind, "reason": outcome.reason}


def outcome_from_json(data: dict[str, Any] | None) -> Outcome | None:
    if not data:
        return None
    return _OUTCOMES[data["outcome"]](data["reason"])
