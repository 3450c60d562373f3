"""Retrieval speed: index build, query p50/p95 and memory on support-style passages.

Generates N support-style passages (default 50,000: a title, one section heading and a body of
50–160 words drawn from a Zipf vocabulary of stop words, support words, product names, error
codes and made-up rare words) and Q queries about one target passage each: with
`--query-style questions` (the default) short customer questions (benchmarks/question_queries.py:
a question frame, one to three of the target's words, inflected or misspelt, a word of the
customer's own); with `--query-style copied` email-like mails (greeting, 3–8 words of the target
passage, noise words, a closing; subject line from the target's title). Every engine gets the
same passages and the same query text (the email cleaned by daemon.knowledge.query, as the
retrieve stage does), k = 10, one query at a time:

  helpdeskd        daemon.knowledge: `rebuild` from a JSONL file, WhooshRetriever.search
  whoosh collector the same index and the same planned terms, ranked by whoosh's own
                   searcher.search (Or of Terms, BM25F, block-quality optimisation on)
  whoosh raw       the naive set-up: title/headings/body TEXT fields (positions, stemming),
                   MultifieldParser with OrGroup, whoosh's BM25F with field boosts
  bm25s            bm25s.tokenize (English stop words) + BM25.index / retrieve
  tantivy          when the `tantivy` package is importable (not a dependency)

Each engine builds its index in one child process (build time, the build's peak RSS) and
answers the queries in a fresh one (p50/p95; the private memory and mapped index pages that
opening the index and querying added). The two whoosh baselines are slow, so they answer only
the first --baseline-queries queries (a random sample like the rest). Recall@10 and MRR@10 of
the target passage show that the speed did not come from losing the answer. Ratios are against
bm25s in the same run.

Usage: .venv/bin/python benchmarks/retrieval.py [--quick] [--passages N] [--queries Q]
       [--baseline-queries B] [--skip ENGINE,...] [--query-style questions|copied]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.question_queries import question_mail  # noqa: E402

ENGINES = ("helpdeskd", "whoosh-collector", "whoosh-raw", "bm25s", "tantivy")
K = 10


def words(text: str) -> list[str]:
    return text.split()


STOP = words(
    """a an the and or but if then of to in on at by for with from about as into through
is are was were be been being have has had do does did i you he she it we they me my your our
this that these those there here not no can could would should will just so very too also
when where what which who how why all any some more most other such only own same than"""
)
SUPPORT = words(
    """account password login sign reset email address verify verification code two-factor
