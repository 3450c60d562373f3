"""Summaries: the older turns of a long thread, and the brief an agent reads on escalation.

Decides what an LLM is asked to summarize and what stands in when it cannot. A thread's older
turns (all but the `recent_turns` newest) are folded into a summary cached on the ticket
(`summary`, `summary_upto` = the newest message it covers), so each new mail summarizes only
what came since; each summarizing request fits the budget (turns are folded in chunks), and
when the model fails the summary is the first lines of each turn. The escalation summary is a
JSON brief — customer, what they want, what was tried, tool results, open questions, next
step — validated against its schema; on any failure the caller keeps the template summary.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import jinja2
from sqlmodel import Session, col, select

from connectors.llm import ChatRequest, ChatResponse
from daemon.config import ModelTask
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.llm.budget import TokenCounter
from daemon.llm.prompts import ESCALATION_SCHEMA, data_block, parse_json_answer, system_prompt
from daemon.llm.stack import CallMeta, LLMStack
from daemon.records import stored_reply_text
from daemon.tables import Draft, Message, MessageParse, Ticket

log = logging.getLogger("helpdeskd.summary")

MAX_FOLDS = 6
"""Summarizing requests for one thread at most; older material beyond that is cut, not lost
(the turns stay in the store)."""


@dataclass(frozen=True, slots=True)
class Turn:
    pk: int
    who: str
    text: str


def thread_turns(session: Session, ticket_id: int | None, before_pk: int) -> list[Turn]:
    """Earlier turns of the ticket, oldest first: the customer's mail and our sent replies."""
    if ticket_id is None:
        return []
    rows = session.exec(
        select(Message.id, MessageParse.parsed)
        .join(MessageParse, col(MessageParse.message_pk) == col(Message.id))
        .where(Message.ticket_id == ticket_id, col(Message.id) < before_pk)
    ).all()
    drafts = session.exec(
        select(Draft).where(Draft.ticket_id == ticket_id, Draft.status == "approved")
    ).all()
    turns = [Turn(pk or 0, "customer", stored_reply_text(parsed)) for pk, parsed in rows if parsed]
    turns += [Turn(d.message_pk, "support", d.edited_body or d.body) for d in drafts]
    turns = [t for t in turns if t.pk < before_pk]
    return sorted(turns, key=lambda t: (t.pk, t.who != "customer"))


def turn_block(turn: Turn) -> str:
    kind = "earlier_mail" if turn.who == "customer" else "earlier_reply_from_support"
    return data_block(kind, turn.text)


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    text: str
    upto: int | None
    fresh: bool
    """True when this call produced it (the ticket's cache should be updated)."""


def summarize_older(
    stack: LLMStack,
    templates: jinja2.Environment,
    ticket: Ticket | None,
    older: list[Turn],
    meta: CallMeta,
) -> ThreadSummary:
    """The summary of `older`, from the ticket's cache when it still covers them."""
    if not older:
        return ThreadSummary("", None, False)
    upto = older[-1].pk
    cached = ticket.summary if ticket is not None else None
    covered = ticket.summary_upto if ticket is not None else None
    if cached and covered is not None and covered >= upto:
        return ThreadSummary(cached, covered, False)
    new = [t for t in older if covered is None or t.pk > covered]
    text = fold(stack, templates, cached or "", new, meta)
    return ThreadSummary(text, upto, True)


def fold(
    stack: LLMStack, templates: jinja2.Environment, summary: str, turns: list[Turn], meta: CallMeta
) -> str:
    task = stack.task_for("summary")
    limit = stack.settings.budget.summary_tokens
    if task is None:
        return template_summary(summary, turns, limit, None)
    counter = stack.counters[task]
    chunks = chunk_turns(counter, turns, stack.prompt_budget(task) - limit - 400)
    for i, chunk in enumerate(chunks):
        if i >= MAX_FOLDS:
            break
        answer = stack.call(task, summary_request(stack, templates, task, summary, chunk), meta)
        if not isinstance(answer, ChatResponse):
            return template_summary(summary, turns, limit, counter)
        summary = counter.trim(answer.content.strip(), limit)
    return summary


