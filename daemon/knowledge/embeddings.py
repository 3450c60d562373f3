"""Optional hybrid retrieval: the provider's embeddings, fused with the keyword ranking.

Decides when vectors are computed, where they live and how they change a ranking. Off by
default (`[knowledge] embeddings`); the keyword ranking never depends on it. At index time
(`refresh`, after every full or incremental index run) each passage of the current index
generation gets a vector from the configured OpenAI-compatible `/v1/embeddings` endpoint, in
batches of `embedding_batch`; vectors are kept beside the index in
`<index_dir>/embeddings/<generation>.sqlite` with the digest of the model and the passage text,
so an unchanged passage is never sent again: not after an update, and not after a rebuild
either (its vector is copied from the previous generation's file, which is then removed). At
search time (`HybridRetriever`) the query is embedded with a short timeout, the stored vectors
are ranked by cosine, and both rankings' top `DEPTH` are fused by reciprocal-rank fusion
(score = Σ 1/(RRF_K + rank), the constant of Cormack et al. 2009, not tuned here). Any failure
— server down, a timeout, an error status, vectors of the wrong dimension, no vectors yet for
this generation — leaves the keyword ranking as it is and is logged with its reason (once,
until the reason changes).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from daemon.config import KnowledgeSettings, ModelSettings, Settings
from daemon.errors import ConfigError
from daemon.knowledge.index import IndexBusy, current_dir, open_index, write_lock
from daemon.knowledge.query import QueryTerm
from daemon.records import Passage

if TYPE_CHECKING:  # numpy and the openai SDK load only when embeddings are on
    import httpx2
    import numpy as np

log = logging.getLogger("helpdeskd.embeddings")
STORE_DIR = "embeddings"
DEPTH = 50
"""Candidates taken from each ranking before fusing."""
RRF_K = 60
MAX_INPUT_CHARS = 8000
"""A passage is cut here before it is sent: embedding models take a few thousand tokens."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, namespace TEXT NOT NULL, title TEXT NOT NULL,
    text TEXT NOT NULL, source TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS vectors_digest ON vectors (digest);
