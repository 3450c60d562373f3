"""Keeping the index in step with its sources: full rebuilds and incremental updates.

Decides what changed. The index itself remembers, per article, its version (a content hash),
its file, that file's mtime and the source it came from; an update compares that with the
sources: files whose mtime is unchanged are not even read, read articles whose hash is
unchanged are not rewritten, articles of a source whose file is gone (or no longer holds them)
are deleted, and tickets answered since the newest indexed one are added. Only the sources being
synced are touched: articles indexed from another folder stay until a rebuild. A missing or
unreadable index is rebuilt, since every passage can be rebuilt from the sources and the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from daemon.config import KnowledgeSettings, KnowledgeSource, Settings
from daemon.knowledge import embeddings, past_tickets
from daemon.knowledge.index import (
    IndexedArticle,
    apply_changes,
    build_generation,
    open_current,
    read_manifest,
    write_lock,
)
from daemon.knowledge.sources import Article, Loaded, load_file, source_files

log = logging.getLogger("helpdeskd.index")
TicketSource = Callable[[float], Iterable[Article]]
"""Articles of the tickets answered since a POSIX time."""


@dataclass
class Summary:
    """What one index run did."""

    rebuilt: bool = False
    articles: int = 0
    passages: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    tickets: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        if self.rebuilt:
            return f"rebuilt: {self.articles} article(s), {self.passages} passage(s)"
        return (
            f"{self.added} new, {self.changed} changed, {self.removed} removed article(s) "
            f"({self.tickets} past ticket(s)); {self.passages} passage(s) written"
        )


@dataclass
class Changes:
    remove: set[str] = field(default_factory=set)
    add: dict[str, Article] = field(default_factory=dict)


def rebuild(
    root: Path,
    sources: Sequence[KnowledgeSource],
    knowledge: KnowledgeSettings,
    tickets: Iterable[Article] = (),
) -> Summary:
    """Index these sources (and tickets) from scratch into a new generation."""
    with write_lock(root):
        return rebuild_locked(root, sources, knowledge, tickets)


def update(
    root: Path,
    sources: Sequence[KnowledgeSource],
    knowledge: KnowledgeSettings,
    tickets: TicketSource | None = None,
    *,
    wait: bool = True,
) -> Summary:
    """Bring the index in step with these sources; `tickets(since)` yields newly answered
    tickets' articles. Raises IndexBusy when `wait` is false and another writer runs."""
    with write_lock(root, wait=wait):
        ix = open_current(root)
        if ix is None:
            return rebuild_locked(root, sources, knowledge, tickets(0.0) if tickets else ())
        try:
            summary = update_locked(ix, sources, knowledge, tickets)
        finally:
            ix.close()
    if summary.added or summary.changed or summary.removed:
        log.info("index %s updated: %s", root, summary.describe())
    return summary


def update_locked(
    ix: Any,
    sources: Sequence[KnowledgeSource],
    knowledge: KnowledgeSettings,
    tickets: TicketSource | None,
) -> Summary:
    manifest = read_manifest(ix)
    summary = Summary()
    changes = source_changes(manifest, sources, summary)
    if tickets:
        ticket_changes(manifest, tickets(newest_ticket(manifest)), changes, summary)
    if changes.remove or changes.add:
        remove = changes.remove | (changes.add.keys() & manifest.keys())
        summary.passages = apply_changes(ix, remove, changes.add.values(), knowledge)
    return summary


def rebuild_locked(
    root: Path,
    sources: Sequence[KnowledgeSource],
    knowledge: KnowledgeSettings,
    tickets: Iterable[Article],
) -> Summary:
    loaded = load_sources(sources)
    articles = unique_articles([*loaded.articles, *tickets], loaded.problems)
    passages = build_generation(root, articles, knowledge)
    log.info("index %s rebuilt: %d articles, %d passages", root, len(articles), passages)
    return Summary(
        rebuilt=True, articles=len(articles), passages=passages, problems=loaded.problems
    )


def load_sources(sources: Sequence[KnowledgeSource]) -> Loaded:
    loaded = Loaded()
    for source in sources:
        for path in source_files(source.path):
            load_file(path, source.path, source.namespace, loaded)
        if not source.path.exists():
            loaded.problems.append((str(source.path), "does not exist"))
    return loaded


