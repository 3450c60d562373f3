"""draft: write the reply a customer would get, and record it as a draft.

Decides nothing about sending (that is `decide`). The `Drafter` Protocol hides who writes: the
LLM drafter of the model stack, or the offline drafter here, which fills a Jinja2 template with
the best passages (cited by id) and tool results and always asks for an agent's approval.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import jinja2

from daemon.compose import wrap_reply
from daemon.config import Settings
from daemon.item import Context, Item
from daemon.models import Draft
from daemon.records import DraftResult, Passage, ToolResult


class Drafter(Protocol):
    name: str

    def draft(self, item: Item, ctx: Context) -> DraftResult: ...


def run(item: Item, ctx: Context) -> Item:
    result = ctx.services.drafter.draft(item, ctx)  # slow work first, then the write
    assert item.ticket_id is not None
    row = Draft(
        ticket_id=item.ticket_id,
        message_pk=item.pk,
        body=result.reply,
        citations=list(result.citations),
        confidence=result.confidence,
        needs_human=result.needs_human,
        reason=result.reason,
        drafter=result.drafter,
        escalate=result.escalate,
        tool_results=[
            {
                "name": t.name,
                "arguments": t.arguments,
                "ok": t.ok,
                "result": t.result,
                "error": t.error,
            }
            for t in result.tool_results
        ],
    )
    ctx.session.add(row)
    ctx.session.flush()
    return replace(item, draft=result, draft_id=row.id)


class OfflineDrafter:
    """Templates + passages + tool results; no model, no network. Always held for approval."""

    name = "offline"

    def __init__(
        self, templates: jinja2.Environment, settings: Settings, max_passages: int = 3
    ) -> None:
        self.templates = templates
        self.settings = settings
        self.max_passages = max_passages

    def draft(self, item: Item, ctx: Context) -> DraftResult:
        passages = item.passages[: self.max_passages]
        body = self.render(item, passages, ())
        reason = (
            "offline drafter: an agent must check the draft"
            if passages
            else "offline drafter: no knowledge-base passage matched; an agent must answer"
        )
        return DraftResult(
            reply=body,
            confidence=0.5 if passages else 0.1,
            citations=tuple(p.id for p in passages),
            needs_human=True,
            reason=reason,
            drafter=self.name,
        )

    def render(
        self, item: Item, passages: tuple[Passage, ...], tools: tuple[ToolResult, ...]
    ) -> str:
        """The whole reply as the customer would get it: greeting, body, signature."""
        route = item.route
        body = self.templates.get_template("draft_offline.txt.j2").render(
            mail=item.mail,
            intent=route.intent if route else "general",
            passages=passages,
            tool_results=tools,
        )
        return wrap_reply(self.templates, self.settings, item.mail, body)
