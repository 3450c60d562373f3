"""The offline drafter: a reply from templates, passages and read-only tools, without a model.

Decides what a draft looks like when no model writes it (no `[models.*]`, or the LLM drafter
fell back): it fills a Jinja2 template with the best passages (cited by id) and the results of
read-only tools it can call without a model (arguments read from the mail by `[tools.*]
extract`), and always asks for an agent's approval. The template is the one in the customer's
language (`templates/draft_offline.<code>.txt.j2`: de, es, fr, it, nl, pl, pt; English for any
other), whose every sentence, tool label and status word is in that language; a passage written
in another language is cited by its title, not quoted. Jinja2 templates per language rather
than gettext catalogs: an operator translates or adds a language by copying one file, with no
compile step, and the same override folder (`templates_dir`) serves both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import jinja2

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.mail.language import detect_language
from daemon.mail.presented import labelled_text
from daemon.offline.router import RULE_CHARS
from daemon.outgoing_mail import wrap_reply
from daemon.records import DraftedReply, Passage, ToolResult
from daemon.store.audit import audit
from daemon.tables import Message

EXTRA_TOOL_CHARS = 8_000
"""Characters of forwarded messages and PDF text tool arguments are read from, after the note."""

if TYPE_CHECKING:
    from daemon.tools import ToolRegistry

LANGUAGE_CODE = re.compile(r"[a-z]{2}")
ENGLISH_TEMPLATE = "draft_offline.txt.j2"


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
        # the order number is often only in the forwarded confirmation or the attached invoice
        # the note within the router's bound: operators' extract patterns run over it
        text = labelled_text(mail, RULE_CHARS, EXTRA_TOOL_CHARS)
        calls = offline_calls(box, f"{mail.subject}\n{text}")
        return tuple(run.result for run in box.run_all(calls)) if calls else ()

    def render(
        self, item: Item, passages: tuple[Passage, ...], tools: tuple[ToolResult, ...]
    ) -> str:
        """The whole reply as the customer would get it: greeting, body, signature."""
        route, mail = item.route, item.mail
        template = self.templates.select_template(template_names(mail.language))
        # the English template quotes every passage: it is also the one for unknown languages
        own = template.name != ENGLISH_TEMPLATE
        quoted, cited = split_by_language(passages, mail.language) if own else (passages, ())
        body = template.render(
            mail=mail,
            intent=route.intent if route else "general",
            passages=passages,
            quoted=quoted,
            cited=cited,
            tool_results=tools,
        )
        return wrap_reply(self.templates, self.settings, mail, body)


def template_names(language: str | None) -> list[str]:
    """The body template in the customer's language first, then the English one."""
    code = (language or "").lower()[:2]
    own = [f"draft_offline.{code}.txt.j2"] if LANGUAGE_CODE.fullmatch(code) else []
    return [*own, ENGLISH_TEMPLATE]


def split_by_language(
    passages: tuple[Passage, ...], language: str | None
) -> tuple[tuple[Passage, ...], tuple[Passage, ...]]:
    """(passages written in `language`, to quote; the others, to cite by title only).

    A draft in German must not quote an English article: the customer would read English
    sentences in the middle of their reply. The title and id still point the agent, and the
    customer, to it.
    """
    if not language:
        return passages, ()
    same = tuple(p for p in passages if detect_language(f"{p.title}\n{p.text}") == language)
    return same, tuple(p for p in passages if p not in same)
