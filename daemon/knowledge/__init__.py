"""Knowledge: the articles and past tickets a draft may cite, and how they are found.

`sources` reads articles, `passages` cuts them, `analysis` turns text into terms, `index` keeps
the Whoosh index on disk, `sync` keeps it in step with the sources (full and incremental),
`past_tickets` turns resolved tickets into articles, `query` turns an email into search terms,
`retriever` ranks passages, `evaluate` measures the ranking, `job` schedules the updates.
"""

from __future__ import annotations

from daemon.knowledge.index import IndexBusy
from daemon.knowledge.retriever import WhooshRetriever
from daemon.knowledge.sync import Summary, rebuild_index, update_index

__all__ = ["IndexBusy", "Summary", "WhooshRetriever", "rebuild_index", "update_index"]
