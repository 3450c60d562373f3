"""Real PDFs for tests and benchmarks, written with pypdf's writer: text pages and a bomb."""

from __future__ import annotations

import io
import zlib

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject


def font_resources(writer: PdfWriter) -> DictionaryObject:
    """/Resources naming Helvetica /F1, the one font every PDF reader has built in."""
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    return DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})


def make_pdf(pages: list[str], password: str | None = None, owner: str | None = None) -> bytes:
    """A PDF with one line of text per page (optionally encrypted, RC4: no extra package)."""
    writer = PdfWriter()
    resources = font_resources(writer)
    for text in pages:
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = resources
    if password is not None:
        writer.encrypt(password, owner_password=owner, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bomb_pdf() -> bytes:
    """One page whose content stream inflates to 92 MB of text operators (~0.6 MB deflated),
    more than pypdf's 75 MB inflation limit."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    page[NameObject("/Resources")] = font_resources(writer)
    deflate = zlib.compressobj(1)
    chunk = b"BT /F1 12 Tf (a) Tj ET\n" * 50_000
    stream = StreamObject()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream._data = b"".join(deflate.compress(chunk) for _ in range(80)) + deflate.flush()
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
