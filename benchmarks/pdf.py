"""PDF text at parse: what a PDF attachment costs `parse_bytes`, in time and peak memory.

For each kind of PDF — a 50-page text document, the same file cut in half (malformed), a
page whose content stream inflates past pypdf's limit (a bomb), an encrypted one — a mail
carrying it is parsed in a fresh process: first with PDF text off (`pdf_max_pages = 0`: the
baseline, the same mail and bytes), then with the default `[parse]` limits and with all 50
pages allowed. Prints the best of `--rounds` times, the ratio to the baseline, and the peak
RSS of the process after each step (ru_maxrss only grows: each figure includes the ones before).

Usage: .venv/bin/python benchmarks/pdf.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypdf import PdfWriter  # noqa: E402
from pypdf.generic import (  # noqa: E402
    DecodedStreamObject,
    NameObject,
)

from daemon.mail.message import parse_bytes  # noqa: E402
from daemon.mail.pdftext import NO_PDF, PDF_LIMITS, PdfLimits  # noqa: E402
from tests.pdfs import bomb_pdf, font_resources  # noqa: E402

LINE = "Item {n}: replacement filter cartridge, quantity 2, unit price 19.90 EUR, total 39.80 EUR"


def document(pages: int = 50, lines: int = 40, password: str | None = None) -> bytes:
    """A text PDF: `lines` lines of an invoice-like table per page (~3,500 characters)."""
    writer = PdfWriter()
    resources = font_resources(writer)
    for page_no in range(pages):
        page = writer.add_blank_page(612, 792)
        ops = ["BT /F1 9 Tf 40 760 Td 11 TL"]
        ops += [f"({LINE.format(n=page_no * lines + n)}) Tj T*" for n in range(lines)]
        stream = DecodedStreamObject()
        stream.set_data(("\n".join(ops) + "\nET").encode())
        page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
        page[NameObject("/Resources")] = resources
    if password is not None:
        writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_of(kind: str) -> bytes:
    if kind == "50 pages":
        return document()
    if kind == "malformed (cut in half)":
        whole = document()
        return whole[: len(whole) // 2]
    if kind == "inflation bomb":
        return bomb_pdf()
    return document(pages=5, password="secret")


KINDS = ("50 pages", "malformed (cut in half)", "inflation bomb", "encrypted")


def mail(pdf: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anna Berg <anna@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Invoice question"
    msg["Message-ID"] = "<bench@example.org>"
    msg.set_content("Why was I charged twice? The invoice is attached.\n\nAnna")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes()


def best(raw: bytes, limits: PdfLimits, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        parse_bytes(raw, pdf=limits)
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, rounds: int) -> dict[str, object]:
    """One kind, in this (fresh) process."""
    raw = mail(pdf_of(kind))
    parse_bytes(raw, pdf=NO_PDF)  # the language model loaded, as the daemon has it
    result: dict[str, object] = {"kind": kind, "pdf_bytes": len(raw)}
    base = best(raw, NO_PDF, rounds)
    result["base"] = (base, peak_mb())
    for name, limits in (
        ("default", PDF_LIMITS),
        ("50 pages", PdfLimits(max_pages=50, max_chars=10**6)),
    ):
        seconds = best(raw, limits, rounds)
        parsed = parse_bytes(raw, pdf=limits)
        text = parsed.attachments[0].text or ""
        result[name] = (seconds, peak_mb(), len(text), list(parsed.defects))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round each")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    if args.one:
        print(json.dumps(measure(args.one, args.rounds)))
        return
    print(f"{'pdf':24} {'limits':9} {'ms':>8} {'ratio':>7} {'peak MB':>8} {'chars':>7}  defects")
    for kind in KINDS:
        out = subprocess.run(
            [sys.executable, __file__, "--one", kind, "--rounds", str(args.rounds)],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(out.stdout)
        base_s, base_mb = row["base"]
        print(f"{kind:24} {'off':9} {base_s * 1000:8.1f} {1:7.1f}x {base_mb:8.0f}")
        for name in ("default", "50 pages"):
            seconds, mb, chars, defects = row[name]
            ratio = seconds / base_s
            print(
                f"{'':24} {name:9} {seconds * 1000:8.1f} {ratio:7.1f}x {mb:8.0f} {chars:7}  "
                + "; ".join(d.split(": ", 1)[1] for d in defects)
            )


if __name__ == "__main__":
    main()
