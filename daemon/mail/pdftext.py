"""pdftext: the text of a PDF attachment, read within bounds, or a defect saying why not.

Decides which attachments are read as PDF (a PDF type, or a PDF file name on a generic type,
and the `%PDF-` signature in either case; none of machine mail, which is never answered:
`daemon.mail.message`) and how much of one is read: at most `max_bytes` of file, the first
`max_pages` pages, `max_chars` characters, and no further page once `max_seconds` have passed
(checked between pages: one page cannot be interrupted, pypdf's own limits bound what one
stream may inflate to). The text is extracted by pypdf, a maintained
pure-Python library (no process or native code to sandbox). An encrypted file that does not
open with the empty password, a broken or truncated file, and anything pypdf raises on become
a defect naming the attachment, never an exception. What is read is customer data like the
body: routing, retrieval and the drafter see it labelled "Attachment <name> (PDF text)"
(`daemon.mail.presented`), masked and defused like the body. It runs wherever parse runs, the
parse worker processes included, with the same limits (`[parse]`).
"""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass

from pypdf import Configuration, PasswordType, PdfReader, apply_configuration

# pypdf logs every oddity of a broken file as a warning: what matters becomes a defect here.
logging.getLogger("pypdf").setLevel(logging.ERROR)

PDF_TYPES = frozenset(("application/pdf", "application/x-pdf", "application/acrobat"))
GENERIC_TYPES = frozenset(
    ("application/octet-stream", "application/x-download", "binary/octet-stream")
)
SIGNATURE_WINDOW = 1024
"""The `%PDF-` header may follow junk; readers look this far for it."""
DECODE_BYTES = 16 << 20
"""What one stream may inflate to, down from pypdf's 75 MB: a page's text stream is rarely over
1 MB, and a bomb page then costs a parse worker ~50 MB, not ~150 MB."""
BOUNDS = Configuration().with_overwrites(
    zlib_maximum_output_length=DECODE_BYTES,
    lzw_maximum_output_length=DECODE_BYTES,
    run_length_maximum_output_length=DECODE_BYTES,
    brotli_maximum_output_length=DECODE_BYTES,
    array_based_stream_maximum_output_length=DECODE_BYTES,
    jbig2_maximum_output_length=DECODE_BYTES,
    image_maximum_buffer_size=DECODE_BYTES,
    stream_decoding_work_maximum_length=4 * DECODE_BYTES,
    jbig2dec_binary=None,  # never run an external decoder on a customer's file
)
"""pypdf's resource limits while it reads a customer's file (its `Configuration`, set for the
reading only: a context variable, so other threads keep theirs)."""
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class PdfLimits:
    """How much of one PDF is read (`[parse]` pdf_* keys)."""

    max_pages: int = 10
    max_chars: int = 8_000
    max_bytes: int = 20 << 20
    max_seconds: float = 5.0


PDF_LIMITS = PdfLimits()
NO_PDF = PdfLimits(max_pages=0)
"""No PDF text at all (`[parse] pdf_max_pages = 0`, and machine mail, which is never answered)."""


def is_pdf(content_type: str, filename: str | None, data: bytes) -> bool:
    """A PDF by its type, or a PDF file name on a generic type; and by its signature."""
    named = (filename or "").lower().endswith(".pdf")
    typed = content_type in PDF_TYPES or (named and content_type in GENERIC_TYPES)
    return typed and b"%PDF-" in data[:SIGNATURE_WINDOW]


def read_pdf_text(
    data: bytes, name: str, limits: PdfLimits = PDF_LIMITS
) -> tuple[str | None, list[str]]:
    """The text of the PDF `data` (None when none could be read) and the defects found."""
    label = f"attachment {name!r}"
    if limits.max_pages <= 0:
        return None, []
    if len(data) > limits.max_bytes:
        return None, [f"{label}: PDF of {len(data)} bytes, over {limits.max_bytes}: text not read"]
    try:
        with apply_configuration(BOUNDS):
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not opens(reader):
                return None, [f"{label}: encrypted PDF: text not read"]
            return read_pages(reader, label, limits)
    except Exception as exc:  # pypdf raises many kinds on hostile files: each is a defect
        return None, [f"{label}: unreadable PDF ({type(exc).__name__}): text not read"]


def opens(reader: PdfReader) -> bool:
    """An encrypted PDF opens when it has no user password (only an owner password, which
    restricts printing or copying, not reading)."""
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception:  # an unsupported scheme, or AES without its optional dependency
        return False


def read_pages(reader: PdfReader, label: str, limits: PdfLimits) -> tuple[str | None, list[str]]:
    """Page texts up to the page, character and time limits; a page that fails is skipped."""
    defects: list[str] = []
    texts: list[str] = []
    total = len(reader.pages)
    deadline = time.monotonic() + limits.max_seconds
    read = chars = 0
    for index in range(min(total, limits.max_pages)):
        if chars >= limits.max_chars or time.monotonic() > deadline:
            break
        try:
            page = tidy(reader.pages[index].extract_text())
        except Exception as exc:  # one bad page does not lose the others
            defects.append(f"{label}: page {index + 1} unreadable ({type(exc).__name__})")
            page = ""
        read += 1
        texts.append(page)
        chars += len(page)
    if read < total:
        defects.append(f"{label}: PDF text cut: {read} of {total} pages read")
    text = "\n\n".join(t for t in texts if t)
    if len(text) > limits.max_chars:
        defects.append(f"{label}: PDF text cut at {limits.max_chars} characters")
        text = text[: limits.max_chars]
    return text, defects


def tidy(text: str) -> str:
    """Lines stripped, control characters dropped, blank runs folded to one."""
    lines = [CONTROL.sub("", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
