"""The index on disk: its layout, its one writer, and what it holds.

Decides how the Whoosh index lives in its folder. A full build goes into a new generation
folder (`v<n>/`) and is published by atomically replacing the `CURRENT` pointer, so readers
never see half an index, a schema change (new languages) needs no migration, and a crash
mid-build leaves the old index serving. Incremental changes are ordinary Whoosh commits in the
current generation. One writer at a time: `write.lock` (flock) is held for a whole build or
update; readers take no lock and never wait. Segments are merged into one on a full build and
once an update leaves more than `max_segments`. Whoosh never fsyncs, so nothing here is the
only copy of anything: every passage is rebuilt from the knowledge sources and the store.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

from daemon.config import KnowledgeSettings
from daemon.knowledge.analysis import boosted_text, field_for, index_analyzer
from daemon.knowledge.passages import PassageDoc, split_article
from daemon.knowledge.sources import Article
from daemon.mail.language import detect_language
from daemon.notify import PROGRESS

INDEX_JOB = "index"
"""The scheduler's id of the index job (`daemon.knowledge.job`), which the watchdog watches."""

log = logging.getLogger("helpdeskd.index")
POINTER = "CURRENT"
LOCK = "write.lock"
WRITER_MB = 256
"""Whoosh's posting pool before it spills to disk (1024 was slower and doubled the peak)."""
COMPOUND = False
"""One file per segment part, each mapped by readers (MappedStorage): whoosh copies a compound
segment into private memory when it opens it (60 MB at 50,000 passages)."""


class IndexBusy(Exception):
    """Another process holds the index's write lock (only raised when asked not to wait)."""


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    """What the index remembers of an article, to tell whether its source changed."""

    version: str
    path: str
    mtime: float
    origin: str
    namespace: str


def build_schema(languages: Iterable[str]) -> Schema:
    schema = Schema(
        id=ID(stored=True, unique=True),
        article=ID(stored=True),
        namespace=ID(stored=True),
        title=STORED(),
        text=STORED(),
        source=STORED(),
        meta=STORED(),
    )
    for language in languages:
        # phrase=False: frequencies only, no positions; a third of the postings' size
        schema.add(field_for(language), TEXT(analyzer=index_analyzer(language), phrase=False))
    return schema


def current_dir(root: Path) -> Path | None:
    """The generation folder readers should open, or None when nothing was built yet."""
    try:
        name = (root / POINTER).read_text().strip()
    except OSError:
        return None
    path = root / name
    return path if name and path.is_dir() else None


def open_current(root: Path) -> Any | None:
    """The current Whoosh index, or None (logged) when there is none or it cannot be read."""
    path = current_dir(root)
    return None if path is None else open_index(path)


