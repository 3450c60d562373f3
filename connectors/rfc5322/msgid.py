"""msgid: which Message-IDs are real ones, read from a header or written into ours.

Decides what a msg-id is (RFC 5322 §3.6.4: `<id-left@id-right>`, id-left a dot-atom-text,
id-right a dot-atom-text or a no-fold-literal `[...]`; printable ASCII only), at most
`MAX_ID_LENGTH` characters, and never holding an RFC 2047 encoded word (`=?cs?q?...?=` is
valid atext, but the email package and many mail clients decode it, and its CR/LF then splits
the header it is copied into). Ids are kept without their angle brackets. Parsing keeps only
valid ids (each one dropped is a defect), so threading and our replies never see another; and
our In-Reply-To/References are written from them raw — never encoded, folded between ids, the
thread's first id and its latest ones when there are too many.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ID_LENGTH = 250
"""Longest id kept (without brackets): real ones are under 120; 998 is a whole header line."""
MAX_PARSED_IDS = 100
"""References kept from one header (the first and the latest): a thread, not a payload."""
MAX_REPLY_IDS = 20
"""References written into our reply (RFC 5322 §3.6.4 allows trimming all but the first)."""
MAX_DEFECTS = 3
"""Dropped ids of one header named in defects; the rest are counted."""

ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = rf"{ATEXT}(?:\.{ATEXT})*"
NO_FOLD_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]*\]"
VALID_ID = re.compile(rf"{DOT_ATOM}@(?:{DOT_ATOM}|{NO_FOLD_LITERAL})")
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?")
BRACKETED = re.compile(r"<([^<>]*)>")


def is_valid(msgid: str) -> bool:
    """True for an id (without brackets) we may store, thread on and write into a header."""
    return (
        len(msgid) <= MAX_ID_LENGTH
        and VALID_ID.fullmatch(msgid) is not None
        and ENCODED_WORD.search(msgid) is None
    )


def extract_ids(value: str | None, defects: list[str], header: str) -> list[str]:
    """The valid ids in a Message-ID, In-Reply-To or References value, in order, without
    brackets; each invalid one is dropped with a defect. A value with no bracketed id is read
    as bare ids (`Message-ID: abc@host`, which some mailers write)."""
    if not value:
        return []
    found = BRACKETED.findall(value)
    if not found:
        found = [token.strip("<>,") for token in value.split() if "@" in token]
    ids = [c for c in found if is_valid(c)]
    invalid = [c for c in found if not is_valid(c)]
    for candidate in invalid[:MAX_DEFECTS]:
        defects.append(f"{header}: invalid msg-id {shown(candidate)} dropped")
    if len(invalid) > MAX_DEFECTS:
        defects.append(f"{header}: {len(invalid) - MAX_DEFECTS} more invalid msg-ids dropped")
    if not found and value.strip():
        defects.append(f"{header}: no msg-id in {shown(value)}")
    return ids


def keep_thread(ids: list[str], limit: int) -> list[str]:
    """At most `limit` ids: the first (the thread's root) and the latest."""
    if len(ids) <= limit:
        return ids
    return [ids[0], *ids[len(ids) - limit + 1 :]] if limit > 1 else ids[-limit:]


def reply_ids(message_id: str | None, references: Iterable[str]) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for a reply to a message: only valid ids, no duplicates,
    capped to `MAX_REPLY_IDS`; (None, []) when the message has no valid id."""
    if message_id is None or not is_valid(message_id):
        return None, []
    chain = list(dict.fromkeys(r for r in references if is_valid(r) and r != message_id))
    return message_id, keep_thread([*chain, message_id], MAX_REPLY_IDS)


def fold_ids(ids: Iterable[str]) -> str:
    """Bracketed ids one per line (`<a>\\n <b>`): a raw header value whose every line stays
    far below 998 characters, whatever the number of ids."""
    checked = [i for i in ids if is_valid(i)]  # never write an invalid id, whoever asks
    return "\n ".join(f"<{i}>" for i in checked)


def shown(text: str) -> str:
    """A short, printable rendering of hostile header text for a defect."""
    return ascii(text[:80]) + ("…" if len(text) > 80 else "")
