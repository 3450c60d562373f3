"""PII masking: configured patterns (card numbers, IBANs, …) removed before text leaves us.

Decides what counts as personal data to mask and what replaces it. Each configured pattern
replaces its matches with `[name]`; with `checksums` on, a digit run counts as a card number
only when it passes Luhn and an IBAN only when it passes mod-97, so order numbers and phone
numbers survive. The same masker runs on every prompt sent to a model and (through
`daemon.logs`) on every log line; the log side is process-wide because logging is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial

from daemon.config import PiiSettings


def luhn_ok(digits: str) -> bool:
    nums = [int(c) for c in digits if c.isdigit()]
    if not 13 <= len(nums) <= 19:
        return False
    total = 0
    for i, n in enumerate(reversed(nums)):
        if i % 2 == 1:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rotated = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rotated)
    return int(number) % 97 == 1


CHECKS: dict[str, Callable[[str], bool]] = {"card": luhn_ok, "iban": iban_ok}


class PiiMasker:
    """Masks every configured pattern in a text."""

    def __init__(self, patterns: Mapping[str, str], checksums: bool = True) -> None:
        self.patterns = [(name, re.compile(rx)) for name, rx in patterns.items()]
        self.checksums = checksums

    @classmethod
    def from_settings(cls, cfg: PiiSettings) -> PiiMasker:
        return cls(cfg.patterns, cfg.checksums)

    def mask(self, text: str) -> str:
        for name, pattern in self.patterns:
            text = pattern.sub(partial(self.replacement, name), text)
        return text

    def replacement(self, name: str, match: re.Match[str]) -> str:
        found = match.group(0)
        check = CHECKS.get(name) if self.checksums else None
        if check is not None and not check(found):
            return found
        return f"[{name}]"


_log_masker: PiiMasker | None = PiiMasker(PiiSettings().patterns)


def set_log_masker(masker: PiiMasker | None) -> None:
    """Install the configured masker for log lines (None: mask nothing)."""
    global _log_masker
    _log_masker = masker


def mask_for_logs(text: str) -> str:
    return _log_masker.mask(text) if _log_masker is not None else text
