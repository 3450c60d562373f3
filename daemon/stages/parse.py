"""parse: the stage that turns a message's raw bytes into its `ParsedMail`.

Decides only what the pipeline does with the result (the reading itself is
`daemon.mail.message`): a batch parsed ahead in worker processes hands its results over in
the context; an oversized message kept only as headers (a stub) is escalated at once.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.item import Context, Item
from daemon.mail.message import parse_bytes
from daemon.records import Escalated


def run(item: Item, ctx: Context) -> Item | Escalated:
    parsed = ctx.parsed_ahead.get(item.pk) or parse_bytes(
        item.raw, ctx.settings.screen.trusted_authserv_ids
    )
    item = replace(item, parsed=parsed)
    if item.stub_reason:
        return Escalated(f"kept as headers only: {item.stub_reason}")
    return item
