"""retrieve: the knowledge-base passages a draft may use and cite.

Decides the query (the customer's new text and subject, not the quoted history) and which
namespaces are searched (the route's). The `Retriever` Protocol hides the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from daemon.config import Settings
from daemon.item import Context, Item
from daemon.records import Passage


class Retriever(Protocol):
    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]: ...

    def close(self) -> None: ...


def run(item: Item, ctx: Context) -> Item:
    mail, route = item.mail, item.route
    query = f"{mail.subject}\n{mail.reply_text or mail.text}"
    namespaces = route.namespaces if route else ()
    passages = ctx.services.retriever.search(query, namespaces, ctx.settings.knowledge.passages)
    return replace(item, passages=tuple(passages))


class EmptyRetriever:
    """Used while no index has been built: finds nothing, says so in the draft."""

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]:
        return []

    def close(self) -> None:
        return None


def open_retriever(settings: Settings) -> Retriever:
    return EmptyRetriever()
