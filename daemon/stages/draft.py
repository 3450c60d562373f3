"""draft: write the reply a customer would get, and record it as a draft.

Decides nothing about sending (that is `decide`). The drafter role (`Roles.drafter`) hides who
writes: the LLM drafter of the model stack (`daemon.llm.drafter`), or the offline drafter
(`daemon.offline.drafter`), which fills a template with the best passages and read-only tool
results and always asks for an agent's approval. The draft is stored as a `Draft` row
(`daemon.item_rows.draft_row`) after the drafter's slow work.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.item_rows import draft_row
from daemon.kernel.item import Item
from daemon.kernel.stage import Context


def run(item: Item, ctx: Context) -> Item:
    result = ctx.roles.drafter.draft(item, ctx)  # slow work first, then the write
    row = draft_row(item, result)
    ctx.session.add(row)
    ctx.session.flush()
    return replace(item, draft=result, draft_id=row.id)
