"""decide: the last step — the outcome by the policy table, carried out at once.

Decides nothing itself: `daemon.policy` gives the outcome (send, hold for an agent, escalate)
and the pipeline's `finish` carries it out in the same transaction (`daemon.stages.deliver`),
so an outcome is never stored without being acted on. `stored` serves messages an earlier
version left in `decided` (it stored the outcome and acted in a step of its own): it returns
the stored outcome so that it is carried out.
"""

from __future__ import annotations

from daemon.kernel.item import Item
from daemon.kernel.outcomes import Held, Outcome
from daemon.kernel.stage import Context
from daemon.policy import outcome_for


def run(item: Item, ctx: Context) -> Outcome:
    if item.route is None:
        return Held("decide: no route or draft recorded")
    outcome = outcome_for(item, ctx.settings.policies[item.route.policy])
    ctx.log.info("decided: %s (%s)", type(outcome).__name__, outcome.reason)
    return outcome


def stored(item: Item, ctx: Context) -> Outcome:
    return item.outcome or Held("no decision was recorded")
