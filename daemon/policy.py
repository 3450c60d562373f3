"""The policy table: send, hold for an agent, or escalate, per intent.

Decides with rules read top to bottom; the first rule that fires gives the outcome, and the
reason names the rule. Risk topics, an intent whose policy always escalates and requests for a
human escalate before anything is drafted (`early_escalation`: the LLM drafter asks it and
spends no model call on such mail); then a drafter's own escalation (a tool failed, a spend cap
was reached) and a very unsure draft escalate; only drafts that are confident, cite retrieved
passages, go to a verified sender and belong to an intent whose policy allows it are sent
without an agent.
"""

from __future__ import annotations

from collections.abc import Callable

from daemon.config import PolicySettings
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated, Held, Outcome, Sent
from daemon.records import DraftedReply, Route

EarlyRule = Callable[[Route, PolicySettings], Escalated | None]
Rule = Callable[[Item, Route, DraftedReply, PolicySettings], Outcome | None]


def outcome_for(item: Item, policy: PolicySettings) -> Outcome:
    """The outcome for a routed and drafted message under its intent's policy."""
    route, draft = item.route, item.draft
    if route is None or draft is None:
        return Held("decide: no route or draft recorded")
    if early := early_escalation(route, policy):
        return early
    return next(
        (o for rule in RULES if (o := rule(item, route, draft, policy)) is not None),
        Sent(f"auto-send allowed by policy {route.policy!r} for intent {route.intent!r}"),
    )


def early_escalation(route: Route, policy: PolicySettings) -> Escalated | None:
    """The escalation known from the route alone, before any draft."""
    return next((o for rule in EARLY if (o := rule(route, policy)) is not None), None)


def _risk(r: Route, p: PolicySettings) -> Escalated | None:
    if not r.risk:
        return None
    # Say who judged it: an agent weighs a model's judgement differently from a keyword rule.
    judged = " (judged by the triage model)" if r.router.startswith("llm") else ""
    return Escalated(f"risk topic: {r.risk}{judged}")


def _always(r: Route, p: PolicySettings) -> Escalated | None:
    return (
        Escalated(f"policy {r.policy!r} always escalates ({r.intent})")
        if p.always_escalate
        else None
    )


def _human(r: Route, p: PolicySettings) -> Escalated | None:
    return Escalated("the customer asked for a human") if r.wants_human else None


EARLY: tuple[EarlyRule, ...] = (_risk, _always, _human)


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
    _drafter_escalates,
    _drafter_unsure,
    _very_unsure,
    _no_auto_send,
    _confidence,
    _citations,
    _verified,
)
"""The rules after the early ones, in order."""