authentication phone number subscription plan billing invoice payment card charge charged refund
return exchange order shipping delivery tracking package parcel courier warehouse label cancel
cancellation upgrade downgrade renewal trial discount coupon voucher price tax receipt app mobile
android iphone tablet desktop browser chrome firefox safari extension install update version
crash freeze error message screen blank loading slow sync backup restore data export import file
upload download attachment photo video audio microphone camera bluetooth wifi network router
connection offline settings notification alert privacy security delete deactivate profile
username device pair battery charger cable warranty repair replacement damaged broken missing
wrong item size color stock available backorder preorder delay delayed customs international
express standard pickup store location hours contact chat agent ticket response manager
complaint feedback review rating gift wrap bundle accessory manual setup configure guide
troubleshooting reboot firmware driver printer scanner keyboard mouse monitor display resolution
brightness speaker volume headphones license key activation activate serial registration
register credit debit paypal transfer bank statement duplicate pending declined failed expired
limit quota storage space cloud folder share sharing permission admin user member invite
workspace project calendar reminder schedule meeting integration api token webhook developer
sandbox csv report dashboard analytics language region currency timezone format template
signature inbox spam filter block unsubscribe newsletter marketing consent gdpr request copy
personal information change merge ownership family student business enterprise seats"""
)
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


# --- data --------------------------------------------------------------------------------


class Generator:
    """Deterministic support-style text: one Zipf law over stop, support and rare words."""

    def __init__(self, seed: int, rare: int = 30_000) -> None:
        self.rng = rng = random.Random(seed)
        words: set[str] = set()
        while len(words) < rare:
            words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
        content = sorted(words)
        rng.shuffle(content)
        for word in SUPPORT:  # support words rank among the common content words
            content.insert(rng.randrange(2000), word)
        self.vocab = STOP + content
        weights = (1.0 / rank**1.05 for rank in range(1, len(self.vocab) + 1))
        self.cumulative = list(itertools.accumulate(weights))
        self.stop = set(STOP)
        brands = ["Acme", "Nova", "Zen", "Orbit", "Pixel", "Luma"]
        kinds = ["Cam", "Phone", "Router", "Book", "Watch", "Hub"]
        self.products = [
            f"{rng.choice(brands)}{rng.choice(kinds)} {rng.choice('XS')}{rng.randint(1, 900)}"
            for _ in range(150)
        ]

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self.cumulative, k=n)

    def content_words(self, n: int) -> list[str]:
        out: list[str] = []
        while len(out) < n:
            out += [w for w in self.words(n) if w not in self.stop]
        return out[:n]

    def passage(self, number: int) -> dict[str, str]:
        rng = self.rng
        title = " ".join(self.content_words(rng.randint(3, 7))).capitalize()
        heading = " ".join(self.content_words(rng.randint(2, 4))).capitalize()
        body = self.words(rng.randint(50, 160))
        if rng.random() < 0.3:
            body.insert(rng.randrange(len(body)), rng.choice(self.products))
        if rng.random() < 0.1:
            body.insert(rng.randrange(len(body)), f"E{rng.randint(1000, 9999)}")
        text = " ".join(body).capitalize() + "."
        return {"id": f"kb-{number:05d}", "title": title, "heading": heading, "text": text}

    def email(self, target: dict[str, str]) -> tuple[str, str]:
        """(subject, body) of a customer mail about `target`."""
        rng = self.rng
        own = [
            w
            for w in re.findall(r"\w+", f"{target['title']} {target['text']}".lower())
            if w not in self.stop
        ]
        picked = rng.sample(own, min(len(own), rng.randint(3, 8)))
        codes = re.findall(r"\b(?:E\d{4}|[A-Z]\w+ [XS]\d+)\b", target["text"])
        noise = self.content_words(rng.randint(0, 3))
        sentence = " ".join(self.words(rng.randint(2, 6)) + picked + codes[:1] + noise)
        subject = " ".join(target["title"].split()[: rng.randint(2, 4)])
        greeting = rng.choice(["Hi", "Hello", "Dear team"])
        closing = rng.choice(["Thanks,\nSam", "Kind regards,\nAlex", "Please help!"])
        return subject, f"{greeting},\n\n{sentence}.\n\n{closing}"

    def question(self, target: dict[str, str]) -> tuple[str, str]:
        """(subject, body) of a short customer question about `target`."""
        return question_mail(self.rng, target, self.stop, self.content_words)


def write_data(
    folder: Path, passages: int, queries: int, seed: int, style: str = "questions"
) -> None:
    gen = Generator(seed)
    docs = [gen.passage(i) for i in range(passages)]
    with (folder / "articles.jsonl").open("w") as fh:
        for d in docs:
            body = f"## {d['heading']}\n\n{d['text']}"
            fh.write(json.dumps({"id": d["id"], "title": d["title"], "body": body}) + "\n")
    with (folder / "passages.json").open("w") as fh:
        json.dump(docs, fh)
    targets = [gen.rng.choice(docs) for _ in range(queries)]
    with (folder / "queries.json").open("w") as fh:
        mail = gen.email if style == "copied" else gen.question
        json.dump([{"mail": mail(t), "relevant": t["id"]} for t in targets], fh)


# --- measuring ---------------------------------------------------------------------------


def rss_mb() -> dict[str, float]:
    """Resident memory: private (anonymous) and file pages (an mmap-ed index counts here)."""
    found = {"RssAnon": 0.0, "RssFile": 0.0}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in found:
                found[key] = int(line.split()[1]) / 1024
    return found


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_build(build: Callable[[], None]) -> dict[str, float]:
    start = time.perf_counter()
    build()
    return {"build_s": time.perf_counter() - start, "build_peak_mb": peak_mb()}


def measure_serve(
    open_engine: Callable[[], Callable[[str], list[str]]], queries: list[dict[str, Any]]
) -> dict[str, float]:
    """Open the built index, run every query once; the RSS it took and the latencies."""
    from daemon.knowledge.query import email_query_text

    texts = [email_query_text(*q["mail"]) for q in queries]
    before = rss_mb()
    start = time.perf_counter()
    search = open_engine()
    search(texts[0])  # warm-up: first-use caches (stemmer, length norms) are not per query
    opened = time.perf_counter() - start
    latencies, hits, reciprocal = [], 0, 0.0
    for text, q in zip(texts, queries, strict=True):
        t0 = time.perf_counter()
        found = search(text)
        latencies.append((time.perf_counter() - t0) * 1000)
        passages = [f.split("#")[0] for f in found[:K]]  # helpdeskd ids carry an anchor
        if q["relevant"] in passages:
            hits += 1
            reciprocal += 1 / (passages.index(q["relevant"]) + 1)
    return {
        "open_s": opened,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "mean_ms": sum(latencies) / len(latencies),
        "rss_mb": rss_mb()["RssAnon"] - before["RssAnon"],
        "file_mb": rss_mb()["RssFile"] - before["RssFile"],
        "recall10": hits / len(queries),
        "mrr10": reciprocal / len(queries),
    }


# --- engines: build(data, work) writes an index; serve(data, work) opens it ----------------


def build_helpdeskd(data: Path, work: Path) -> None:
    from daemon.config import KnowledgeSettings, KnowledgeSource
    from daemon.knowledge.sync import rebuild

    rebuild(work, [KnowledgeSource(path=data / "articles.jsonl")], KnowledgeSettings())


def serve_helpdeskd(data: Path, work: Path) -> Callable[[str], list[str]]:
    from daemon.config import KnowledgeSettings
    from daemon.knowledge.retriever import WhooshRetriever

    retriever = WhooshRetriever(work, KnowledgeSettings())
    return lambda text: [p.id for p in retriever.search(text, (), K)]


def serve_whoosh_collector(data: Path, work: Path) -> Callable[[str], list[str]]:
    """Our index and our planned terms, ranked by whoosh's collector instead of ours."""
    from whoosh import query as wq

    from daemon.config import KnowledgeSettings
    from daemon.knowledge.index import open_current
    from daemon.knowledge.query import plan_query

    knowledge = KnowledgeSettings()
    searcher = open_current(work).searcher()
    reader = searcher.reader()

    def search(text: str) -> list[str]:
        plan = plan_query(text, knowledge.languages, reader.doc_frequency, reader.doc_count(), 24)
        terms = [wq.Term(t.field, t.text, boost=t.weight) for t in plan]
        return [hit["id"] for hit in searcher.search(wq.Or(terms), limit=K)]

    return search


