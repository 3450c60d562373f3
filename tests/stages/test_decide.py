"""The decision table, rule by rule: the first rule that fires gives the outcome."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.config import PolicySettings, Settings
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated, Held, Outcome, Sent
from daemon.records import AuthResult, DraftedReply, Passage, Route
from daemon.stages import decide
from tests.factories import context, parsed_mail

MAIL = parsed_mail(auth=AuthResult(dmarc="pass", verified=True))
ROUTE = Route(
    intent="order_status",
    language="en",
    risk=None,
    wants_human=False,
    confidence=0.8,
    tools=(),
    namespaces=("faq",),
    policy="auto",
)
DRAFT = DraftedReply(
    reply="r", confidence=0.9, citations=("p1",), needs_human=False, reason="", drafter="test"
)
ITEM = Item(
    pk=1,
    source="s",
    raw=b"",
    stub_reason=None,
    ticket_id=1,
    parsed=MAIL,
    route=ROUTE,
    passages=(Passage("p1", "T", "faq", "x", 1.0),),
    draft=DRAFT,
    draft_id=1,
    decision=None,
)
AUTO = PolicySettings(auto_send=True, min_confidence=0.8)


def decided(item: Item = ITEM, policy: PolicySettings = AUTO) -> Outcome | None:
    settings = Settings(
        policies={
            "auto": policy.model_dump(),
            "standard": {},
            "escalate": {"always_escalate": True},
        }
    )
    return decide.run(item, context(settings)).decision


TABLE: list[tuple[str, Item, PolicySettings, type[Outcome], str]] = [
    ("all good", ITEM, AUTO, Sent, "auto-send allowed"),
    ("risk", replace(ITEM, route=replace(ROUTE, risk="legal")), AUTO, Escalated, "risk topic"),
    (
        "always",
        ITEM,
        AUTO.model_copy(update={"always_escalate": True}),
        Escalated,
        "always escalates",
    ),
    ("human", replace(ITEM, route=replace(ROUTE, wants_human=True)), AUTO, Escalated, "human"),
    (
        "unsure",
        replace(ITEM, draft=replace(DRAFT, needs_human=True, reason="no idea")),
        AUTO,
        Held,
        "no idea",
    ),
    (
        "drafter escalates",
        replace(ITEM, draft=replace(DRAFT, escalate="tool x failed: 503")),
        AUTO,
        Escalated,
        "tool x failed",
    ),
    (
        "very unsure",
        replace(ITEM, draft=replace(DRAFT, confidence=0.1)),
        AUTO,
        Escalated,
        "should answer",
    ),
    (
        "unsure drafter holds even when very unsure",
        replace(ITEM, draft=replace(DRAFT, confidence=0.1, needs_human=True, reason="offline")),
        AUTO,
        Held,
        "offline",
    ),
    ("no auto", ITEM, AUTO.model_copy(update={"auto_send": False}), Held, "requires an agent"),
    (
        "low confidence",
        replace(ITEM, draft=replace(DRAFT, confidence=0.5)),
        AUTO,
        Held,
        "confidence 0.50 below 0.80",
    ),
    ("no citation", replace(ITEM, draft=replace(DRAFT, citations=())), AUTO, Held, "cite"),
    (
        "made-up citation",
        replace(ITEM, draft=replace(DRAFT, citations=("p1", "p9"))),
        AUTO,
        Held,
        "cite",
    ),
    (
        "unverified",
        replace(ITEM, parsed=replace(MAIL, auth=AuthResult())),
        AUTO,
        Held,
        "not verified",
    ),
    (
        "unverified allowed",
        replace(ITEM, parsed=replace(MAIL, auth=AuthResult())),
        AUTO.model_copy(update={"require_verified_sender": False}),
        Sent,
        "auto-send",
    ),
]


@pytest.mark.parametrize(
    ("name", "item", "policy", "outcome", "reason"), TABLE, ids=[row[0] for row in TABLE]
)
def test_decision_table(
    name: str, item: Item, policy: PolicySettings, outcome: type[Outcome], reason: str
) -> None:
    result = decided(item, policy)
    assert isinstance(result, outcome), result
    assert reason in result.reason
