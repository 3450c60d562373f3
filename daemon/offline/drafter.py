"""The offline drafter: a reply from templates, passages and read-only tools, without a model.

Decides what a draft looks like when no model writes it (no `[models.*]`, or the LLM drafter
fell back): it fills a Jinja2 template with the best passages (cited by id) and the results of
read-only tools it can call without a model (arguments read from the mail by `[tools.*]
extract`), and always asks for an agent's approval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.outgoing_mail import wrap_reply
from daemon.records import DraftedReply, Passage, ToolResult
from daemon.store.audit import audit
from daemon.tables import Message

if TYPE_CHECKING:
    from daemon.tools import ToolRegistry


class OfflineDrafter:
    """Templates + passages + read-only tool results; no model. Always held for approval."""

    name = "offline"

    def __init__(
        self,
        templates: jinja2.Environment,
        settings: Settings,
        max_passages: int = 3,
        tools: ToolRegistry | None = None,
    ) -> None:
        self.templates = templates
        self.settings = settings
        self.max_passages = max_passages
        self.tools = tools

    def draft(self, item: Item, ctx: Context) -> DraftedReply:
        passages = item.passages[: self.max_passages]
        results = self.call_tools(item)
        for r in results:
            audit(
                ctx.session,
                "tool_call",
                message=ctx.session.get(Message, item.pk),
                tool=r.name,
                arguments=r.arguments,
                ok=r.ok,
                error=r.error,
                drafter=self.name,
            )
        body = self.render(item, passages, results)
        reason = (
            "offline drafter: an agent must check the draft"
            if passages
            else "offline drafter: no knowledge-base passage matched; an agent must answer"
        )
        return DraftedReply(
            reply=body,
            confidence=0.5 if passages else 0.1,
            citations=tuple(p.id for p in passages),
            needs_human=True,
            reason=reason,
            drafter=self.name,
            tool_results=results,
        )

    def call_tools(self, item: Item) -> tuple[ToolResult, ...]:
        """The route's read-only tools whose arguments the mail itself gives (`extract`),
        bound to the verified sender like a model's calls; none for an unverified sender."""
        route, mail = item.route, item.mail
        if self.tools is None or route is None or not route.tools:
            return ()
        from daemon.tools import offline_calls  # the tool stack loads only when configured

        box = self.tools.toolbox(
            route.tools, mail.sender, verified=mail.auth.verified, read_only=True
        )
        calls = offline_calls(box, f"{mail.subject}\n{mail.reply_text or mail.text}")
        return tuple(run.result for run in box.run_all(calls)) if calls else ()

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
