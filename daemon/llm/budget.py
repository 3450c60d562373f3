"""Token budget: counting tokens, and cutting a prompt's parts until it fits.

Decides how many tokens a text is and what gives way when a prompt is too long. Counting uses
quicktok's real tokenizer when the model's encoding is known offline (llama3, qwen3, cl100k,
o200k — configured per model or guessed from its name); otherwise a conservative chars/3
estimate. Either way the count is scaled by a factor learned from the prompt tokens the server
reports, so chat-template overhead and unknown tokenizers are calibrated away. What gives way,
in order: the new message is cut (head and tail kept), older turns are summarized, passages
are dropped from the lowest rank up, tool results are capped — so every prompt fits at any
thread length.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from daemon.errors import ConfigError

MESSAGE_OVERHEAD = 6
"""Tokens a chat template adds around each message (role markers); calibrated anyway."""
IMAGE_TOKENS = 1100
"""What one image part is counted as (providers bill 85–1,600); calibrated anyway."""
CUT_MARK = "\n[… {n} characters cut to fit the token budget …]\n"

NAME_HINTS = (
    ("llama", "llama3"),
    ("qwen", "qwen3"),
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-oss", "o200k_harmony"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
)


def resolve_encoding(tokenizer: str, model: str) -> Any | None:
    """The quicktok tokenizer for a model, or None for the chars/3 estimate."""
    if tokenizer == "estimate":
        return None
    try:
        import quicktok
    except ImportError:  # the estimate still bounds every prompt
        return None
    if tokenizer != "auto":
        try:
            return quicktok.get_encoding(tokenizer)
        except (RuntimeError, KeyError, ValueError, OSError):
            raise ConfigError(
                [("models.*.tokenizer", f"quicktok has no encoding {tokenizer!r}")]
            ) from None
    try:
        return quicktok.encoding_for_model(model)
    except KeyError:
        pass
    name = model.lower().rsplit("/", 1)[-1]
    for hint, encoding in NAME_HINTS:
        if hint in name:
            return quicktok.get_encoding(encoding)
    return None


class TokenCounter:
    """Counts tokens for one model, calibrated by the usage its server reports."""

    def __init__(self, encoding: Any | None, *, name: str = "") -> None:
        self.encoding = encoding
        self.name = name
        self.factor = 1.0
        self._lock = threading.Lock()

    @property
    def method(self) -> str:
        return "quicktok" if self.encoding is not None else "chars/3"

    def raw(self, text: str) -> int:
        if not text:
            return 0
        if self.encoding is not None:
            return len(self.encoding.encode(text))
        return math.ceil(len(text) / 3)

    def count(self, text: str) -> int:
        return math.ceil(self.raw(text) * self.factor)

    def raw_messages(self, messages: Iterable[dict[str, Any]]) -> int:
        total = 0
        for msg in messages:
            total += MESSAGE_OVERHEAD + self.raw_content(msg.get("content"))
            for call in msg.get("tool_calls") or ():
                fn = call.get("function", {})
                total += self.raw(fn.get("name", "")) + self.raw(fn.get("arguments", ""))
        return total

    def raw_content(self, content: Any) -> int:
        if isinstance(content, str):
            return self.raw(content)
        total = 0
        for part in content or ():
            total += self.raw(part.get("text", "")) if part.get("type") == "text" else IMAGE_TOKENS
        return total

    def count_messages(self, messages: Iterable[dict[str, Any]]) -> int:
        return math.ceil(self.raw_messages(messages) * self.factor)

    def calibrate(self, raw_estimate: int, reported: int) -> None:
        """Move the factor towards what the server counted (5% margin, bounded)."""
        if raw_estimate < 50 or reported <= 0:
            return  # tiny prompts are all overhead: they would skew the factor
        observed = reported / raw_estimate * 1.05
        with self._lock:
            self.factor = min(max(0.8 * self.factor + 0.2 * observed, 0.7), 3.0)

    def trim(self, text: str, max_tokens: int) -> str:
        """`text` cut to at most `max_tokens` (its head and tail kept, the cut marked)."""
        if self.count(text) <= max_tokens:
            return text
        mark = self.count(CUT_MARK.format(n=len(text)))
        target = max_tokens - mark
        if target < 8:  # no room for the mark: a plain head
            return self.head(text, max_tokens)
        keep = len(text)
        for _ in range(12):
            cut = cut_middle(text, keep)
            used = self.count(cut)
            if used <= max_tokens:
                return cut
            keep = int(keep * target / max(used - mark, 1) * 0.95)
        return self.head(text, max_tokens)

    def head(self, text: str, max_tokens: int) -> str:
        keep = len(text)
        while keep > 0 and self.count(text[:keep]) > max_tokens:
            keep = int(keep * max_tokens / max(self.count(text[:keep]), 1) * 0.9)
        return text[:keep]


def cut_middle(text: str, keep: int) -> str:
    """Keep two thirds of `keep` from the head and one third from the tail."""
    if keep <= 0:
        return ""
    head = keep * 2 // 3
    tail = keep - head
    return text[:head] + CUT_MARK.format(n=len(text) - keep) + (text[-tail:] if tail else "")


def take_ranked(counter: TokenCounter, items: Sequence[str], budget: int, each: int) -> list[str]:
    """Items in rank order, each capped at `each` tokens, while they fit in `budget`."""
    taken: list[str] = []
    left = budget
    for item in items:
        text = counter.trim(item, min(each, left))
        cost = counter.count(text) + MESSAGE_OVERHEAD
        if not text or cost > left:
            break
        taken.append(text)
        left -= cost
    return taken
