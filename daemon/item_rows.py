"""Rows <-> records: the one place an `Item` and a drafted reply are read from and written to
the store.

Decides how the frozen values map onto the tables: `load_item` builds the item a step starts
from (the parse from the message's content, route, passages and outcome from its columns),
`save_item` writes back what the stages produced (an unchanged parse is not serialised again),
`drafted_reply` reads a `Draft` row back as the drafter's `DraftedReply`, and `draft_row` is the
row the draft stage stores for it. The caller holds the session and commits.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import object_session
from sqlmodel import Session

from daemon.kernel.item import Item
from daemon.kernel.outcomes import outcome_from_json, outcome_to_json
from daemon.records import DraftedReply, ParsedMail, Passage, Route, ToolResult
from daemon.store.content import Content
from daemon.store.text import assign
from daemon.tables import Draft, Message


def load_item(row: Message, content: Content, draft: DraftedReply | None = None) -> Item:
    assert row.id is not None
    return Item(
        pk=row.id,
        source=row.source,
        raw=content.raw,
        stub_reason=row.stub_reason,
        ticket_id=row.ticket_id,
        parsed=ParsedMail.from_json(content.parsed) if content.parsed else None,
        route=Route.from_json(row.route) if row.route else None,
        passages=tuple(Passage.from_json(p) for p in row.passages or ()),
        draft=draft,
        draft_id=row.draft_id,
        decision=outcome_from_json(row.decision),
    )


def save_item(item: Item, row: Message, content: Content, before: Item | None = None) -> None:
    """Copy what the stages produced onto the row and its content (the caller commits).
    Given the item the step started from, an unchanged parse is not serialised and written
    again."""
    if item.parsed is not None and (before is None or item.parsed is not before.parsed):
        session = object_session(row)
        assert session is not None, "save_item needs the row's session"
        content.set_parsed(cast(Session, session), item.parsed.to_store())
        assign(
            row,
            message_id=item.parsed.message_id,
            sender=item.parsed.sender.email if item.parsed.sender else None,
            subject=item.parsed.subject[:500],
        )
    assign(
        row,
        ticket_id=item.ticket_id,
        route=item.route.to_json() if item.route else None,
        passages=[p.to_json() for p in item.passages] if item.passages else None,
        draft_id=item.draft_id,
        decision=outcome_to_json(item.decision),
    )


def drafted_reply(session: Session, row: Message) -> DraftedReply | None:
    """The drafter's result stored for the message (None before the draft step)."""
    if row.draft_id is None:
        return None
    d = session.get(Draft, row.draft_id)
    if d is None:
        return None
    return DraftedReply(
        reply=d.body,
        confidence=d.confidence,
        citations=tuple(d.citations),
        needs_human=d.needs_human,
        reason=d.reason,
        drafter=d.drafter,
        tool_results=tuple(ToolResult(**t) for t in d.tool_results),
        escalate=d.escalate,
    )


def draft_row(item: Item, result: DraftedReply) -> Draft:
    """The `Draft` row the draft stage stores for `result` (status `pending` by default)."""
    assert item.ticket_id is not None
    return Draft(
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
