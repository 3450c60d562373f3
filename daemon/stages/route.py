"""route: what the customer wants, and therefore which tools, knowledge and policy apply.

Decides nothing itself: the router role (`Roles.router`) gives the `Route` — the rule router of
`daemon.offline.router` (the intent table's keywords and patterns), or the LLM router of the
model stack, which falls back to the rules on any error — and the stage records it on the item.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.kernel.item import Item
from daemon.kernel.stage import Context


def run(item: Item, ctx: Context) -> Item:
    route = ctx.roles.router.route(item, ctx)
    ctx.log.info("routed to %s (%s, confidence %.2f)", route.intent, route.router, route.confidence)
    return replace(item, route=route)
