"""Subject lines: the customer's subject without reply/forward prefixes and our ticket tag.

Decides what a subject "is" once `Re:`/`Fwd:` and their translations (`AW:`, `SV:`, `Antw:`,
`WG:`, `TR:`, `RIF:`, `R:`, `VS:`, with or without a counter like `Re[2]:`) and the ticket tag
`[#123]` are taken off, repeatedly, with whitespace collapsed. Pure text: a new ticket's subject
(`daemon.stages.thread`) and our replies' subjects (`daemon.outgoing_mail`) both use it.
"""

from __future__ import annotations

import re

PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|wg|tr|rif|r|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)


def strip_subject(subject: str, tag: str = "#") -> str:
    """'Re: Fwd:  Re: [#12] Software' -> 'Software'."""
    without_tag = re.sub(r"\s*\[" + re.escape(tag) + r"\d+\]\s*", " ", subject)
    previous = None
    while previous != without_tag:
        previous = without_tag
        without_tag = PREFIX.sub("", without_tag).strip()
    return " ".join(without_tag.split())
