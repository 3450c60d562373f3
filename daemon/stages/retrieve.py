"""retrieve: the knowledge-base passages a draft may use and cite.

Decides the query (the customer's new text and subject, not the quoted history, greeting or
closing: daemon.knowledge.query) and which namespaces are searched (the route's). The
`Retriever` Protocol hides the engine: `open_retriever` gives the Whoosh retriever over the
index in the state directory, which follows rebuilds and updates by itself; while no index has
been built it finds nothing and the draft says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from daemon.config import Settings
from daemon.item import Context, Item
from daemon.knowledge.index import current_dir
from daemon.knowledge.query import email_query_text
from daemon.knowledge.retriever import WhooshRetriever
from daemon.records import Passage

log = logging.getLogger("helpdeskd.retrieve")


class Retriever(Protocol):
    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]: ...

    def close(self) -> None: ...


def run(item: Item, ctx: Context) -> Item:
    mail, route = item.mail, item.route
    query = email_query_text(mail.subject, mail.reply_text or mail.text)
    namespaces = route.namespaces if route else ()
    passages = ctx.services.retriever.search(query, namespaces, ctx.settings.knowledge.passages)
    return replace(item, passages=tuple(passages))


def open_retriever(settings: Settings) -> Retriever:
    """The Whoosh retriever; it also picks up an index built after start-up."""
    if current_dir(settings.index_dir) is None:
        log.warning(
            "no knowledge index in %s yet: drafts will cite nothing until "
            "`helpdeskd index` runs (or the index job does)",
            settings.index_dir,
        )
    return WhooshRetriever(settings.index_dir, settings.knowledge)
