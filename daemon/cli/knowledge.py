"""Knowledge commands: index, search, and retrieval evaluation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from daemon.cli.common import config_option, load
from daemon.config import KnowledgeSource, Settings
from daemon.knowledge.evaluate import HEADER, evaluate
from daemon.knowledge.index import IndexBusy, current_dir
from daemon.knowledge.query import email_query_text
from daemon.knowledge.retriever import WhooshRetriever
from daemon.knowledge.snippets import make_snippet
from daemon.knowledge.sync import Summary, TicketSource, configured_tickets, rebuild, update
from daemon.store.engine import open_engine

INDEX_OPTION = click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Index folder (default: [knowledge] index_dir, else <state_dir>/index).",
)


@click.command("index")
@config_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@INDEX_OPTION
@click.option("--rebuild", "full", is_flag=True, help="Start from an empty index.")
def index_cmd(
    config_path: Path | None, paths: tuple[Path, ...], index_dir: Path | None, full: bool
) -> None:
    """Index Markdown/HTML/text folders and .jsonl files (default: the configured sources).

    Without --rebuild only new, changed and deleted articles of these sources are written.
    The configured index also gets the resolved tickets of the store ([knowledge]
    past_tickets)."""
    settings = load(config_path)
    sources = [KnowledgeSource(path=p.resolve()) for p in paths] or settings.knowledge.sources
    if not sources:
        click.echo("nothing to index: pass PATH... or set [knowledge] sources", err=True)
        sys.exit(1)
    root = index_dir.resolve() if index_dir else settings.index_dir
    tickets = store_tickets(settings) if index_dir is None else None
    summary = run_index(root, list(sources), settings, tickets, full)
    click.echo(f"{root}: {summary.describe()}")
    for where, problem in summary.problems:
        click.echo(f"  {where}: {problem}", err=True)
    sys.exit(1 if summary.problems else 0)


def store_tickets(settings: Settings) -> TicketSource | None:
    if not settings.knowledge.past_tickets:
        return None
    return configured_tickets(settings, open_engine(settings.database_url))


def run_index(
    root: Path,
    sources: list[KnowledgeSource],
    settings: Settings,
    tickets: TicketSource | None,
    full: bool,
) -> Summary:
    knowledge = settings.knowledge
    if full:
        return rebuild(root, sources, knowledge, tickets(0.0) if tickets else ())
    try:
        return update(root, sources, knowledge, tickets, wait=False)
    except IndexBusy:
        click.echo("another process is writing the index: waiting for it", err=True)
        return update(root, sources, knowledge, tickets, wait=True)


@click.command("search")
@config_option
@click.argument("query")
@INDEX_OPTION
@click.option("--namespace", "namespaces", multiple=True, help="Only this namespace (repeat).")
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="[{id, title, namespace, score, snippet}]")
def search_cmd(
    config_path: Path | None,
    query: str,
    index_dir: Path | None,
    namespaces: tuple[str, ...],
    k: int,
    as_json: bool,
) -> None:
    """Search the knowledge index as the retrieve stage would (QUERY may be an email's text)."""
    settings = load(config_path)
    root = index_dir.resolve() if index_dir else settings.index_dir
    if current_dir(root) is None:
        click.echo(f"no index in {root}: run `helpdeskd index` first", err=True)
        if as_json:
            click.echo("[]")
        sys.exit(1)
    retriever = WhooshRetriever(root, settings.knowledge)
    try:
        found = retriever.search_terms(email_query_text("", query), namespaces, k)
    finally:
        retriever.close()
    hits = [
        {
            "id": p.id,
            "title": p.title,
            "namespace": p.namespace,
            "score": p.score,
            "snippet": make_snippet(p.text, plan),
        }
        for p, plan in found
    ]
    if as_json:
        click.echo(json.dumps(hits, ensure_ascii=False))
        return
    for rank, (hit, (passage, _)) in enumerate(zip(hits, found, strict=True), 1):
        click.echo(f"{rank}. {hit['id']}  [{hit['namespace']}]  score {hit['score']:.2f}")
        click.echo(f"   {hit['title']}\n   {hit['snippet']}\n   {passage.source}")
    if not hits:
        click.echo("no passage matches", err=True)


@click.command("eval-retrieval")
@config_option
@click.option(
    "--articles",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSONL of {id, title, body, namespace?}.",
)
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSONL of {qid, query, relevant: [article id]}.",
)
@click.option("--json", "as_json", is_flag=True, help="One object per engine.")
def eval_cmd(config_path: Path | None, articles: Path, queries: Path, as_json: bool) -> None:
    """Recall@1/5/10 and MRR of retrieval, beside bm25s on the same passages."""
    settings = load(config_path)
    results = evaluate(articles, queries, settings.knowledge)
    if as_json:
        for s in results:
            click.echo(
                json.dumps(
                    {
                        "engine": s.engine,
                        "queries": s.queries,
                        "mrr": s.mrr,
                        **{f"recall@{k}": v for k, v in s.recall.items()},
                    }
                )
            )
        return
    click.echo(f"{results[0].queries} queries, {articles.name}\n{HEADER}")
    for s in results:
        click.echo(s.row())
    if len(results) == 1:
        click.echo("(bm25s is not installed: no baseline; pip install 'helpdeskd[dev]')")


COMMANDS: tuple[click.Command, ...] = (index_cmd, search_cmd, eval_cmd)
