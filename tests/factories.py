"""Records for tests: a ParsedMail with sensible values, any field overridden by keyword, and
a stage `Context` for stages that need no database or role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from logging import LoggerAdapter, getLogger
from typing import Any

import jinja2
from sqlmodel import Session

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context, Roles
from daemon.records import Address, AuthResult, AutoInfo, DraftResult, ParsedMail, Passage, Route

PARSED = ParsedMail(
    message_id="m@x",
    in_reply_to=None,
    references=(),
    sender=Address("A", "a@x.org"),
    reply_to=(),
    to=(),
    cc=(),
    subject="s",
    date=None,
    text="t",
    reply_text="t",
    signature=None,
    html=False,
    attachments=(),
    language="en",
    auto=AutoInfo(),
    bounce=None,
    auth=AuthResult(),
    defects=(),
)


def parsed_mail(**fields: Any) -> ParsedMail:
    return replace(PARSED, **fields)


class Unused:
    """A router, retriever and drafter for a stage that must not call any of them."""

    name = "unused"

    def route(self, item: Item, ctx: Context) -> Route:
        raise AssertionError("this stage must not route")

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]:
        raise AssertionError("this stage must not search")

    def close(self) -> None:
        pass

    def draft(self, item: Item, ctx: Context) -> DraftResult:
        raise AssertionError("this stage must not draft")


def context(settings: Settings, roles: Roles | None = None) -> Context:
    """A stage context on an unbound session (a stage that queries fails loudly) with
    roles that must not be called unless given."""
    unused = Unused()
    return Context(
        session=Session(),
        settings=settings,
        now=datetime.now(UTC),
        log=LoggerAdapter(getLogger("t"), {}),
        roles=roles or Roles(unused, unused, unused, jinja2.Environment(autoescape=True)),
    )