class MappedStorage(FileStorage):  # type: ignore[misc]
    """Whoosh's file storage, with index files opened as read-only memory maps.

    Whoosh reads its files with seek() and read() (a system call per posting block), or, for a
    compound segment, copies the whole segment into private memory when it is opened. Maps
    give reads without system calls from pages the kernel shares and can drop."""

    def open_file(self, name: str, **kwargs: Any) -> StructFile:
        with open(self._fpath(name), "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:  # an empty file cannot be mapped
                return super().open_file(name, **kwargs)
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return StructFile(mapped, name=name, **kwargs)


def open_index(path: Path) -> Any | None:
    try:
        return MappedStorage(str(path)).open_index()
    except whoosh_index.EmptyIndexError:
        return None
    except Exception as exc:  # a torn or foreign index: the next build replaces it
        log.warning("index %s cannot be opened (%s): run `helpdeskd index --rebuild`", path, exc)
        return None


@contextmanager
def write_lock(root: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the index's single-writer lock (raise IndexBusy instead of waiting if asked)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise IndexBusy(f"{root} is being written by another process") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_generation(root: Path, articles: Iterable[Article], knowledge: KnowledgeSettings) -> int:
    """Write every article's passages into a fresh generation and publish it (caller holds
    the lock); the number of passages written."""
    path = root / f"v{next_generation(root)}"
    path.mkdir(parents=True)
    try:
        ix = whoosh_index.create_in(str(path), build_schema(knowledge.languages))
        writer = ix.writer(limitmb=WRITER_MB, compound=COMPOUND)
        count = 0
        for article in articles:
            for fields in article_documents(article, knowledge):
                writer.add_document(**fields)
                count += 1
            PROGRESS.beat(INDEX_JOB)  # a large rebuild is progress, not a wedged job
        writer.commit(optimize=True)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    publish(root, path.name)
    return count


def next_generation(root: Path) -> int:
    numbers = [int(p.name[1:]) for p in root.glob("v*") if p.name[1:].isdigit()]
    return max(numbers, default=0) + 1


def publish(root: Path, name: str) -> None:
    """Point CURRENT at `name` atomically, then drop older generations.

    Readers that still have an old generation open keep reading it: on POSIX an unlinked
    file lives until its last handle closes."""
    tmp = root / f"{POINTER}.tmp"
    tmp.write_text(name + "\n")
    tmp.replace(root / POINTER)
    for old in root.glob("v*"):
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def apply_changes(
    ix: Any, remove: Iterable[str], add: Iterable[Article], knowledge: KnowledgeSettings
) -> int:
    """Delete the `remove` articles' passages and add the `add` articles' in one commit
    (caller holds the lock); merge into one segment once there are `max_segments`."""
    writer = ix.writer(limitmb=WRITER_MB, compound=COMPOUND)
    added = 0
    try:
        for key in remove:
            writer.delete_by_term("article", key)
        for article in add:
            for fields in article_documents(article, knowledge):
                writer.add_document(**fields)
                added += 1
            PROGRESS.beat(INDEX_JOB)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(optimize=segment_count(ix) >= knowledge.max_segments)
    return added


def segment_count(ix: Any) -> int:
    with ix.reader() as reader:
        return len(reader.leaf_readers())


def article_documents(article: Article, knowledge: KnowledgeSettings) -> list[dict[str, Any]]:
    """The index documents of an article: one per passage, all in the article's language."""
    language = article_language(article, knowledge.languages)
    return [
        document_fields(doc, language, knowledge)
        for doc in split_article(article, knowledge.passage_chars)
    ]


def document_fields(doc: PassageDoc, language: str, knowledge: KnowledgeSettings) -> dict[str, Any]:
    article = doc.article
    parts = [
        (article.title, knowledge.title_boost),
        (" ".join(doc.headings), knowledge.heading_boost),
        (doc.text, 1.0),
    ]
    return {
        "id": doc.id,
        "article": article.key,
        "namespace": article.namespace,
        "title": doc.title,
        "text": doc.text,
        "source": doc.source,
        "meta": {
            "version": article.version,
            "path": article.path,
            "mtime": article.mtime,
            "origin": article.origin,
            "language": language,
        },
        field_for(language): boosted_text(parts),
    }


def article_language(article: Article, languages: tuple[str, ...]) -> str:
    """The configured language an article is indexed in: its own, else detected, else the
    first configured one."""
    if article.language in languages:
        return article.language
    if len(languages) > 1:
        found = detect_language(f"{article.title}\n{article.body}")
        if found in languages:
            return str(found)
    return languages[0]


def read_manifest(ix: Any) -> dict[str, IndexedArticle]:
    """Every article in the index with its version and source (from the stored fields)."""
    out: dict[str, IndexedArticle] = {}
    with ix.reader() as reader:
        for stored in reader.all_stored_fields():
            meta = stored.get("meta") or {}
            out.setdefault(
                stored["article"],
                IndexedArticle(
                    version=meta.get("version", ""),
                    path=meta.get("path", ""),
                    mtime=float(meta.get("mtime", 0.0)),
                    origin=meta.get("origin", ""),
                    namespace=stored.get("namespace", ""),
                ),
            )
    return out