"""


class EmbeddingError(Exception):
    """The endpoint gave no usable vectors; the message is the reason that gets logged."""


@dataclass(frozen=True, slots=True)
class EmbeddingEndpoint:
    base_url: str
    api_key: str
    model: str
    timeout: float
    connect_timeout: float


def endpoint_for(settings: Settings) -> EmbeddingEndpoint | None:
    """The endpoint [knowledge] embeddings asks, or None when it is off or cannot be used
    (a missing key is logged: the keyword ranking goes on without it)."""
    knowledge, llm = settings.knowledge, settings.llm
    if not knowledge.embeddings or not knowledge.embedding_model:
        return None
    provider = knowledge.embedding_provider
    spec = settings.models.get(provider) if provider else None
    spec = spec or ModelSettings(model=knowledge.embedding_model)
    base_url = spec.base_url or llm.base_url
    from daemon.llm.stack import api_key_for  # the openai SDK: only when embeddings are on

    try:
        key = api_key_for(settings, spec)
    except ConfigError as exc:
        log.error("embeddings off: %s", exc)
        return None
    if not base_url:
        log.error("embeddings off: no base_url ([llm] or the provider's)")
        return None
    return EmbeddingEndpoint(
        base_url, key, knowledge.embedding_model, llm.timeout_seconds, llm.connect_timeout_seconds
    )


class EmbeddingClient:
    """`/v1/embeddings` through the openai SDK, set up like the chat client: no SDK retries,
    explicit timeouts, any failure an `EmbeddingError`."""

    def __init__(self, endpoint: EmbeddingEndpoint, http_client: httpx2.Client | None = None):
        import openai

        self.endpoint = endpoint
        self.client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key or "no-key",
            max_retries=0,
            timeout=self.timeout(endpoint.timeout),
            http_client=http_client,
        )

    def timeout(self, seconds: float) -> httpx2.Timeout:
        import httpx2

        return httpx2.Timeout(seconds, connect=min(self.endpoint.connect_timeout, seconds))

    def embed(self, texts: Sequence[str], timeout: float | None = None) -> list[list[float]]:
        import openai

        try:
            response = self.client.embeddings.create(
                model=self.endpoint.model,
                input=[t[:MAX_INPUT_CHARS] or " " for t in texts],
                encoding_format="float",
                timeout=self.timeout(timeout or self.endpoint.timeout),
            )
            data = sorted(response.data, key=lambda d: d.index)
            vectors = [[float(x) for x in d.embedding] for d in data]
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"{self.endpoint.base_url}: {exc}") from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise EmbeddingError(f"{self.endpoint.base_url}: malformed answer ({exc})") from exc
        if len(vectors) != len(texts) or not all(vectors):
            raise EmbeddingError(f"{len(vectors)} vector(s) for {len(texts)} input(s)")
        if len({len(v) for v in vectors}) != 1:
            raise EmbeddingError("vectors of different dimensions in one answer")
        return vectors

    def close(self) -> None:
        self.client.close()


def digest(model: str, title: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x1f{title}\x1f{text}".encode()).hexdigest()


def input_text(doc: dict[str, Any]) -> str:
    return f"{doc['title']}\n{doc['text']}"


def store_path(root: Path, generation: Path) -> Path:
    return root / STORE_DIR / f"{generation.name}.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def to_blob(vector: Sequence[float]) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype=np.float32).tobytes()


# --- index time -----------------------------------------------------------------------------


@dataclass
class Refresh:
    """What one refresh did; `error` is why it stopped early (the index itself is fine)."""

    computed: int = 0
    reused: int = 0
    removed: int = 0
    error: str = ""

    def describe(self) -> str:
        done = f"{self.computed} computed, {self.reused} reused, {self.removed} removed"
        return f"embeddings: {done}" + (f"; stopped: {self.error}" if self.error else "")


def refresh(
    root: Path, knowledge: KnowledgeSettings, client: EmbeddingClient, *, wait: bool = True
) -> Refresh:
    """Give every passage of the current generation a vector (reusing any the store, or the
    previous generation's store, has for the same model and text); drop other generations'.
    Holds the index's write lock (IndexBusy when `wait` is false and another writer runs)."""
    with write_lock(root, wait=wait):
        generation = current_dir(root)
        ix = open_index(generation) if generation is not None else None
        if generation is None or ix is None:
            return Refresh(error="no index yet")
        try:
            with ix.reader() as reader:
                docs = {d["id"]: d for d in reader.all_stored_fields()}
        finally:
            ix.close()
        path = store_path(root, generation)
        with closing(connect(path)) as db:
            result = fill(db, docs, knowledge, client, others(root, path))
        for old in others(root, path):
            old.unlink(missing_ok=True)
            for extra in ("-wal", "-shm"):
                old.with_name(old.name + extra).unlink(missing_ok=True)
    log.info("index %s: %s", root, result.describe())
    return result


def others(root: Path, path: Path) -> list[Path]:
    return [p for p in sorted((root / STORE_DIR).glob("*.sqlite")) if p != path]


def fill(
    db: sqlite3.Connection,
    docs: dict[str, dict[str, Any]],
    knowledge: KnowledgeSettings,
    client: EmbeddingClient,
    previous: list[Path],
) -> Refresh:
    model = client.endpoint.model
    result = Refresh()
    if meta(db, "model") != model:
        db.execute("DELETE FROM vectors")
        db.execute("DELETE FROM meta")
        set_meta(db, "model", model)
    wanted = {key: digest(model, d["title"], d["text"]) for key, d in docs.items()}
    have = dict(db.execute("SELECT id, digest FROM vectors").fetchall())
    stale = [key for key, old in have.items() if wanted.get(key) != old]
    db.executemany("DELETE FROM vectors WHERE id = ?", [(k,) for k in stale])
    result.removed = len(stale)
    db.commit()
    missing = [key for key in wanted if have.get(key) != wanted[key]]
    missing = copy_known(db, missing, wanted, docs, previous, result)
    set_meta(db, "complete", "0")
    try:
        compute(db, missing, wanted, docs, knowledge.embedding_batch, client, result)
    except EmbeddingError as exc:
        result.error = str(exc)
        log.warning("embeddings incomplete, keyword ranking unaffected: %s", exc)
    else:
        set_meta(db, "complete", "1")
    db.commit()
    return result


def copy_known(
    db: sqlite3.Connection,
    missing: list[str],
    wanted: dict[str, str],
    docs: dict[str, dict[str, Any]],
    previous: list[Path],
    result: Refresh,
) -> list[str]:
    """Take vectors for unchanged texts from the previous generation's store; the rest."""
    dims = meta(db, "dims")
    for path in previous:
        with closing(sqlite3.connect(path, timeout=30)) as old:
            try:
                rows = old.execute("SELECT digest, vector FROM vectors").fetchall()
                old_dims = meta(old, "dims")
            except sqlite3.Error:
                continue
        if dims is not None and old_dims != dims:
            continue
        known = dict(rows)
        found = {key for key in missing if wanted[key] in known}
        db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row(key, wanted[key], docs[key], known[wanted[key]]) for key in sorted(found)],
        )
        if found and old_dims is not None:
            dims = old_dims
            set_meta(db, "dims", dims)
        db.commit()
        result.reused += len(found)
        missing = [key for key in missing if key not in found]
    return missing