def raw_schema() -> Any:
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema

    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
        headings=TEXT(analyzer=StemmingAnalyzer()),
        body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
    )


def build_whoosh_raw(data: Path, work: Path) -> None:
    from whoosh import index

    docs = json.loads((data / "passages.json").read_text())
    writer = index.create_in(str(work), raw_schema()).writer(limitmb=256)
    for d in docs:
        writer.add_document(id=d["id"], title=d["title"], headings=d["heading"], body=d["text"])
    writer.commit(optimize=True)


def serve_whoosh_raw(data: Path, work: Path) -> Callable[[str], list[str]]:
    from whoosh import index, qparser, scoring

    ix = index.open_dir(str(work))
    searcher = ix.searcher(weighting=scoring.BM25F())
    parser = qparser.MultifieldParser(
        ["title", "headings", "body"],
        ix.schema,
        fieldboosts={"title": 3.0, "headings": 2.0, "body": 1.0},
        group=qparser.OrGroup,
    )
    return lambda text: [h["id"] for h in searcher.search(parser.parse(text), limit=K)]


def build_bm25s(data: Path, work: Path) -> None:
    import bm25s

    docs = json.loads((data / "passages.json").read_text())
    texts = [f"{d['title']}\n{d['heading']}\n{d['text']}" for d in docs]
    model = bm25s.BM25()
    model.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    model.save(str(work))


def serve_bm25s(data: Path, work: Path) -> Callable[[str], list[str]]:
    import bm25s

    ids = [d["id"] for d in json.loads((data / "passages.json").read_text())]
    model = bm25s.BM25.load(str(work))

    def search(text: str) -> list[str]:
        tokens = bm25s.tokenize([text], stopwords="en", show_progress=False)
        found, _ = model.retrieve(tokens, k=K, show_progress=False)
        return [ids[i] for i in found[0]]

    return search


def build_tantivy(data: Path, work: Path) -> None:
    import tantivy

    docs = json.loads((data / "passages.json").read_text())
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in ("title", "headings", "body"):
        builder.add_text_field(name, tokenizer_name="en_stem")
    writer = tantivy.Index(builder.build(), path=str(work)).writer()
    for d in docs:
        writer.add_document(
            tantivy.Document(id=d["id"], title=d["title"], headings=d["heading"], body=d["text"])
        )
    writer.commit()
    writer.wait_merging_threads()


def serve_tantivy(data: Path, work: Path) -> Callable[[str], list[str]]:
    import tantivy

    ix = tantivy.Index.open(str(work))
    searcher = ix.searcher()

    def search(text: str) -> list[str]:
        words = " ".join(re.findall(r"\w+", text))  # its query language has its own syntax
        q = ix.parse_query(words, ["title", "headings", "body"], field_boosts={"title": 3.0})
        hits = searcher.search(q, K).hits
        return [searcher.doc(address)["id"][0] for _, address in hits]

    return search


ENGINE_PARTS: dict[str, tuple[Any, Any]] = {
    "helpdeskd": (build_helpdeskd, serve_helpdeskd),
    "whoosh-collector": (None, serve_whoosh_collector),  # serves helpdeskd's index
    "whoosh-raw": (build_whoosh_raw, serve_whoosh_raw),
    "bm25s": (build_bm25s, serve_bm25s),
    "tantivy": (build_tantivy, serve_tantivy),
}


