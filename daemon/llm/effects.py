"""Side effects a draft already caused: a tool that changes data runs at most once per draft.

Decides when a tool call is answered from memory instead of going out again. A call to a tool
that is not read-only (opening a CRM ticket, say) is recorded as soon as it went to the
service — an audit row `tool_effect` with its result, committed in its own short transaction
before the model is asked again — so neither a later round, a follow-up turn that fails, a
retried stage nor a resume after a crash sends it twice: the same draft calling that tool again
gets the stored result back. The key is the message and the tool's name, not the arguments: a
model that rephrases the ticket's subject must not open a second ticket. A read-only tool runs
each time (its answer may have changed, and asking twice harms no one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.llm import ToolCall
from daemon.records import ToolResult
from daemon.store.audit import audit
from daemon.store.engine import session_scope
from daemon.tables import AuditEvent
from daemon.tools import Toolbox, ToolRun

log = logging.getLogger("helpdeskd.draft")

EFFECT = "tool_effect"


class EffectLog:
    """The side effects of one message's draft: loaded once, appended as they happen. Without
    a message (`message_pk` None) it remembers for the life of the object only."""

    def __init__(
        self,
        engine: Engine | None,
        message_pk: int | None,
        ticket_id: int | None = None,
        session: Session | None = None,
    ) -> None:
        self.engine = engine
        self.message_pk = message_pk
        self.ticket_id = ticket_id
        self.session = session
        self.done: dict[str, dict[str, Any]] = self.load()
        self.replayed: list[str] = []

    def load(self) -> dict[str, dict[str, Any]]:
        if self.engine is None or self.message_pk is None:
            return {}
        with Session(self.engine) as s:
            rows = s.exec(
                select(AuditEvent)
                .where(AuditEvent.message_pk == self.message_pk, AuditEvent.kind == EFFECT)
                .order_by(col(AuditEvent.id))
            ).all()
        return {str(r.detail["tool"]): dict(r.detail) for r in rows if r.detail.get("tool")}

    def run_all(self, toolbox: Toolbox, calls: Sequence[ToolCall]) -> list[ToolRun]:
        """Run a round's calls, in their order. Read-only ones run together as before; the
        ones that change data run one by one, each answered from memory once it has run."""
        plain = [i for i, c in enumerate(calls) if not changes_data(toolbox, c)]
        runs: dict[int, ToolRun] = {}
        if plain:
            runs = dict(zip(plain, toolbox.run_all([calls[i] for i in plain]), strict=True))
        for i, call in enumerate(calls):
            if i not in runs:
                runs[i] = self.run_once(toolbox, call)
        return [runs[i] for i in range(len(calls))]

    def run_once(self, toolbox: Toolbox, call: ToolCall) -> ToolRun:
        if call.name in self.done:
            return self.replay(call)
        run = toolbox.run_all([call])[0]
        if run.reached:
            self.remember(run)
        return run

    def remember(self, run: ToolRun) -> None:
        r = run.result
        detail = {
            "tool": run.call.name,
            "arguments": r.arguments,
            "ok": r.ok,
            "result": r.result,
            "error": r.error,
            "content": run.content,
            "problem": run.problem,
        }
        self.done[run.call.name] = detail
        if self.engine is None or self.message_pk is None:
            return
        if self.session is not None and holds_lock(self.session):
            audit(
                self.session, EFFECT, message_pk=self.message_pk, ticket_id=self.ticket_id, **detail
            )
            return  # a second connection would wait for this one's lock, for ever
        with session_scope(self.engine) as own:
            audit(own, EFFECT, message_pk=self.message_pk, ticket_id=self.ticket_id, **detail)

    def replay(self, call: ToolCall) -> ToolRun:
        """The stored outcome of `call.name`'s side effect, as the answer to `call`."""
        d = self.done[call.name]
        log.info(
            "message %s: %s already ran for this draft; its result is reused",
            self.message_pk,
            call.name,
        )
        self.replayed.append(call.name)
        result = ToolResult(
            name=call.name,
            arguments=d["arguments"],
            ok=d["ok"],
            result=d["result"],
            error=d["error"],
        )
        return ToolRun(call, result, d["content"], d["problem"], reached=False)


def changes_data(toolbox: Toolbox, call: ToolCall) -> bool:
    tool = toolbox.offered.get(call.name)
    return tool is not None and not tool.read_only


def holds_lock(session: Session) -> bool:
    from daemon.llm.stack import holds_write_lock  # the stack's rule for its usage rows

    return holds_write_lock(session)