def row(key: str, digest_: str, doc: dict[str, Any], blob: bytes) -> tuple[Any, ...]:
    source = str(doc.get("source") or "")
    return (key, digest_, doc["namespace"], doc["title"], doc["text"], source, blob)


def compute(
    db: sqlite3.Connection,
    missing: list[str],
    wanted: dict[str, str],
    docs: dict[str, dict[str, Any]],
    batch: int,
    client: EmbeddingClient,
    result: Refresh,
) -> None:
    """Ask for the missing vectors a batch at a time, committing each batch."""
    for start in range(0, len(missing), batch):
        keys = missing[start : start + batch]
        vectors = client.embed([input_text(docs[k]) for k in keys])
        dims = meta(db, "dims")
        if dims is not None and int(dims) != len(vectors[0]):
            raise EmbeddingError(f"{len(vectors[0])} dimensions, the stored vectors have {dims}")
        set_meta(db, "dims", str(len(vectors[0])))
        db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row(k, wanted[k], docs[k], to_blob(v)) for k, v in zip(keys, vectors, strict=True)],
        )
        db.commit()
        result.computed += len(keys)


def refresh_configured(
    settings: Settings, root: Path | None = None, *, changed: bool = True, wait: bool = True
) -> Refresh | None:
    """`refresh` for the configured endpoint; None when embeddings are off, or when nothing
    `changed` in the index and its vectors are complete, or (not `wait`) the index is busy."""
    endpoint = endpoint_for(settings)
    root = root or settings.index_dir
    if endpoint is None or (not changed and complete(root, endpoint.model)):
        return None
    client = EmbeddingClient(endpoint)
    try:
        return refresh(root, settings.knowledge, client, wait=wait)
    except IndexBusy:
        return None
    finally:
        client.close()


def complete(root: Path, model: str) -> bool:
    """The current generation has a vector for every passage, from this model."""
    generation = current_dir(root)
    path = store_path(root, generation) if generation is not None else None
    if path is None or not path.is_file():
        return False
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        try:
            return meta(db, "model") == model and meta(db, "complete") == "1"
        except sqlite3.Error:
            return False


# --- search time ----------------------------------------------------------------------------


@dataclass
class Vectors:
    """One generation's stored vectors, normalized, with their passage ids and namespaces."""

    path: Path
    stamp: tuple[int, int]
    ids: list[str]
    namespaces: np.ndarray[Any, Any]
    matrix: np.ndarray[Any, Any]


def load_vectors(path: Path) -> Vectors | None:
    if not path.is_file():
        return None
    stat = path.stat()
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        rows = db.execute("SELECT id, namespace, vector FROM vectors ORDER BY id").fetchall()
    if not rows:
        return None
    import numpy as np

    raw = np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    matrix = (raw / np.where(norms == 0, 1, norms)).astype(np.float32)
    ids = [str(r[0]) for r in rows]
    namespaces = np.array([str(r[1]) for r in rows], dtype=object)
    return Vectors(path, (stat.st_mtime_ns, stat.st_size), ids, namespaces, matrix)


class Lexical(Protocol):
    """What HybridRetriever needs of the keyword retriever (WhooshRetriever)."""

    root: Path

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]: ...

    def search_terms(
        self, query: str, namespaces: Sequence[str], k: int
    ) -> list[tuple[Passage, list[QueryTerm]]]: ...

    def close(self) -> None: ...


