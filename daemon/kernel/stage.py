"""What a stage runs in: the `Context` of its transaction, the `Roles` it may call, and the
Protocols those roles implement.

Decides the stage signature (`StageFn`: an `Item` and a `Context` in, a new `Item` or an
outcome out) and everything a stage may reach: the session of the step's transaction, the
settings, the clock, a logger carrying the message and ticket ids, and a small frozen record
of the roles — router, retriever, drafter, the model stack, the templates. Which implementation
serves each role is the composition root's choice (`daemon.app`); the defaults live in
`daemon.offline` and `daemon.knowledge.retriever`, the model-backed ones in `daemon.llm`. The
Protocols take a `Context` and the `Context` holds the `Roles`, so they share this module.
`context_for` builds the `Context` of one message's transaction from a `Runtime`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import jinja2
from sqlalchemy import Engine
from sqlmodel import Session

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Outcome
from daemon.records import DraftedReply, ParsedMail, Passage, Route
from daemon.tables import Message, utcnow


class Router(Protocol):
    """Says what the customer wants: the intent, and so the tools, knowledge and policy."""

    def route(self, item: Item, ctx: Context) -> Route: ...


class Retriever(Protocol):
    """Finds the knowledge-base passages a draft may use and cite."""

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]: ...

    def close(self) -> None: ...


class Drafter(Protocol):
    """Writes the reply a customer would get."""

    name: str

    def draft(self, item: Item, ctx: Context) -> DraftedReply: ...


class ModelStack(Protocol):
    """What a stage asks of the model stack directly (the LLM router and drafter hold their own
    reference to it): the brief an agent reads on escalation, or None when the model cannot
    give one and the template summary stands alone."""

    def escalation_brief(
        self, item: Item, details: dict[str, Any], ctx: Context
    ) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Roles:
    """The long-lived implementations a stage may call, chosen once by `daemon.app`."""

    router: Router
    retriever: Retriever
    drafter: Drafter
    templates: jinja2.Environment
    models: ModelStack | None = None
    """None when no model is configured."""


@dataclass(frozen=True, slots=True)
class Context:
    """The transaction a stage runs in and the roles it may call."""

    session: Session
    settings: Settings
    now: datetime
    log: logging.LoggerAdapter[logging.Logger]
    roles: Roles
    parsed_ahead: Mapping[int, ParsedMail] = field(default_factory=dict)
    """Parse results worked out ahead in worker processes (`daemon.parse_pool`), by message id."""
    batch: Sequence[Message] = ()
    """The rows of the batch this message is stepped with in one transaction (empty when it is
    stepped alone): a rule may look up the whole batch at once (`daemon.stages.screen`)."""


StageFn = Callable[[Item, Context], "Item | Outcome"]
"""A stage: a new item for the next stage, or an outcome that ends the message's flow."""


class Runtime(Protocol):
    """What the pipeline needs of a running process (`daemon.app.Services` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def roles(self) -> Roles: ...


PIPELINE_LOG = logging.getLogger("helpdeskd.pipeline")
"""The logger a stage's `ctx.log` writes to, wherever the stage runs (the pipeline, an agent's
decision in `daemon.approvals`)."""


def context_for(
    runtime: Runtime,
    session: Session,
    row: Message,
    ahead: Mapping[int, ParsedMail] | None = None,
    batch: Sequence[Message] = (),
) -> Context:
    """The `Context` a stage runs in for message `row`, in the transaction of `session`, now."""
    adapter = logging.LoggerAdapter(
        PIPELINE_LOG, {"message_pk": row.id, "ticket_id": row.ticket_id}
    )
    return Context(session, runtime.settings, utcnow(), adapter, runtime.roles, ahead or {}, batch)
