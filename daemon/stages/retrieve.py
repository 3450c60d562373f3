"""retrieve: the knowledge-base passages a draft may use and cite.

Decides the query (the customer's new text and subject, not the quoted history, greeting or
closing, then what they forwarded or attached as PDF text, labelled pieces of
daemon.mail.presented: daemon.knowledge.query) and which namespaces are searched (the route's). The
retriever role (`Roles.retriever`) hides the engine: `daemon.knowledge.retriever.open_retriever`
gives the Whoosh retriever over the index in the state directory, which follows rebuilds and
updates by itself; while no index has been built it finds nothing and the draft says so.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.knowledge.query import email_query_text
from daemon.mail.presented import extras_of, note_of


def run(item: Item, ctx: Context) -> Item:
    mail, route = item.mail, item.route
    extras = [(e.subject, e.text) for e in extras_of(mail)]
    query = email_query_text(mail.subject, note_of(mail), extras)
    namespaces = route.namespaces if route else ()
    passages = ctx.roles.retriever.search(query, namespaces, ctx.settings.knowledge.passages)
    return replace(item, passages=tuple(passages))
