"""parallel: parse a backlog in worker processes while the main process writes the store.

Decides how a long run of messages (a backfill, a `run` catching up after downtime) uses more
than one core. Parsing is pure CPU work on immutable bytes, so a batch is handed to worker
processes (`[pipeline] parse_processes`, started with `spawn`: they import only the mail
parser, not the store) and parsed there while the main process records and screens the batch
before it; the parse step then takes the results from the step's context instead of parsing
again. Nothing is written by a worker, so a worker that dies loses nothing: its batch is parsed
in the main process as if there were no pool, where a message that kills the process is found
by the pipeline's crash counting as always.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from daemon.mail.language import identifier
from daemon.records import ParsedMail

log = logging.getLogger("helpdeskd.parallel")

TASK_MESSAGES = 10
"""Messages per task sent to a worker: few enough that the workers share a batch evenly, many
enough that the hand-over costs little."""


class Ahead:
    """The parse results of one batch, on their way from the workers."""

    def __init__(self, pks: list[int], futures: list[Future[list[ParsedMail]]]) -> None:
        self.pks = pks
        self.futures = futures

    def result(self) -> dict[int, ParsedMail]:
        """The batch's results by message id; empty when the workers failed (the parse step
        then parses in this process)."""
        parsed: list[ParsedMail] = []
        try:
            for future in self.futures:
                parsed += future.result()
        except Exception as exc:  # a dead worker, or anything else it raised: only speed lost
            log.warning("parse workers failed (%r): parsing this batch in-process", exc)
            return {}
        return dict(zip(self.pks, parsed, strict=True))


NOTHING_AHEAD = Ahead([], [])


class ParsePool:
    """Worker processes that parse ahead; with `processes` 0 it parses nothing ahead."""

    def __init__(self, processes: int, trusted: Sequence[str] = ()) -> None:
        self.processes = processes
        self.trusted = tuple(trusted)
        self.executor: ProcessPoolExecutor | None = None
        self.broken = False

    def submit(self, raws: Mapping[int, bytes]) -> Ahead:
        """Start parsing `raws` (message id -> bytes) in the workers; returns at once."""
        if not raws or self.processes < 1 or self.broken:
            return NOTHING_AHEAD
        from daemon.mail.message import parse_many  # not at import: see `warm_up`

        pks = list(raws)
        try:
            executor = self.start()
            futures = [
                executor.submit(parse_many, [raws[pk] for pk in part], self.trusted)
                for part in slices(pks, TASK_MESSAGES)
            ]
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            log.warning("parse workers unavailable (%s): parsing in-process", exc)
            self.broken = True
            return NOTHING_AHEAD
        return Ahead(pks, futures)

    def start(self) -> ProcessPoolExecutor:
        """The workers, started on first use (`__enter__` starts them at once, so they import
        the parser and load the language model while the caller connects and fetches)."""
        if self.executor is None:
            self.executor = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
            )
        return self.executor

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def __enter__(self) -> ParsePool:
        if self.processes > 0:
            try:
                executor = self.start()
                for _ in range(self.processes):  # spawn them now, not at the first batch
                    executor.submit(int)
            except (OSError, RuntimeError) as exc:
                log.warning("parse workers unavailable (%s): parsing in-process", exc)
                self.broken = True
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def warm_up() -> None:
    """A worker's start: the language model loaded (from its prepared copy, see
    `daemon.mail.language.identifier`), the parser imported, then everything so far frozen
    out of the garbage collector's way (see `daemon.cli.common.open_services`)."""
    identifier()
    import daemon.mail.message  # noqa: F401

    gc.freeze()


def slices(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
