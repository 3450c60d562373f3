"""The LLM drafter: a JSON draft from the route's model, its tools and the retrieved passages.

Decides what a model-written draft is built from and when it cannot be trusted. The prompt is
the intent's system prompt, then — inside the token budget — the summary of older turns, the
recent turns, the passages by rank, what the vision model saw, and the new mail as delimited
customer data. The bounded tool loop runs the route's tools bound to the verified sender; the
answer must be `{reply, confidence, citations, needs_human, reason}`. The draft asks for a human
(and so is held) when: a citation names no retrieved passage, a tool failed or a result was
refused, the model tried to pick a customer, the mail looks like prompt injection or names
another customer's address. Anything unusable — no model, a cap reached, a timeout, a
truncated or malformed answer, a tool the route does not allow, a model that ignores the
schema — falls back to the offline drafter, with the cause as the draft's reason. Mail that
will be escalated anyway (risk topic, a human asked for, an always-escalate policy) is not
sent to a model at all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import jinja2

from daemon.config import ModelTask, Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.llm.budget import MESSAGE_OVERHEAD, TokenCounter, take_ranked
from daemon.llm.injection import Suspicion, other_addresses, scan_mail
from daemon.llm.prompts import (
    DRAFT_SCHEMA,
    data_block,
    mail_blocks,
    parse_json_answer,
    passage_block,
    system_prompt,
)
from daemon.llm.stack import CallMeta, LLMStack
from daemon.llm.summary import ThreadSummary, Turn, summarize_older, thread_turns, turn_block
from daemon.llm.toolloop import LoopLimits, LoopResult, run_tool_loop
from daemon.llm.vision import describe_images
from daemon.mail.mime import parseable
from daemon.mail.presented import extras_of, note_of
from daemon.offline.drafter import OfflineDrafter
from daemon.outgoing_mail import wrap_reply
from daemon.policy import early_escalation
from daemon.records import DraftedReply, ToolResult
from daemon.store.audit import audit
from daemon.tables import Message, Ticket
from daemon.tools import Toolbox, ToolRegistry

log = logging.getLogger("helpdeskd.draft")

SCHEMA_NOTE_TOKENS = 40
"""What the schema note costs beyond the schema itself when the server does not enforce it."""


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: list[dict[str, Any]]
    passage_ids: frozenset[str]
    summary: ThreadSummary


class LLMDrafter:
    name = "llm"

    def __init__(
        self,
        settings: Settings,
        stack: LLMStack,
        templates: jinja2.Environment,
        tools: ToolRegistry,
        offline: OfflineDrafter,
    ) -> None:
        self.settings = settings
        self.stack = stack
        self.templates = templates
        self.tools = tools
        self.offline = offline

    def draft(self, item: Item, ctx: Context) -> DraftedReply:
        route = item.route
        skip = self.skip_reason(item)
        if skip or route is None:
            return self.fallback(item, ctx, skip or "no route", ())
        raw = parseable(item.raw)  # the structure the parser read: no RecursionError
        suspicion = scan_mail(item.mail, raw, self.tools.tools)
        others = other_addresses(item.mail)
        toolbox = self.tools.toolbox(
            route.tools,
            item.mail.sender,
            verified=item.mail.auth.verified,
            read_only=bool(suspicion or others),
        )
        task = self.stack.task_for("draft", language=route.language, tools=bool(toolbox.offered))
        if task is None:
            return self.fallback(item, ctx, "no drafting model configured", ())
        meta = CallMeta("draft", item.pk, item.ticket_id, route.intent, ctx.session)
        images = describe_images(self.stack, self.templates, raw, meta)
        task, prompt = self.fit_prompt(item, ctx, task, toolbox, images, meta)
        loop = run_tool_loop(
            self.stack, task, prompt.messages, toolbox, DRAFT_SCHEMA, meta, self.limits()
        )
        self.remember(item, ctx, prompt.summary, loop)
        if loop.failure is not None or loop.answer is None:
            reason = loop.failure.reason if loop.failure else "no answer"
            draft = self.fallback(item, ctx, f"LLM draft failed: {reason}", loop_results(loop))
            if loop.failure is not None and loop.failure.kind == "cap":
                return replace(draft, escalate=reason)  # over a cap: a human, not a wait
            return draft
        data, problem = parse_json_answer(loop.answer.content, DRAFT_SCHEMA)
        if data is None:
            return self.fallback(item, ctx, f"LLM draft unusable: {problem}", loop_results(loop))
        return self.result(item, data, prompt, loop, suspicion, others, task)

    def skip_reason(self, item: Item) -> str | None:
        """Why no model is asked: no route, or the policy escalates on the route alone."""
        route = item.route
        if route is None:
            return "no route"
        early = early_escalation(route, self.settings.policies[route.policy])
        return f"{early.reason}: escalated without an LLM draft" if early else None

    def limits(self) -> LoopLimits:
        return LoopLimits(
            max_rounds=self.settings.llm.max_tool_rounds,
            max_calls=self.settings.llm.max_tool_calls,
            tool_tokens=self.settings.budget.tool_tokens,
            tool_result_tokens=self.settings.budget.tool_result_tokens,
        )

    # --- the prompt --------------------------------------------------------------------

    def fit_prompt(
        self,
        item: Item,
        ctx: Context,
        task: ModelTask,
        toolbox: Toolbox,
        images: str,
        meta: CallMeta,
    ) -> tuple[ModelTask, Prompt]:
        """The prompt for `task`, or for the long-context model when the thread needs it."""
        turns = thread_turns(ctx.session, item.ticket_id, item.pk)
        long: ModelTask = "long_context"
        if (
            long in self.stack.models
            and long != task
            and self.full_size(item, task, turns) > self.budget(task)
        ):
            task = long
        return task, self.build_prompt(item, ctx, task, toolbox, images, turns, meta)

    def budget(self, task: ModelTask) -> int:
        return self.stack.prompt_budget(task)

    def full_size(self, item: Item, task: ModelTask, turns: list[Turn]) -> int:
        counter = self.stack.counters[task]
        texts = [t.text for t in turns] + [p.text for p in item.passages]
        texts.append(note_of(item.mail))
        texts += [e.text for e in extras_of(item.mail)]
        return sum(counter.count(t) + MESSAGE_OVERHEAD for t in texts) + 1500

    def build_prompt(
        self,
        item: Item,
        ctx: Context,
        task: ModelTask,
        toolbox: Toolbox,
        images: str,
        turns: list[Turn],
        meta: CallMeta,
    ) -> Prompt:
        """System prompt, then context and the new mail in one user turn, within budget:
        the mail first (cut if long), images, thread (summary + recent turns), passages."""
        counter = self.stack.counters[task]
        system = self.system(item, toolbox)
        left = self.budget(task) - counter.count(system) - self.fixed_overhead(task, toolbox)
        limit = min(self.settings.budget.customer_tokens, max(left // 2, 64))
        mail = self.mail_block(item, counter, limit)
        left -= counter.count(mail) + 2 * MESSAGE_OVERHEAD
        seen = counter.trim(data_block("attachment_images", images), min(400, left // 4))
        left -= counter.count(seen) if images else 0
        summary = self.summarize(item, ctx, turns, meta)
        thread = self.thread_blocks(counter, summary, turns, left)
        left -= sum(counter.count(b) + MESSAGE_OVERHEAD for b in thread)
        blocks = [passage_block(p.id, p.title, p.text) for p in item.passages]
        passages = take_ranked(counter, blocks, left, self.settings.budget.passage_tokens)
        ids = frozenset(p.id for p in item.passages[: len(passages)])
        user = "\n\n".join([*thread, *passages, *([seen] if images else []), mail])
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return Prompt(messages, ids, summary)

    def summarize(
        self, item: Item, ctx: Context, turns: list[Turn], meta: CallMeta
    ) -> ThreadSummary:
        """The summary of the turns older than the `recent_turns` kept verbatim."""
        older, _recent = split_turns(turns, self.settings.budget.recent_turns)
        ticket = self.ticket(ctx, item)
        return summarize_older(
            self.stack, self.templates, ticket, older, replace(meta, purpose="summary")
        )

    def thread_blocks(
        self, counter: TokenCounter, summary: ThreadSummary, turns: list[Turn], left: int
    ) -> list[str]:
        """The summary (capped), then as many recent turns as fit in half of what is left,
        newest first, shown oldest first."""
        cfg = self.settings.budget
        blocks: list[str] = []
        if summary.text:
            limit = min(cfg.summary_tokens, left // 3)
            blocks.append(counter.trim(data_block("thread_summary", summary.text), limit))
            left -= counter.count(blocks[0]) + MESSAGE_OVERHEAD
        _older, recent = split_turns(turns, cfg.recent_turns)
        newest_first = [self.stack.masker.mask(turn_block(t)) for t in reversed(recent)]
        kept = take_ranked(counter, newest_first, left // 2, cfg.passage_tokens)
        return blocks + list(reversed(kept))

    def system(self, item: Item, toolbox: Toolbox) -> str:
        route = item.route
        assert route is not None
        return system_prompt(
            self.templates,
            "draft",
            intent=route.intent,
            language=route.language,
            company=self.settings.mail.from_name,
            passage_ids=[p.id for p in item.passages],
            tools=list(toolbox.offered),
            withheld=toolbox.withheld,
            verified=item.mail.auth.verified,
        )

    def fixed_overhead(self, task: ModelTask, toolbox: Toolbox) -> int:
        """Tokens the request carries beyond the messages: tool definitions, the schema note,
        and the tool results the loop may add."""
        counter = self.stack.counters[task]
        caps = self.stack.capabilities(task)
        total = 0
        if caps.tools and toolbox.offered:
            total += counter.count(json.dumps(toolbox.openai_tools()))
            total += self.settings.budget.tool_tokens
            total += self.settings.llm.max_tool_calls * (MESSAGE_OVERHEAD + 40)
        if caps.json_mode != "json_schema":
            total += counter.count(json.dumps(DRAFT_SCHEMA.schema)) + SCHEMA_NOTE_TOKENS
        return total

    def mail_block(self, item: Item, counter: TokenCounter, limit: int) -> str:
        """The note, then what was forwarded or attached as text, labelled (`mail_blocks`)."""
        return mail_blocks(item.mail, self.stack.masker.mask, counter, limit)

    def ticket(self, ctx: Context, item: Item) -> Ticket | None:
        return ctx.session.get(Ticket, item.ticket_id) if item.ticket_id else None

    def remember(self, item: Item, ctx: Context, summary: ThreadSummary, loop: LoopResult) -> None:
        """After the slow work: cache a new thread summary on the ticket, and put every tool
        call in the audit trail (what was asked, for whom, and what came of it)."""
        ticket = self.ticket(ctx, item)
        if summary.fresh and ticket is not None:
            ticket.summary = summary.text
            ticket.summary_upto = summary.upto
            ctx.session.add(ticket)
        message = ctx.session.get(Message, item.pk)
        for run in loop.runs:
            audit(
                ctx.session,
                "tool_call",
                message=message,
                tool=run.call.name,
                arguments=run.result.arguments,
                ok=run.result.ok,
                error=run.result.error,
                problem=run.problem,
                # a side effect that had already happened for this draft: not sent again
                replayed=run.call.name in loop.replayed and not run.reached,
            )

    # --- the result --------------------------------------------------------------------

    def result(
        self,
        item: Item,
        data: dict[str, Any],
        prompt: Prompt,
        loop: LoopResult,
        suspicion: Suspicion,
        others: list[str],
        task: ModelTask,
    ) -> DraftedReply:
        citations = tuple(str(c) for c in data["citations"])
        unknown = [c for c in citations if c not in prompt.passage_ids]
        reasons = list(loop.problems)
        if unknown:
            reasons.append(f"cites passages that were not retrieved: {', '.join(unknown)}")
        if suspicion:
            reasons.append(suspicion.describe())
        if others:
            reasons.append(f"mentions another address ({', '.join(others)}): an agent checks")
        needs_human = bool(data["needs_human"]) or bool(reasons)
        reason = "; ".join(reasons) or str(data["reason"]) or "drafted by the model"
        body = wrap_reply(self.templates, self.settings, item.mail, str(data["reply"]))
        return DraftedReply(
            reply=body,
            confidence=float(data["confidence"]),
            citations=citations,
            needs_human=needs_human,
            reason=reason[:1000],
            drafter=f"llm:{self.stack.spec(task).model}",
            tool_results=loop_results(loop),
            escalate=failed_tool(loop_results(loop)),
        )

    def fallback(
        self, item: Item, ctx: Context, why: str, tools: tuple[ToolResult, ...]
    ) -> DraftedReply:
        offline = self.offline.draft(item, ctx)
        if tools:
            passages = item.passages[: self.offline.max_passages]
            offline = replace(offline, reply=self.offline.render(item, passages, tools))
        if item.route is not None and not item.route.risk:
            log.info("message %s: offline draft: %s", item.pk, why)
        return replace(
            offline,
            needs_human=True,
            reason=f"{why}; {offline.reason}"[:1000],
            tool_results=tools or offline.tool_results,
            escalate=failed_tool(tools),
        )


def split_turns(turns: list[Turn], keep: int) -> tuple[list[Turn], list[Turn]]:
    """(older, recent): the last `keep` turns are recent, widened so that a mail and our reply
    to it are never split — the summary cache covers whole messages (`summary_upto`)."""
    if keep <= 0 or len(turns) <= keep:
        return ([], list(turns)) if keep > 0 else (list(turns), [])
    boundary = turns[len(turns) - keep].pk
    return [t for t in turns if t.pk < boundary], [t for t in turns if t.pk >= boundary]


def loop_results(loop: LoopResult) -> tuple[ToolResult, ...]:
    return tuple(r.result for r in loop.runs)


def failed_tool(results: tuple[ToolResult, ...]) -> str | None:
    """A tool that failed (or was refused) means the answer lacks facts: a human takes over."""
    failed = next((r for r in results if not r.ok), None)
    return None if failed is None else f"tool {failed.name} failed: {failed.error or 'no result'}"
