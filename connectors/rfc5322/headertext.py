"""headertext: what of a stranger's text may stand in a header we write.

Decides the header values we emit from text we did not write (a customer's Subject and display
name, a helpdesk's ticket fields, an agent's address): no control character (CR, LF, NUL, the
rest of C0 and C1, Unicode line separators), whitespace collapsed, no RFC 2047 encoded word
(the email package decodes one *when the value is set*, so `=?utf-8?q?=0D=0A?=` typed as text
would become a real line break: it is written `= ?` instead), and a length cap. An address is
written only when it is a plain ASCII addr-spec; anything else is refused, not repaired.
"""

from __future__ import annotations

import re
from email.headerregistry import Address

MAX_SUBJECT = 200
"""Characters of a customer's subject kept in ours (RFC 5322 recommends 78 per line)."""
MAX_NAME = 100
"""Characters of a display name kept."""
MAX_ADDRESS = 254
"""RFC 5321's limit for a forward path, minus the brackets."""

CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]+")
ENCODED_WORD_START = re.compile(r"=\?")
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
ADDR_SPEC = re.compile(rf"{ATEXT}(?:\.{ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def clean_text(value: str, limit: int) -> str:
    """`value` as one safe header line: controls become spaces, whitespace runs one space,
    encoded-word openers broken up, cut to `limit` characters (an ellipsis marks the cut)."""
    head = value[: limit * 8]  # bounded work on a hostile megabyte
    text = ENCODED_WORD_START.sub("= ?", " ".join(CONTROLS.sub(" ", head).split()))
    if len(text) <= limit and len(head) == len(value):
        return text
    return text[: limit - 1].rstrip() + "…"


def is_plain_address(addr: str) -> bool:
    """A dot-atom local part at a dotted domain, ASCII only: what we write into To/From."""
    return len(addr) <= MAX_ADDRESS and ADDR_SPEC.fullmatch(addr) is not None


def mailbox(name: str, addr: str) -> Address:
    """The header Address for a name and an address; ValueError when the address is not a
    plain addr-spec (a hostile one is refused rather than repaired into someone else's)."""
    if not is_plain_address(addr):
        raise ValueError(f"the address {addr[:80]!a} is not one we write into a header")
    return Address(display_name=clean_text(name, MAX_NAME), addr_spec=addr)