def worker(engine: str, phase: str, data: Path, work: Path, limit: int | None) -> None:
    build, serve = ENGINE_PARTS[engine]
    if phase == "build":
        result = measure_build(lambda: build(data, work))
    else:
        queries = json.loads((data / "queries.json").read_text())[:limit]
        result = measure_serve(lambda: serve(data, work), queries)
    print(json.dumps(result))


# --- the run -----------------------------------------------------------------------------


def available(engine: str) -> bool:
    if engine == "tantivy":
        import importlib.util

        return importlib.util.find_spec("tantivy") is not None
    return True


def run_phase(
    engine: str, phase: str, data: Path, work: Path, limit: int | None = None
) -> dict[str, float] | None:
    cmd = [sys.executable, __file__, "--worker", engine, "--phase", phase]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    proc = subprocess.run(
        [*cmd, "--data", str(data), "--work", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f" {phase} failed:\n{proc.stderr[-2000:]}")
        return None
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_engine(engine: str, data: Path, limit: int | None) -> dict[str, float] | None:
    """Build in one child process, serve the queries in a fresh one."""
    print(f"  {engine} …", end="", flush=True)
    work = data / ("helpdeskd" if engine == "whoosh-collector" else engine)
    work.mkdir(exist_ok=True)
    built: dict[str, float] = {"build_s": float("nan"), "build_peak_mb": float("nan")}
    if ENGINE_PARTS[engine][0] is not None:
        if (result := run_phase(engine, "build", data, work)) is None:
            return None
        built = result
    served = run_phase(engine, "serve", data, work, limit)
    if served is None:
        return None
    print(f" build {built['build_s']:.1f} s, p95 {served['p95_ms']:.1f} ms", flush=True)
    return {**built, **served}


COLUMNS = (
    ("build s", "build_s", ".1f"),
    ("build MB", "build_peak_mb", ".0f"),
    ("open s", "open_s", ".2f"),
    ("p50 ms", "p50_ms", ".2f"),
    ("p95 ms", "p95_ms", ".2f"),
    ("mean ms", "mean_ms", ".2f"),
    ("RSS MB", "rss_mb", ".0f"),
    ("file MB", "file_mb", ".0f"),
    ("R@10", "recall10", ".3f"),
    ("MRR", "mrr10", ".3f"),
)
RATIOS = ("build_s", "p50_ms", "p95_ms", "rss_mb")


def report(results: dict[str, dict[str, float]]) -> None:
    base = results.get("bm25s")
    head = "".join(f"{title:>9}" for title, _, _ in COLUMNS)
    print(f"\n{'engine':<17}{head}   ratio to bm25s: build, p50, p95, RSS")
    for name, r in results.items():
        line = f"{name:<17}" + "".join(f"{r[key]:>9{fmt}}" for _, key, fmt in COLUMNS)
        if base:
            line += "   " + "  ".join(f"{r[key] / base[key]:6.2f}×" for key in RATIOS)
        print(line)
    if base and "helpdeskd" in results:
        ratio = results["helpdeskd"]["p95_ms"] / base["p95_ms"]
        verdict = "met" if ratio <= 2.0 else "NOT met"
        print(f"\naim: helpdeskd p95 within 2× of bm25s: {ratio:.2f}× ({verdict})")
        build = results["helpdeskd"]["build_s"] / base["build_s"]
        verdict = "met" if build <= 6.0 else "NOT met"
        print(f"aim: helpdeskd build within 6× of bm25s: {build:.2f}× ({verdict})")
    print(
        "build MB: the build process's peak RSS; RSS MB: private memory that opening the index "
        "and running the queries added to a fresh process; file MB: index file pages mapped"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="5,000 passages, 200 queries")
    parser.add_argument("--skip", default="", help="comma-separated engines to leave out")
    parser.add_argument(
        "--baseline-queries", type=int, default=200, help="queries for the whoosh baselines"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--query-style",
        choices=("questions", "copied"),
        default="questions",
        help="short customer questions, or mails quoting the target's own words",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.phase, args.data, args.work, args.limit)
        return 0
    if args.quick:
        args.passages, args.queries = 5_000, 200
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        data = Path(tmp)
        print(
            f"generating {args.passages:,} passages and {args.queries:,} {args.query_style} "
            "queries …",
            flush=True,
        )
        write_data(data, args.passages, args.queries, args.seed, args.query_style)
        results = {}
        for engine in ENGINES:
            if engine in skip or not available(engine):
                continue
            limit = args.baseline_queries if engine.startswith("whoosh-") else None
            if (result := run_engine(engine, data, limit)) is not None:
                results[engine] = result
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