def unique_articles(articles: list[Article], problems: list[tuple[str, str]]) -> list[Article]:
    """The first article of each key; later ones are reported (their key must change)."""
    seen: dict[str, Article] = {}
    for article in articles:
        if article.key in seen:
            problems.append(
                (
                    article.path,
                    f"id {article.key!r} is already used by "
                    f"{seen[article.key].path}: give one of them another id",
                )
            )
            continue
        seen[article.key] = article
    return list(seen.values())


def source_changes(
    manifest: dict[str, IndexedArticle], sources: Sequence[KnowledgeSource], summary: Summary
) -> Changes:
    """New, changed and vanished articles of these sources, reading only modified files."""
    changes = Changes()
    by_path: dict[str, list[str]] = {}
    for key, known in manifest.items():
        by_path.setdefault(known.path, []).append(key)
    for source in sources:
        origin = str(source.path)
        if not source.path.exists():  # an unmounted share must not empty the index
            summary.problems.append((origin, "does not exist: its articles are kept"))
            continue
        present = set()
        for path in source_files(source.path):
            present.add(str(path))
            compare_file(path, source, manifest, by_path.get(str(path), []), changes, summary)
        for key, known in manifest.items():
            if known.origin == origin and known.path not in present:
                changes.remove.add(key)
                summary.removed += 1
    return changes


def compare_file(
    path: Path,
    source: KnowledgeSource,
    manifest: dict[str, IndexedArticle],
    indexed: list[str],
    changes: Changes,
    summary: Summary,
) -> None:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return
    if indexed and all(manifest[key].mtime == mtime for key in indexed):
        return  # untouched since it was indexed
    loaded = Loaded()
    load_file(path, source.path, source.namespace, loaded)
    summary.problems += loaded.problems
    current = {article.key: article for article in loaded.articles}
    for key in set(indexed) - current.keys():
        changes.remove.add(key)
        summary.removed += 1
    for key, article in current.items():
        known = manifest.get(key)
        if known is None or known.version != article.version or known.mtime != mtime:
            changes.add[key] = article
            if known is None:
                summary.added += 1
            elif known.version != article.version:
                summary.changed += 1


def ticket_changes(
    manifest: dict[str, IndexedArticle],
    articles: Iterable[Article],
    changes: Changes,
    summary: Summary,
) -> None:
    for article in articles:
        known = manifest.get(article.key)
        if known is not None and known.version == article.version:
            continue
        changes.add[article.key] = article
        summary.tickets += 1
        if known is None:
            summary.added += 1
        else:
            summary.changed += 1


def newest_ticket(manifest: dict[str, IndexedArticle]) -> float:
    times = [a.mtime for a in manifest.values() if a.origin == past_tickets.ORIGIN]
    return max(times, default=0.0)


# --- the entry points the rest of helpdeskd uses ------------------------------------------


def configured_tickets(settings: Settings, engine: Engine | None) -> TicketSource | None:
    if engine is None or not settings.knowledge.past_tickets:
        return None

    def tickets(since: float) -> Iterator[Article]:
        return past_tickets.resolved_tickets(settings, engine, since)

    return tickets


def rebuild_index(settings: Settings, engine: Engine | None = None) -> int:
    """Index the configured sources (and, given the store, resolved tickets) from scratch
    into settings.index_dir; the number of passages."""
    tickets = configured_tickets(settings, engine)
    found = list(tickets(0.0)) if tickets else []
    passages = rebuild(
        settings.index_dir, settings.knowledge.sources, settings.knowledge, found
    ).passages
    embeddings.refresh_configured(settings)
    return passages


def update_index(settings: Settings, engine: Engine | None, *, wait: bool = False) -> Summary:
    """The incremental job: changed sources and newly resolved tickets into the index."""
    knowledge = settings.knowledge
    tickets = configured_tickets(settings, engine)
    summary = update(settings.index_dir, knowledge.sources, knowledge, tickets, wait=wait)
    changed = summary.rebuilt or bool(summary.added or summary.changed or summary.removed)
    embeddings.refresh_configured(settings, changed=changed, wait=wait)
    return summary