class HybridRetriever:
    """The keyword retriever's ranking fused with the embeddings' (see the module doc)."""

    def __init__(
        self, lexical: Lexical, client: EmbeddingClient, knowledge: KnowledgeSettings
    ) -> None:
        self.lexical = lexical
        self.root: Path = lexical.root
        self.client = client
        self.knowledge = knowledge
        self._vectors: Vectors | None = None
        self._lock = threading.Lock()
        self._reason = ""

    def search(self, query: str, namespaces: Sequence[str], k: int) -> list[Passage]:
        return [passage for passage, _ in self.search_terms(query, namespaces, k)]

    def search_terms(
        self, query: str, namespaces: Sequence[str], k: int
    ) -> list[tuple[Passage, list[QueryTerm]]]:
        found = self.lexical.search_terms(query, namespaces, max(k, DEPTH))
        try:
            fused = self.fuse([p for p, _ in found], self.semantic(query, namespaces), k)
        except (EmbeddingError, sqlite3.Error, OSError, ValueError) as exc:
            self.fall_back(str(exc) or type(exc).__name__)
            return list(found[:k])
        self.recovered()
        plan = found[0][1] if found else []
        return [(p, plan) for p in fused]

    def semantic(self, query: str, namespaces: Sequence[str]) -> list[str]:
        """Passage ids by cosine to the query, best first (EmbeddingError: no ranking)."""
        vectors = self.vectors()
        if vectors is None:
            raise EmbeddingError("no embeddings for the current index generation yet")
        import numpy as np

        timeout = self.knowledge.embedding_timeout_seconds
        query_vector = np.asarray(self.client.embed([query], timeout)[0], dtype=np.float32)
        if query_vector.shape[0] != vectors.matrix.shape[1]:
            raise EmbeddingError(
                f"query vector has {query_vector.shape[0]} dimensions, "
                f"the index's {vectors.matrix.shape[1]}"
            )
        scores = vectors.matrix @ (query_vector / (np.linalg.norm(query_vector) or 1.0))
        if namespaces:
            scores = np.where(np.isin(vectors.namespaces, list(namespaces)), scores, -np.inf)
        depth = min(DEPTH, len(scores))
        best = np.argpartition(-scores, depth - 1)[:depth]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [vectors.ids[i] for i in best if np.isfinite(scores[i])]

    def vectors(self) -> Vectors | None:
        """The current generation's vectors, reloaded when the generation or its file changes."""
        generation = current_dir(self.root)
        if generation is None:
            return None
        path = store_path(self.root, generation)
        with self._lock:
            held = self._vectors
            try:
                stat = path.stat()
            except OSError:
                self._vectors = None
                return None
            if held is None or held.path != path or held.stamp != (stat.st_mtime_ns, stat.st_size):
                self._vectors = load_vectors(path)
            return self._vectors

    def fuse(self, lexical: list[Passage], semantic: list[str], k: int) -> list[Passage]:
        """Reciprocal-rank fusion of the two rankings; ties keep the keyword order."""
        score: dict[str, float] = {}
        for ranking in ([p.id for p in lexical[:DEPTH]], semantic[:DEPTH]):
            for rank, key in enumerate(ranking, 1):
                score[key] = score.get(key, 0.0) + 1 / (RRF_K + rank)
        order = {p.id: i for i, p in enumerate(lexical)}
        best = sorted(score, key=lambda key: (-score[key], order.get(key, len(order))))[:k]
        passages = {p.id: p for p in lexical}
        missing = [key for key in best if key not in passages]
        passages.update(self.stored(missing))
        return [
            replace(passages[key], score=round(score[key], 6)) for key in best if key in passages
        ]

    def stored(self, keys: list[str]) -> Iterator[tuple[str, Passage]]:
        """Passages found only by their vectors, as the store keeps them."""
        vectors = self._vectors
        if not keys or vectors is None:
            return
        with closing(sqlite3.connect(f"file:{vectors.path}?mode=ro", uri=True)) as db:
            for key in keys:
                hit = db.execute(
                    "SELECT title, namespace, text, source FROM vectors WHERE id = ?", (key,)
                ).fetchone()
                if hit is not None:
                    yield (
                        key,
                        Passage(
                            id=key,
                            title=hit[0],
                            namespace=hit[1],
                            text=hit[2],
                            score=0.0,
                            source=hit[3],
                        ),
                    )

    def fall_back(self, reason: str) -> None:
        if reason != self._reason:
            log.warning("embeddings unavailable, keyword ranking alone: %s", reason)
            self._reason = reason

    def recovered(self) -> None:
        if self._reason:
            log.info("embeddings available again")
            self._reason = ""

    def close(self) -> None:
        self.lexical.close()
        self.client.close()


def hybrid_or_plain(lexical: Lexical, settings: Settings) -> Lexical:
    """The hybrid retriever over `lexical` when embeddings are on and usable, else `lexical`."""
    endpoint = endpoint_for(settings)
    if endpoint is None:
        return lexical
    return HybridRetriever(lexical, EmbeddingClient(endpoint), settings.knowledge)
