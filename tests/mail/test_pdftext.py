"""pdftext: PDF attachments' text within bounds; every broken PDF a defect, never a crash.

The PDFs are real files written here with pypdf's writer (a Helvetica text line per page),
then damaged the ways mail brings them: encrypted, cut short, not a PDF at all, thousands of
pages, a stream that inflates without end."""

from __future__ import annotations

import hashlib

from daemon.mail.message import parse_bytes
from daemon.mail.pdftext import PDF_LIMITS, PdfLimits, is_pdf, read_pdf_text
from tests.factories import mime_mail
from tests.pdfs import bomb_pdf, make_pdf


def test_text_of_every_page() -> None:
    text, defects = read_pdf_text(make_pdf(["Invoice 48213", "Total 59.90 EUR"]), "i.pdf")
    assert text == "Invoice 48213\n\nTotal 59.90 EUR"
    assert defects == []


def test_encrypted_pdf_is_a_defect() -> None:
    text, defects = read_pdf_text(make_pdf(["secret"], password="pw"), "bank.pdf")
    assert text is None
    assert defects == ["attachment 'bank.pdf': encrypted PDF: text not read"]


def test_owner_password_only_pdf_is_read() -> None:
    data = make_pdf(["Invoice 7"], password="", owner="owner-secret")
    assert read_pdf_text(data, "o.pdf") == ("Invoice 7", [])


def test_truncated_and_junk_pdfs_are_defects() -> None:
    whole = make_pdf(["Invoice 48213"])
    for data, name in (
        (whole[: len(whole) // 3], "cut.pdf"),
        (b"%PDF-1.7\n\x00\xff junk", "j.pdf"),
    ):
        text, defects = read_pdf_text(data, name)
        assert text is None
        assert len(defects) == 1
        assert defects[0].startswith(f"attachment {name!r}: unreadable PDF (")


def test_page_and_character_limits_are_defects() -> None:
    data = make_pdf([f"Page {n} of the catalogue" for n in range(1, 501)])
    text, defects = read_pdf_text(data, "catalogue.pdf", PdfLimits(max_pages=20))
    assert text is not None and text.count("Page ") == 20
    assert defects == ["attachment 'catalogue.pdf': PDF text cut: 20 of 500 pages read"]
    text, defects = read_pdf_text(data, "catalogue.pdf", PdfLimits(max_pages=20, max_chars=50))
    assert text is not None and len(text) == 50
    assert "attachment 'catalogue.pdf': PDF text cut at 50 characters" in defects


def test_size_limit_reads_nothing() -> None:
    data = make_pdf(["x"])
    text, defects = read_pdf_text(data, "x.pdf", PdfLimits(max_bytes=100))
    assert text is None
    assert defects == [f"attachment 'x.pdf': PDF of {len(data)} bytes, over 100: text not read"]


def test_inflation_bomb_is_bounded() -> None:
    data = bomb_pdf()
    assert len(data) < 1_000_000
    text, defects = read_pdf_text(data, "bomb.pdf")
    assert text == ""  # pypdf stops inflating at its own limit: the page is a defect
    assert defects == ["attachment 'bomb.pdf': page 1 unreadable (LimitReachedError)"]


def test_is_pdf_by_type_or_name_and_signature() -> None:
    pdf = make_pdf(["x"])
    assert is_pdf("application/pdf", None, pdf)
    assert is_pdf("application/octet-stream", "Invoice.PDF", pdf)
    assert not is_pdf("application/octet-stream", "invoice.bin", pdf)
    assert not is_pdf("application/pdf", "fake.pdf", b"MZ\x90\x00 not a pdf")


def mail_with(attachments: tuple[tuple[str, str, bytes], ...]) -> bytes:
    return mime_mail(
        sender="Anna Berg <anna@example.org>",
        to="support@example.com",
        subject="Invoice question",
        message_id="<p1@example.org>",
        date="Tue, 08 Dec 2026 10:00:00 +0100",
        body="Why was I charged twice? See the invoice.",
        attachments=attachments,
    )


def test_parse_reads_small_and_lifted_pdfs_into_the_attachment() -> None:
    small = make_pdf(["Invoice 48213"])
    large = make_pdf([f"Line {n} of a long statement" for n in range(200)])
    assert len(small) < 4096 < len(large)  # one parsed in place, one lifted before parsing
    parsed = parse_bytes(
        mail_with(
            (
                ("invoice.pdf", "application/pdf", small),
                ("statement.pdf", "application/octet-stream", large),
                ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000),
            )
        )
    )
    texts = {a.filename: a.text for a in parsed.attachments}
    assert texts["invoice.pdf"] == "Invoice 48213"
    assert (texts["statement.pdf"] or "").startswith("Line 0 of a long statement")
    assert texts["photo.png"] is None
    assert parsed.attachments[0].sha256 == hashlib.sha256(small).hexdigest()
    cut = f"attachment 'statement.pdf': PDF text cut: {PDF_LIMITS.max_pages} of 200 pages read"
    assert parsed.defects == (cut,)


def test_parse_records_a_broken_pdf_as_a_defect_and_keeps_the_rest() -> None:
    parsed = parse_bytes(
        mail_with((("bank.pdf", "application/pdf", make_pdf(["secret"], password="pw")),))
    )
    assert parsed.reply_text == "Why was I charged twice? See the invoice."
    assert parsed.attachments[0].text is None
    assert "attachment 'bank.pdf': encrypted PDF: text not read" in parsed.defects


def test_parse_limits_reach_the_reader() -> None:
    data = make_pdf(["one", "two", "three"])
    parsed = parse_bytes(
        mail_with((("a.pdf", "application/pdf", data),)), pdf=PdfLimits(max_pages=1)
    )
    assert parsed.attachments[0].text == "one"
    assert "attachment 'a.pdf': PDF text cut: 1 of 3 pages read" in parsed.defects


def test_machine_mail_pdfs_are_not_read() -> None:
    raw = mail_with((("report.pdf", "application/pdf", make_pdf(["Weekly report"])),))
    auto = raw.replace(b"Subject:", b"Auto-Submitted: auto-generated\nSubject:", 1)
    parsed = parse_bytes(auto)
    assert parsed.auto.is_auto
    assert parsed.attachments[0].text is None and parsed.defects == ()
    assert parse_bytes(raw).attachments[0].text == "Weekly report"


def test_pdf_text_off() -> None:
    raw = mail_with((("a.pdf", "application/pdf", make_pdf(["one"])),))
    parsed = parse_bytes(raw, pdf=PdfLimits(max_pages=0))
    assert parsed.attachments[0].text is None and parsed.defects == ()
