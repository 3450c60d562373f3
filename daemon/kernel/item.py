"""What a stage works on: the frozen `Item`, one message and the committed results of the
stages before it.

A stage returns a new `Item` (via `dataclasses.replace`) or an outcome; the pipeline writes the
item's fields back to the message row in the same transaction as the state change
(`daemon.item_rows`). Stages do their slow work (LLM calls, tool calls, searches) before their
first write, so a database lock is never held across a network call.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.kernel.outcomes import Outcome
from daemon.records import DraftedReply, ParsedMail, Passage, Route


@dataclass(frozen=True, slots=True)
class Item:
    pk: int
    source: str
    raw: bytes
    stub_reason: str | None
    ticket_id: int | None
    parsed: ParsedMail | None
    route: Route | None
    passages: tuple[Passage, ...]
    draft: DraftedReply | None
    draft_id: int | None
    decision: Outcome | None

    @property
    def mail(self) -> ParsedMail:
        """The parsed mail; stages after parse may rely on it."""
        if self.parsed is None:
            raise RuntimeError(f"message {self.pk}: stage run before parse")
        return self.parsed
