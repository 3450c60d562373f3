"""mime: the structure and headers of a raw message, read leniently.

Decides how bytes become text and parts when the mail is broken, which real mail often is:
headers are decoded from RFC 2047 encoded words (also when they sit inside quotes or run into
the text around them) and from raw 8-bit bytes (UTF-8, else the message's declared charset,
else cp1252); charsets are read declared → UTF-8 → cp1252 → Latin-1 with a defect recorded for
each fallback; transfer encodings are undone leniently (base64 with bad padding, uuencode);
addresses, dates and Message-IDs are read the way `email.utils` reads them, with a fallback for
what it cannot. The message itself is parsed with the stdlib's `compat32` policy: it never
raises on bad headers and is about three times faster than `policy.default`
(../shared/DEPENDENCIES.md). Hostile structure is bounded before the parser sees it: deep
nesting is refused (headers only, a defect), and large bodies are lifted out of the raw bytes
and hashed in chunks, so a 50 MB attachment is never split into lines or held twice.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.policy
import hashlib
import itertools
import quopri
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import getaddresses, parsedate_tz

from connectors.rfc5322.head import HEAD_END, unfold
from daemon.records import Address, Attachment

MAX_CONTAINERS = 200
"""More multipart boundaries or message/rfc822 parts than this is an attack, not a mail:
the stdlib parser slows down quadratically and overflows the stack past ~1,000 levels."""
MAX_DEPTH = 30
"""Parts nested deeper than this are not read (a defect is recorded)."""
MAX_HEADER_CHARS = 16_384
"""A header value longer than this is read only up to here (a defect is recorded): the longest
real Subject or address list is a few thousand characters."""
LIFT_BYTES = 1 << 20
"""Bodies larger than this are hashed straight from the raw bytes, not parsed."""
LIFT_FILE_BYTES = 4096
"""Non-text parts (files: only their hashes are wanted) larger than this are hashed straight
from the raw bytes too: the stdlib parser would read them line by line, ~1 ms for 60 KB of
base64, more than everything else in the parse of a plain mail."""
LIFT_TEXT_BYTES = 4096
"""Text bodies larger than this (up to `LIFT_BYTES`) are cut out before parsing as well and
given back to their part afterwards, for the same reason: reading 30 KB of text line by line
is most of the stdlib parser's time on a long plain mail, and a leaf body, found between the
same boundary lines the parser looks for, holds no structure for it to find."""

# Charset names seen in real mail that Python does not know, or knows as a narrower set.
CHARSET_ALIASES = {
    "gb2312": "gb18030",  # mailers label GBK/GB18030 text as GB2312
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-gb2312": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",  # as every browser does: 0x80-0x9f are cp1252 punctuation
    "latin1": "cp1252",
    "us-ascii": "cp1252",  # 8-bit bytes under a us-ascii label are almost always cp1252
    "ascii": "cp1252",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "tis-620": "cp874",
    "x-mac-roman": "mac_roman",
    "ansi_x3.4-1968": "cp1252",
    "utf8": "utf-8",
}

ENCODED_WORD = re.compile(r"=\?([^?\s\"]{1,75})\?([bBqQ])\?(.*?)\?=", re.S)
MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class Lifted:
    """A body hashed from the raw bytes before parsing (too large, a file, or a message/* part
    whose exact bytes the stdlib parser would not keep)."""

    size: int
    md5: str
    sha256: str
    defects: tuple[str, ...] = ()
    """What undoing its transfer encoding found, recorded when the part is read."""
    data: bytes | None = None
    """The decoded body, kept only for a part that may be a PDF (its text is read:
    `daemon.mail.pdftext`)."""


@dataclass
class Parsed:
    """The parsed message, what the parser had to say about it, and the hashes of the bodies
    lifted out before parsing (by `id()` of their part)."""

    msg: Message
    defects: list[str]
    lifted: dict[int, Lifted]


# --- parsing -------------------------------------------------------------------------------


def read_message(raw: bytes) -> Parsed:
    """Parse `raw` into a compat32 `Message`; never raises."""
    defects: list[str] = []
    if (
        count_containers(raw) > MAX_DEPTH
        and count_containers(raw := cut_deep_nesting(raw, defects)) > MAX_CONTAINERS
    ):
        defects.append(f"too many nested parts (over {MAX_CONTAINERS}): headers only")
        return Parsed(parse_headers_only(raw), defects, {})
    try:
        msg, lifted = parse_lifted(repair_headers(raw, defects), defects)
    except (RecursionError, ValueError, TypeError, LookupError, IndexError) as exc:
        defects.append(f"unparseable structure ({type(exc).__name__}): headers only")
        return Parsed(parse_headers_only(raw), defects, {})
    defects.extend(stdlib_defects(msg))
    return Parsed(msg, defects, lifted)


def parseable(raw: bytes) -> bytes:
    """`raw` bounded as `read_message` bounds it (deep nesting cut, headers only past
    `MAX_CONTAINERS`): what another reader of the raw bytes (the injection scan, the image
    extractor, both on `policy.default`) may hand to the stdlib parser without a
    RecursionError."""
    if count_containers(raw) <= MAX_DEPTH:
        return raw
    cut = cut_deep_nesting(raw, [])
    return cut if count_containers(cut) <= MAX_CONTAINERS else parse_headers_only(raw).as_bytes()


def parse_lifted(raw: bytes, defects: list[str]) -> tuple[Message, dict[int, Lifted]]:
    """The message parsed with the bodies `lift_bodies` found lifted out (what lifting cut
    is added to `defects`).

    A lifted body the parser does not find as a part (a broken structure it reads otherwise
    than the boundary scan, or a boundary quoted inside a text part) is left in place and the
    message parsed again, so no marker header and no missing body shows up in a text.
    """
    skip: set[int] = set()
    for _ in range(3):  # a second round is rare, a third one hostile
        marker = "X-Helpdeskd-Lifted-" + secrets.token_hex(6)
        cuts: list[str] = []
        prepared, lifted = lift_bodies(raw, marker, skip, cuts)
        msg = email.message_from_bytes(prepared, policy=email.policy.compat32)
        claimed, found = claim_lifted(msg, marker, lifted) if lifted else ({}, set())
        unclaimed = {int(key) for key in lifted if key not in found}
        if not unclaimed:
            defects.extend(cuts)
            return msg, claimed
        skip |= unclaimed
    return email.message_from_bytes(raw, policy=email.policy.compat32), {}


def claim_lifted(
    msg: Message, marker: str, lifted: dict[str, Lifted | bytes]
) -> tuple[dict[int, Lifted], set[str]]:
    """Map each marked part to its hashes, or give it back its text body, and remove the
    marker header again; also return the keys found."""
    by_part, found = {}, set()
    for part in msg.walk():
        key = part.get(marker)
        if key is not None:
            body = lifted.get(str(key))
            if isinstance(body, bytes):  # as the parser would have read it
                part.set_payload(body.decode("ascii", "surrogateescape"))
            elif body is not None:
                by_part[id(part)] = body
            found.add(str(key))
            del part[marker]
    return by_part, found


FIELD = re.compile(rb"^(?:[!-9;-~]+[ \t]*:|[ \t]|From )")


def repair_headers(raw: bytes, defects: list[str]) -> bytes:
    """Join header lines that lost their folding whitespace to the header above, and drop a
    junk first line, so the parser does not end the headers early and lose From or Subject."""
    sep = HEAD_END.search(raw, 0, 200_000)
    if sep is None:
        return raw
    lines = raw[: sep.start()].split(b"\n")
    if all(FIELD.match(line) for line in lines):
        return raw
    fixed = []
    for line in lines:
        if FIELD.match(line):
            fixed.append(line)
        elif fixed:
            fixed.append(b" " + line)
        else:
            defects.append("junk before the first header line dropped")
    defects.append("header lines without folding whitespace joined")
    return b"\n".join(fixed) + raw[sep.start() :]


def parse_headers_only(raw: bytes) -> Message:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    return email.message_from_bytes(head + b"\n\n", policy=email.policy.compat32)


def count_containers(raw: bytes) -> int:
    """An upper bound of the multiparts and attached messages (bytes.count: C speed on 50 MB,
    where a case-insensitive regex takes seconds)."""
    lowered = raw.lower()
    return lowered.count(b"boundary") + lowered.count(b"message/rfc822")


# --- nesting ------------------------------------------------------------------------------


DEEP_TYPE = b"x-deepcut/"
"""Written over `multipart/` in the Content-Type of the outermost part nested too deep (same
length, so no offset moves): the stdlib parser reads that part as one leaf, an attachment."""
DEEP_PARAM = b"deep-cut"
"""Written over `boundary` in every part nested too deep, so no scan looks for its lines."""


def cut_deep_nesting(raw: bytes, defects: list[str]) -> bytes:
    """`raw` with every multipart nested deeper than `MAX_DEPTH` made opaque, found in one
    linear scan of the boundary lines; the stdlib parser recurses once per level (a
    RecursionError past ~1,000) and checks each line against every open boundary."""
    lowered = raw.lower()
    deep = deep_declarations(raw, lowered)
    if not deep:
        return raw
    defects.append(f"nesting deeper than {MAX_DEPTH}: {len(deep)} inner multiparts not read")
    cut = bytearray(raw)
    for at in deep:
        cut[at : at + len(DEEP_PARAM)] = DEEP_PARAM
        near = max(0, at - 2000)  # a Content-Type header is shorter: a bounded look back
        header_start = max(lowered.rfind(b"\n\n", near, at), lowered.rfind(b"\n\r\n", near, at))
        kind = lowered.rfind(b"multipart/", max(header_start, near), at)
        if kind >= 0:
            cut[kind : kind + len(DEEP_TYPE)] = DEEP_TYPE
    return bytes(cut)


def deep_declarations(raw: bytes, lowered: bytes) -> list[int]:
    """Offsets of the `boundary` parameters declared deeper than `MAX_DEPTH`.

    Declarations and boundary lines are taken in the order they stand: a declaration opens
    a level, a boundary line closes every level opened after its own (a closing line its
    own too). Levels past `MAX_DEPTH` are never opened, so their lines are ignored.
    """
    names = declared_boundaries(raw, lowered)
    events = sorted([*((at, name, None) for at, name in names), *boundary_lines(raw, names)])
    open_names: list[bytes] = []
    deep: list[int] = []
    for at, name, closing in events:
        if closing is None:
            if len(open_names) >= MAX_DEPTH:
                deep.append(at)
            else:
                open_names.append(name)
        elif name in open_names:
            level = len(open_names) - 1 - open_names[::-1].index(name)
            del open_names[level + (0 if closing else 1) :]
    return deep


def declared_boundaries(raw: bytes, lowered: bytes) -> list[tuple[int, bytes]]:
    """(offset, name) of every boundary parameter."""
    found: list[tuple[int, bytes]] = []
    pos = 0
    while (pos := lowered.find(b"boundary", pos)) >= 0:
        value = BOUNDARY_VALUE.match(raw, pos + len(b"boundary"))
        name = value.group(1).strip(b"\"' \t") if value else b""
        if name:
            found.append((pos, name))
        pos += len(b"boundary")
    return found


def boundary_lines(
    raw: bytes, declared: list[tuple[int, bytes]]
) -> Iterator[tuple[int, bytes, bool]]:
    """(offset, name, is closing) of every line that is a declared boundary's delimiter."""
    names = {name for _, name in declared}
    pos = 0 if raw.startswith(b"--") else raw.find(b"\n--")
    while pos >= 0:
        start = pos if pos == 0 and raw.startswith(b"--") else pos + 1
        end = raw.find(b"\n", start)
        token = raw[start + 2 : len(raw) if end < 0 else end].rstrip(b" \t\r")
        if token in names:
            yield start, token, False
        elif token.endswith(b"--") and token[:-2] in names:
            yield start, token[:-2], True
        pos = -1 if end < 0 else raw.find(b"\n--", end)


def stdlib_defects(msg: Message) -> list[str]:
    names: list[str] = []
    for part in walk(msg, []):
        names.extend(type(d).__name__ for d in part.defects if type(d).__name__ not in names)
    return names


def walk(msg: Message, defects: list[str], depth: int = 0) -> Iterator[Message]:
    """Every part, depth first, stopping (with a defect) below `MAX_DEPTH`."""
    yield msg
    if not msg.is_multipart():
        return
    if depth >= MAX_DEPTH:
        defects.append(f"parts nested deeper than {MAX_DEPTH} were not read")
        return
    for sub in msg.get_payload():
        if isinstance(sub, Message):
            yield from walk(sub, defects, depth + 1)


# --- lifting large and message/* bodies out before parsing ---------------------------------


PART_TYPE = re.compile(rb"(?im)^content-type:[ \t]*([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)")
PART_CTE = re.compile(rb"(?im)^content-transfer-encoding:[ \t]*([a-z0-9_-]+)")


def lift_bodies(
    raw: bytes,
    marker: str,
    skip: set[int] | frozenset[int] = frozenset(),
    cuts: list[str] | None = None,
) -> tuple[bytes, dict[str, Lifted | bytes]]:
    """Hash message/* bodies (their exact bytes), large bodies and files (then drop them) from
    `raw`, and cut out long text bodies (kept as bytes, to be given back; a body text over
    `LIFT_BYTES` only up to there, said in `cuts`), except the parts starting at an offset in
    `skip`.

    Each lifted part gets a header `<marker>: <offset>` so the parsed part can find its
    hashes or its text; the marker is random per parse, so a sender cannot forge one.
    """
    segments = sorted(set(find_segments(raw)))
    if not segments:
        return raw, {}
    lifted: dict[str, Lifted | bytes] = {}
    pieces: list[bytes] = []
    pos = 0
    for start, body_start, end in segments:
        if start < pos or start in skip:
            continue  # inside a body already dropped, or not a part to the parser
        head = raw[start:body_start]
        kind = PART_TYPE.search(head)
        ctype = kind.group(1).lower() if kind else b"text/plain"
        key = str(start)
        # a part without Content-Type is text/plain, except in a multipart/digest: only the
        # top-level body is taken for text without one
        is_text = kind is not None or start == 0
        if is_text and long_text(ctype, end - body_start, head):
            at = after_mbox_line(raw, start)
            pieces += [raw[pos:at], f"{marker}: {key}\r\n".encode(), raw[at:body_start]]
            lifted[key] = cut_text(raw[body_start:end], cuts)
            pos = end
            continue
        if start == 0 and len(raw) <= LIFT_BYTES:
            continue  # the whole body is lifted only as text, or when it is huge
        big = droppable(ctype, end - body_start)
        if not (big or ctype.startswith(b"message/")):
            continue
        cte = PART_CTE.search(head)
        found: list[str] = []
        body = decode_transfer(raw[body_start:end], cte.group(1).decode() if cte else "", found)
        # kept: a PDF (its text is read later), an attached message sent base64 or
        # quoted-printable (the parser cannot see into it: it is parsed from these bytes)
        encoded = cte is not None and cte.group(1).lower() in (b"base64", b"quoted-printable")
        wanted = b"pdf" in head.lower() or (ctype == b"message/rfc822" and encoded)
        keep = body if wanted else None
        lifted[key] = Lifted(
            len(body), md5_hex(body), hashlib.sha256(body).hexdigest(), tuple(found), keep
        )
        at = after_mbox_line(raw, start)
        pieces += [raw[pos:at], f"{marker}: {key}\r\n".encode()]
        pos = at
        if big:
            pieces += [raw[at:body_start]]
            pos = end
    if not lifted:
        return raw, {}
    pieces.append(raw[pos:])
    return b"".join(pieces), lifted


ATTACHED = re.compile(rb"(?im)^content-disposition:[ \t]*attachment|;[ \t]*(?:file)?name\*?[ \t]*=")


def long_text(ctype: bytes, size: int, head: bytes = b"") -> bool:
    """A text body that is cut out before parsing and given back to its part after: any up to
    `LIFT_BYTES`, a larger one only when it is body text, not an attached file (whose hashes
    must be those of the whole file)."""
    if not ctype.startswith(b"text/") or size <= LIFT_TEXT_BYTES:
        return False
    return size <= LIFT_BYTES or ATTACHED.search(head) is None


def cut_text(body: bytes, cuts: list[str] | None) -> bytes:
    """A text body, cut at the last line break before `LIFT_BYTES` when it is longer (the
    rest is never read: a reply to 50 MB of text would not use more than its start)."""
    if len(body) <= LIFT_BYTES:
        return body
    end = body.rfind(b"\n", 0, LIFT_BYTES) + 1 or LIFT_BYTES
    if cuts is not None:
        cuts.append(f"text body of {len(body)} bytes cut at {end} bytes")
    return body[:end]


def droppable(ctype: bytes, size: int) -> bool:
    """A body that is hashed and dropped before parsing: any large leaf, or a file."""
    if ctype.startswith((b"multipart/", b"message/")):
        return False
    return size > LIFT_BYTES or (size > LIFT_FILE_BYTES and not ctype.startswith(b"text/"))


def after_mbox_line(raw: bytes, start: int) -> int:
    """Where a header may be inserted: after an mbox "From " line at the very top."""
    if start == 0 and raw.startswith(b"From "):
        return raw.find(b"\n") + 1
    return start


def find_segments(raw: bytes) -> Iterator[tuple[int, int, int]]:
    """(header start, body start, body end) of every MIME part, found by its boundary lines.

    Only looked for in mail that could hold such a part; a message/* part inside another one
    is found as well (its bytes are hashed as they stand in the raw message).
    """
    lowered = raw.lower()
    if len(raw) <= LIFT_TEXT_BYTES and b"message/" not in lowered:
        return  # nothing to lift: skip the scan
    for name in boundary_names(raw, lowered):
        marks = list(delimiter_lines(raw, b"--" + name))
        for (_, this_end, closing), (next_start, _, _) in itertools.pairwise(marks):
            if closing:
                continue  # a closing delimiter: what follows is epilogue
            start = this_end
            end = max(start, next_start - line_end_before(raw, next_start))
            yield start, body_start(raw, start, end), end
    sep = HEAD_END.search(raw)
    if sep is not None:
        yield 0, sep.end(), len(raw)


def delimiter_lines(raw: bytes, delimiter: bytes) -> Iterator[tuple[int, int, bool]]:
    """(line start, next line start, is closing) of each boundary line, found with
    bytes.find (a multiline regex over 50 MB takes seconds)."""
    pos = 0
    while (pos := raw.find(delimiter, pos)) >= 0:
        line_end = raw.find(b"\n", pos)
        line_end = len(raw) if line_end < 0 else line_end
        rest = raw[pos + len(delimiter) : line_end].rstrip(b" \t\r")
        at_line_start = pos == 0 or raw[pos - 1 : pos] == b"\n"
        if at_line_start and rest in (b"", b"--"):
            yield pos, min(line_end + 1, len(raw)), rest == b"--"
        pos = line_end


BOUNDARY_VALUE = re.compile(rb'\s*=\s*("[^"\r\n]+"|[^;\s]+)')


def boundary_names(raw: bytes, lowered: bytes) -> set[bytes]:
    """Every boundary a Content-Type in the message declares."""
    names: set[bytes] = set()
    pos = 0
    while (pos := lowered.find(b"boundary", pos)) >= 0:
        pos += len(b"boundary")
        value = BOUNDARY_VALUE.match(raw, pos)
        name = value.group(1).strip(b"\"' \t") if value else b""
        if name:
            names.add(name)
    return names


def line_end_before(raw: bytes, pos: int) -> int:
    """Length of the line break just before `pos` (it belongs to the boundary after it)."""
    if raw[pos - 2 : pos] == b"\r\n":
        return 2
    return 1 if raw[pos - 1 : pos] == b"\n" else 0


def body_start(raw: bytes, start: int, end: int) -> int:
    """Where a part's body begins: after its header block (which may be empty)."""
    for blank in (b"\r\n", b"\n"):
        if raw.startswith(blank, start):
            return start + len(blank)
    sep = HEAD_END.search(raw, start, end)
    return sep.end() if sep else end


# --- transfer encodings and charsets -------------------------------------------------------


def payload_bytes(part: Message) -> bytes:
    """The part's body exactly as it stood in the message (still transfer-encoded)."""
    # Not get_payload(): for a body with 8-bit bytes it returns text already decoded with the
    # declared charset (errors replaced), and we need the bytes to choose the charset ourselves.
    payload = vars(part).get("_payload")
    if isinstance(payload, list):
        return b""
    if isinstance(payload, bytes):
        return payload
    return str(payload).encode("ascii", "surrogateescape")


def decode_transfer(data: bytes, cte: str, defects: list[str]) -> bytes:
    """Undo the Content-Transfer-Encoding, leniently.

    7bit text is returned with LF line ends (the form every tool compares); 8bit and binary
    bodies are returned byte for byte.
    """
    cte = cte.strip().lower()
    if cte == "base64":
        return decode_base64(data, defects)
    if cte == "quoted-printable":
        return quopri.decodestring(data)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return decode_uu(data, defects)
    if cte in ("8bit", "binary"):
        return data
    if cte not in ("", "7bit"):
        defects.append(f"unknown transfer encoding {cte!r}: body kept as it is")
    return data.replace(b"\r\n", b"\n")


def decode_base64(data: bytes, defects: list[str]) -> bytes:
    """base64, ignoring line breaks and junk; bad padding repaired (a stray last character
    dropped, as mail clients do)."""
    try:
        return binascii.a2b_base64(data)  # skips characters outside the alphabet itself
    except binascii.Error:
        pass
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data.split(b"=", 1)[0])
    extra = len(clean) % 4
    if extra == 1:
        defects.append("base64 body with a stray trailing character")
        clean = clean[:-1]
    elif extra:
        clean += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:
        defects.append("base64 body could not be decoded")
        return b""


def decode_uu(data: bytes, defects: list[str]) -> bytes:
    out = []
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    started = not any(line.startswith(b"begin ") for line in lines)
    for line in lines:
        if not started:
            started = line.startswith(b"begin ")
            continue
        if line.strip() in (b"end", b"`") or not line.strip():
            if line.strip() == b"end":
                break
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.append(binascii.a2b_uu(line[:nbytes]))
            except binascii.Error:
                defects.append("uuencoded line could not be decoded")
    return b"".join(out)


def lookup_charset(name: str | None) -> str | None:
    """A Python codec for a charset label, or None when the label is unknown."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower().split("*", 1)[0]
    label = CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except (LookupError, UnicodeError):  # 8-bit bytes in a label (surrogates): no charset
        return None


def decode_text(data: bytes, declared: str | None, defects: list[str], what: str = "body") -> str:
    """Bytes to text: the declared charset, else UTF-8, else cp1252, else Latin-1."""
    codec = lookup_charset(declared)
    if declared and codec is None:
        defects.append(f"{what}: unknown charset {declared!r}")
    for candidate in (codec, "utf-8", "cp1252"):
        if candidate is None:
            continue
        try:
            text = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        if candidate != codec and codec is not None:
            defects.append(f"{what}: not valid {declared}; read as {candidate}")
        return text
    defects.append(f"{what}: no charset fits; read as latin-1")
    return data.decode("latin-1")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# --- headers -------------------------------------------------------------------------------


def raw_header(msg: Message, name: str) -> str | None:
    """The first `name` header as it stood (8-bit bytes kept as surrogates), unfolded."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return unfold(str(value))
    return None


def raw_headers(msg: Message, name: str) -> list[str]:
    return [unfold(str(v)) for k, v in msg.raw_items() if k.lower() == name.lower()]


Hint = Sequence[str]
"""The charsets a message declares, most specific first: how its raw 8-bit headers are most
likely encoded when they are not UTF-8."""


def header_text(msg: Message, name: str, hint: Hint, defects: list[str]) -> str | None:
    value = raw_header(msg, name)
    return None if value is None else decode_words(value, hint, defects)


def decode_words(value: str, hint: Hint = (), defects: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words and raw 8-bit bytes in a header value.

    Lenient like the mail clients people use: encoded words are decoded inside quotes and
    next to other text; the whitespace between two encoded words is dropped; adjacent words
    in one charset are joined before decoding, so a character split across two words survives.
    Linear in the length of the value, and only its first `MAX_HEADER_CHARS` characters are
    read (a defect says so): 200,000 encoded words in a Subject take the stdlib's
    `decode_header` 37 s.
    """
    sink = [] if defects is None else defects
    if len(value) > MAX_HEADER_CHARS:
        sink.append(f"header of {len(value)} characters: only the first {MAX_HEADER_CHARS} read")
        space = value.rfind(" ", 0, MAX_HEADER_CHARS)  # not inside an encoded word
        value = value[: space if space > MAX_HEADER_CHARS // 2 else MAX_HEADER_CHARS]
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []
    pos = 0
    for match in ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        if between and not (pending and between.isspace()):
            flush_words(pending, out, sink)
            out.append(decode_raw(between, hint, sink))
        pending.append((match.group(1), word_bytes(match.group(2), match.group(3))))
        pos = match.end()
    flush_words(pending, out, sink)
    out.append(decode_raw(value[pos:], hint, sink))
    return "".join(out)


def word_bytes(kind: str, text: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")  # raw 8-bit bytes inside a word stay bytes
    if kind in "bB":
        return decode_base64(data, [])
    return binascii.a2b_qp(data.replace(b"_", b" "))


def flush_words(pending: list[tuple[str, bytes]], out: list[str], defects: list[str]) -> None:
    """Decode the pending words, each run of one charset together, and empty the list."""
    for charset, run in itertools.groupby(pending, key=word_charset):
        data = b"".join(data for _, data in run)
        out.append(decode_text(data, charset, defects, "header"))
    pending.clear()


def word_charset(word: tuple[str, bytes]) -> str:
    """The charset of an encoded word, without an RFC 2231 language suffix."""
    return word[0].lower().split("*", 1)[0]


def decode_raw(text: str, hint: Hint, defects: list[str]) -> str:
    """Header text outside encoded words: ASCII, or raw 8-bit bytes kept as surrogates."""
    if text.isascii() or not has_surrogates(text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for codec in filter(None, map(lookup_charset, hint)):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    defects.append("header: raw 8-bit bytes read as cp1252")
    return data.decode("cp1252", "replace")


def has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def read_addresses(
    msg: Message, name: str, hint: Hint, defects: list[str], *, local: bool = False
) -> list[Address]:
    """Every address in every `name` header; names decoded after the list is split, so an
    encoded comma never splits an address. Addresses without a domain (MAILER-DAEMON) are
    kept only when `local` is set; an encoded word as the address is no address (a defect)."""
    words: list[str] = []
    values = [ENCODED_WORD.sub(lambda m: keep_word(m, words), v) for v in raw_headers(msg, name)]
    found = []
    for display, addr in split_addresses(values):
        email_addr = clean_address(decode_raw(addr, hint, defects))
        if words and re.search(r"EncWord\d+X", email_addr):  # RFC 2047 §5: never in an addr-spec
            defects.append(f"{name}: an encoded word as the address: ignored")
            continue
        if "@" in email_addr or (local and re.fullmatch(r"[\w.+-]+", email_addr)):
            display = re.sub(r"EncWord(\d+)X", lambda m: words[int(m.group(1))], display)
            found.append(Address(clean_name(decode_words(display, hint, defects)), email_addr))
    return found


ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = rf"{ATEXT}(?:\.{ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
PLAIN_MAILBOX = re.compile(
    rf"[ \t]*(?:((?:{ATEXT}[ \t]+)*?{ATEXT})[ \t]*<({PLAIN_ADDRESS})>|<({PLAIN_ADDRESS})>"
    rf"|({PLAIN_ADDRESS}))[ \t]*"
)


def split_addresses(values: list[str]) -> list[tuple[str, str]]:
    """`email.utils.getaddresses(values)`, with a shortcut for the plain forms nearly every
    header has ("Name <a@b.c>", "a@b.c", "<a@b.c>", comma-separated): the same pairs at a
    tenth of the cost (getaddresses walks each character in Python and parses twice since
    the 2023 security fix). Anything else (quotes, comments, groups, 8-bit) goes to it."""
    pairs = []
    for value in values:
        for piece in value.split(","):
            match = PLAIN_MAILBOX.fullmatch(piece)
            if match is None:
                return getaddresses(values)
            name, routed, bracketed, bare = match.groups()
            pairs.append((" ".join(name.split()), routed) if name else ("", bracketed or bare))
    return pairs


def keep_word(match: re.Match[str], words: list[str]) -> str:
    """A placeholder atom for an encoded word, so a comma inside it cannot split the list."""
    words.append(match.group(0))
    return f"EncWord{len(words) - 1}X"


def clean_address(addr: str) -> str:
    return addr.strip().strip("<>").strip()


def clean_name(name: str) -> str:
    return " ".join(name.replace('\\"', '"').strip().strip("\"'").split())


def read_msgids(value: str | None) -> list[str]:
    """Message-IDs in a header, without angle brackets; a bare id when none is bracketed."""
    if not value:
        return []
    ids = MSGID.findall(value)
    if ids:
        return ids
    return [token.strip("<>,") for token in value.split() if "@" in token]


def read_date(value: str | None, defects: list[str]) -> str | None:
    """An RFC 5322 date as ISO 8601 (UTC when the zone is missing)."""
    if not value:
        return None
    parts = parsedate_tz(value)
    if parts is None:
        defects.append(f"unreadable Date header {value[:60]!r}")
        return None
    offset = parts[9] or 0
    try:
        stamp = datetime(*parts[:6], tzinfo=UTC).timestamp() - offset
        moment = datetime.fromtimestamp(stamp, UTC)
        return moment.astimezone(timezone(timedelta(seconds=offset))).isoformat()
    except (ValueError, OverflowError, OSError):
        defects.append(f"impossible Date header {value[:60]!r}")
        return None


# --- parts ---------------------------------------------------------------------------------


def charset_hint(msg: Message) -> list[str]:
    """Every charset the message declares; multi-byte ones first (they fail loudly on the
    wrong bytes, single-byte ones never do), Shift_JIS and EUC-JP tried for ISO-2022-JP."""
    found: list[str] = []
    for index, part in enumerate(walk(msg, [])):
        charset = (part_charset(part) or "").lower()
        if charset and charset not in found:
            found.append(charset)
        if index > 50:
            break
    if any("2022-jp" in c for c in found):
        found += ["cp932", "euc-jp"]
    return sorted(found, key=lambda c: lookup_charset(c) in SINGLE_BYTE)


SINGLE_BYTE = {"cp1252", "latin-1", "iso8859-15", "ascii", "cp1250", "cp1251", "iso8859-2"}


def part_charset(part: Message) -> str | None:
    value = part.get_param("charset")
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value else None


def part_filename(part: Message, hint: Hint, defects: list[str]) -> str | None:
    """filename= (RFC 2231 too), else name=, decoded; None when the part has none."""
    try:
        name = part.get_filename() or part.get_param("name")
    except (ValueError, LookupError, TypeError):
        defects.append("unreadable filename parameter")
        return None
    if isinstance(name, tuple):
        name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return None
    return decode_words(str(name), hint, defects).strip() or None


def part_data(part: Message, parsed: Parsed, defects: list[str]) -> bytes | Lifted:
    """The decoded body of a leaf part, or the hashes of a body lifted before parsing."""
    lifted = parsed.lifted.get(id(part))
    if lifted is not None:
        defects.extend(lifted.defects)
        return lifted
    if part.is_multipart():  # an attached message the raw scan did not find: re-serialize it
        return serialize_payload(part, defects)
    cte = str(part.get("Content-Transfer-Encoding", ""))
    return decode_transfer(payload_bytes(part), cte, defects)


def hashes(body: bytes | Lifted) -> Lifted:
    """Size and hashes of a part's decoded body (worked out only for attachments)."""
    if isinstance(body, Lifted):
        return body
    return Lifted(len(body), md5_hex(body), hashlib.sha256(body).hexdigest())


def serialize_payload(part: Message, defects: list[str]) -> bytes:
    try:
        return b"\n".join(sub.as_bytes() for sub in part.get_payload() if isinstance(sub, Message))
    except (ValueError, TypeError, LookupError, UnicodeError) as exc:
        defects.append(f"attached message could not be re-serialized ({type(exc).__name__})")
        return b""


def make_attachment(part: Message, filename: str | None, digest: Lifted) -> Attachment:
    disposition = (part.get_content_disposition() or "").lower()
    raw_cid = str(part.get("Content-ID") or "").strip()
    content_id = (read_msgids(raw_cid) or [raw_cid])[0] or None
    return Attachment(
        filename=filename,
        content_type=part.get_content_type(),
        size=digest.size,
        md5=digest.md5,
        sha256=digest.sha256,
        inline=disposition == "inline" or (not disposition and content_id is not None),
        content_id=content_id,
    )
