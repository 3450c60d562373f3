"""decide: send, hold for an agent, or escalate — the policy table per intent.

Decides with a table read top to bottom; the first rule that fires gives the outcome, and the
reason names the rule. Risk topics, requests for a human, a drafter's own escalation (a tool
failed, a spend cap was reached) and a very unsure draft escalate; only drafts that
are confident, cite retrieved passages, go to a verified sender and belong to an intent whose
policy allows it are sent without an agent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from daemon.config import PolicySettings
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated, Held, Outcome, Sent
from daemon.kernel.stage import Context
from daemon.records import DraftedReply, Route

Rule = Callable[[Item, Route, DraftedReply, PolicySettings], Outcome | None]


def run(item: Item, ctx: Context) -> Item:
    route, draft = item.route, item.draft
    if route is None or draft is None:
        return replace(item, decision=Held("decide: no route or draft recorded"))
    policy = ctx.settings.policies[route.policy]
    decision = next(
        (o for rule in RULES if (o := rule(item, route, draft, policy)) is not None),
        Sent(f"auto-send allowed by policy {route.policy!r} for intent {route.intent!r}"),
    )
    ctx.log.info("decided: %s (%s)", type(decision).__name__, decision.reason)
    return replace(item, decision=decision)


def _risk(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    return Escalated(f"risk topic: {r.risk}") if r.risk else None


def _always(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    return (
        Escalated(f"policy {r.policy!r} always escalates ({r.intent})")
        if p.always_escalate
        else None
    )


def _human(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    return Escalated("the customer asked for a human") if r.wants_human else None


def _drafter_escalates(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    return Escalated(d.escalate) if d.escalate else None


def _drafter_unsure(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    return Held(d.reason or "the drafter asked for a human") if d.needs_human else None


def _very_unsure(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    if d.confidence < p.escalate_below:
        return Escalated(
            f"confidence {d.confidence:.2f} below {p.escalate_below:.2f}: a human should answer"
        )
    return None


def _no_auto_send(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    return None if p.auto_send else Held(f"policy {r.policy!r} requires an agent's approval")


def _confidence(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    if d.confidence < p.min_confidence:
        return Held(f"confidence {d.confidence:.2f} below {p.min_confidence:.2f}")
    return None


def _citations(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    known = {x.id for x in item.passages}
    if p.require_citations and (not d.citations or not set(d.citations) <= known):
        return Held("the draft does not cite retrieved passages")
    return None


def _verified(item: Item, r: Route, d: DraftedReply, p: PolicySettings) -> Outcome | None:
    if p.require_verified_sender and not item.mail.auth.verified:
        why = item.mail.auth.reason or "no DMARC/DKIM pass from a trusted server"
        return Held(f"sender not verified: {why}")
    return None


RULES: tuple[Rule, ...] = (
    _risk,
    _always,
    _human,
    _drafter_escalates,
    _drafter_unsure,
    _very_unsure,
    _no_auto_send,
    _confidence,
    _citations,
    _verified,
)