def chunk_turns(counter: TokenCounter, turns: list[Turn], budget: int) -> list[list[str]]:
    """Turns as blocks (each capped), grouped so each group fits `budget`; newest groups last."""
    each = max(budget // 4, 64)
    chunks: list[list[str]] = [[]]
    left = budget
    for turn in turns:
        block = counter.trim(turn_block(turn), each)
        cost = counter.count(block)
        if cost > left and chunks[-1]:
            chunks.append([])
            left = budget
        chunks[-1].append(block)
        left -= cost
    # When there are more chunks than folds, keep the newest: they matter most now.
    return chunks[-MAX_FOLDS:]


def summary_request(
    stack: LLMStack,
    templates: jinja2.Environment,
    task: ModelTask,
    summary: str,
    blocks: list[str],
) -> ChatRequest:
    limit = stack.settings.budget.summary_tokens
    user = "\n\n".join(
        ([data_block("thread_summary_so_far", summary)] if summary else [])
        + [stack.masker.mask(b) for b in blocks]
    )
    system = system_prompt(templates, "thread_summary", max_words=int(limit * 0.7))
    return ChatRequest(
        messages=({"role": "system", "content": system}, {"role": "user", "content": user}),
        max_tokens=min(limit + 100, stack.spec(task).max_output_tokens),
    )


def template_summary(
    summary: str, turns: list[Turn], limit: int, counter: TokenCounter | None
) -> str:
    """No model: the previous summary and the first line of each turn, newest kept."""
    lines = [summary] if summary else []
    for turn in turns:
        first = next((x.strip() for x in turn.text.splitlines() if x.strip()), "")
        lines.append(f"- {turn.who}: {first[:200]}")
    text = "\n".join(lines)
    if counter is None:
        return text[-limit * 3 :]
    return counter.trim(text, limit)


def summarize_escalation(
    stack: LLMStack, templates: jinja2.Environment, details: dict[str, Any], meta: CallMeta
) -> dict[str, Any] | None:
    """The LLM brief for an escalation, or None (the template summary stands)."""
    task = stack.task_for("escalation")
    if task is None or not stack.settings.llm.summarize_escalations:
        return None
    counter = stack.counters[task]
    facts = {k: details.get(k) for k in ESCALATION_FACTS}
    text = counter.trim(
        json.dumps(facts, ensure_ascii=False, default=str, indent=1),
        stack.prompt_budget(task) - 600,
    )
    request = ChatRequest(
        messages=(
            {"role": "system", "content": system_prompt(templates, "escalation")},
            {"role": "user", "content": data_block("ticket", stack.masker.mask(text))},
        ),
        max_tokens=min(600, stack.spec(task).max_output_tokens),
        json_schema=ESCALATION_SCHEMA,
    )
    answer = stack.call(task, request, meta)
    if not isinstance(answer, ChatResponse):
        return None
    data, problem = parse_json_answer(answer.content, ESCALATION_SCHEMA)
    if data is None:
        log.info("message %s: escalation summary unusable: %s", meta.message_pk, problem)
    return data


def escalation_brief(
    stack: LLMStack,
    templates: jinja2.Environment,
    item: Item,
    details: dict[str, Any],
    ctx: Context,
) -> dict[str, Any] | None:
    """`summarize_escalation` for the escalate stage, with the model's name attached."""
    intent = item.route.intent if item.route else None
    meta = CallMeta("escalation", item.pk, item.ticket_id, intent, ctx.session)
    brief = summarize_escalation(stack, templates, details, meta)
    task = stack.task_for("escalation")
    if brief is None or task is None:
        return None
    return {**brief, "by": stack.spec(task).model}


ESCALATION_FACTS = (
    "customer",
    "verified",
    "subject",
    "intent",
    "language",
    "wants",
    "thread",
    "passages",
    "tool_results",
    "draft",
    "reason",
)
