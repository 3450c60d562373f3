"""parse: the contract on real and hostile bytes, and the `helpdeskd parse` command."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import os
import resource
import time
from dataclasses import asdict, replace
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.mail.message import parse_bytes
from daemon.mail.mime import LIFT_TEXT_BYTES, lift_bodies
from daemon.records import ParsedMail, flat, stored_reply_text

CONTRACT_KEYS = {
    "message_id",
    "in_reply_to",
    "references",
    "from",
    "reply_to",
    "to",
    "cc",
    "subject",
    "date",
    "text",
    "reply_text",
    "signature",
    "html",
    "attachments",
    "forwarded",
    "language",
    "auto",
    "bounce",
    "auth",
    "defects",
}

REPLY = (
    b"From: =?utf-8?Q?Anna_M=C3=BCller?= <anna@example.com>\r\n"
    b"To: Support <support@shop.example>\r\n"
    b"Subject: Re: [#42] =?utf-8?Q?Bestellung_r=C3=BCckerstatten?=\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0100\r\n"
    b"Message-ID: <m2@example.com>\r\nIn-Reply-To: <m1@shop.example>\r\n"
    b"References: <m0@shop.example> <m1@shop.example>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Bitte erstatten Sie mir den Betrag f\xc3\xbcr die Bestellung zur\xc3\xbcck.\r\n\r\n"
    b"Viele Gr\xc3\xbc\xc3\x9fe\r\nAnna\r\n\r\n"
    b"Am 01.01.2024 um 09:00 schrieb Shop <support@shop.example>:\r\n> Ihre Bestellung\r\n"
    b'--b1\r\nContent-Type: image/png; name="shot.png"\r\nContent-Transfer-Encoding: base64\r\n'
    b'Content-Disposition: attachment; filename="shot.png"\r\n\r\n'
    + base64.encodebytes(b"\x89PNG fake image")
    + b"--b1--\r\n"
)


def test_contract_on_a_real_reply() -> None:
    data = parse_bytes(REPLY).to_json()
    assert set(data) == CONTRACT_KEYS
    assert data["from"] == {"name": "Anna Müller", "email": "anna@example.com"}
    assert data["subject"] == "Re: [#42] Bestellung rückerstatten"
    assert data["date"] == "2024-01-01T10:00:00+01:00"
    assert (data["message_id"], data["in_reply_to"]) == ("m2@example.com", "m1@shop.example")
    assert data["references"] == ["m0@shop.example", "m1@shop.example"]
    assert data["reply_text"] == "Bitte erstatten Sie mir den Betrag für die Bestellung zurück."
    assert data["signature"] == "Viele Grüße\nAnna"
    assert data["language"] == "de" and data["html"] is False
    [attachment] = data["attachments"]
    assert attachment["filename"] == "shot.png" and attachment["size"] == 15
    assert attachment["md5"] == hashlib.md5(b"\x89PNG fake image").hexdigest()  # noqa: S324
    assert len(attachment["sha256"]) == 64 and attachment["inline"] is False
    json.dumps(data)
    parsed = parse_bytes(REPLY)
    for record in (parsed.sender, *parsed.to, parsed.auto, parsed.auth, *parsed.attachments):
        assert flat(record) == asdict(record)  # type: ignore[arg-type]
    stored = parsed.to_store()
    assert "reply_text" not in stored and stored["reply_chars"] == len(parsed.reply_text)
    assert stored_reply_text(stored) == parsed.reply_text
    assert ParsedMail.from_json(stored) == parsed
    other = replace(parsed, reply_text="not the start of the text")
    assert other.to_store()["reply_text"] == "not the start of the text"
    assert ParsedMail.from_json(other.to_store()) == other


def test_html_only_mail_is_rendered_and_scripts_never_survive() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Where is my parcel?</p><script>document.location='http://evil'</script>"
        b"<div class=gmail_quote>On Mon wrote: old</div>"
    )
    mail = parse_bytes(raw)
    assert mail.html is True
    assert "evil" not in mail.text and "Where is my parcel?" in mail.text
    assert mail.reply_text == "Where is my parcel?"


def test_wrong_charset_falls_back_with_a_defect() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Gr\xfc\xdfe aus K\xf6ln\r\n"
    )
    mail = parse_bytes(raw)
    assert mail.text == "Grüße aus Köln"
    assert "body: not valid utf-8; read as cp1252" in mail.defects


def nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nhello\r\n"
    for level in range(depth):
        bound = b"n%d" % level
        body = (
            b"Content-Type: multipart/mixed; boundary="
            + bound
            + b"\r\n\r\n--"
            + bound
            + b"\r\n"
            + body
            + b"\r\n--"
            + bound
            + b"--\r\n"
        )
    return b"From: a@example.com\r\nSubject: deep\r\n" + body


def test_deep_nesting_is_bounded_and_recorded() -> None:
    started = time.perf_counter()
    mail = parse_bytes(nested(5000))
    assert time.perf_counter() - started < 2
    assert mail.subject == "deep"
    assert any("nesting deeper than" in d for d in mail.defects)
    assert parse_bytes(nested(10)).text == "hello"


def test_fifty_megabyte_attachment_is_hashed_not_kept() -> None:
    blob = os.urandom(50 * 1024 * 1024)
    raw = (
        b"From: a@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=XX\r\n"
        b"\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        b"Content-Type: application/zip; name=bomb.zip\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\n" + base64.encodebytes(blob) + b"--XX--\r\n"
    )
    want = hashlib.sha256(blob).hexdigest()
    del blob
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    mail = parse_bytes(raw)
    elapsed = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert mail.text == "see attached"
    [attachment] = mail.attachments
    assert (attachment.size, attachment.sha256) == (50 * 1024 * 1024, want)
    assert elapsed < 5, elapsed
    assert grown_mb < 200, grown_mb  # the raw message is 68 MB; the stdlib alone takes ~400


def test_files_are_hashed_from_the_raw_bytes_and_the_text_around_them_kept() -> None:
    """A 30 KB file is lifted out before the stdlib parser would read it line by line: its
    hashes are those of its decoded bytes, the text parts before and after it are read."""
    pdf, png = os.urandom(30_000), os.urandom(5_000)
    raw = (
        b"From: a@example.com\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=B\r\n"
        b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n"
        b'Content-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
        b"\r\n" + base64.encodebytes(pdf) + b"--B\r\nContent-Type: image/png\r\n"
        b"Content-Transfer-Encoding: base64\r\nContent-ID: <logo@x>\r\n\r\n"
        + base64.encodebytes(png)
        + b"--B\r\nContent-Type: text/plain\r\n\r\nand one more line\r\n--B--\r\n"
    )
    mail = parse_bytes(raw)
    assert mail.text == "see attached\nand one more line"
    got = [(a.filename, a.size, a.sha256, a.content_id) for a in mail.attachments]
    assert got == [
        ("a.pdf", 30_000, hashlib.sha256(pdf).hexdigest(), None),
        (None, 5_000, hashlib.sha256(png).hexdigest(), "logo@x"),
    ]
    assert hashlib.md5(pdf).hexdigest() == mail.attachments[0].md5  # noqa: S324


LONG_TEXT = "".join(f"Line {n}: where is my parcel, café über alles?\n" for n in range(400))


@pytest.mark.parametrize("mbox", [b"", b"From someone@example.com  Tue Oct 29 03:52:03 2013\r\n"])
@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
def test_long_text_bodies_are_lifted_and_given_back(mbox: bytes, cte: str) -> None:
    """A long text body is cut out before the stdlib parser and given back to its part: the
    text is what the parser alone reads, in a single-part mail and inside a multipart, and
    an mbox From line stays the only envelope line (no defect). Lines end in LF whatever
    the transport wrote."""
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "long"
    msg.set_content(LONG_TEXT, cte=cte)
    single = mbox + msg.as_bytes(policy=SMTP)
    msg.add_attachment(LONG_TEXT.encode(), maintype="text", subtype="csv", filename="t.csv")
    multi = mbox + msg.as_bytes(policy=SMTP)
    for raw in (single, multi):
        _prepared, lifted = lift_bodies(raw, "X-Test-Marker")
        assert any(isinstance(body, bytes) for body in lifted.values())  # the text was cut out
        stdlib = email.message_from_bytes(raw, policy=email.policy.default)
        want = stdlib.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        mail = parse_bytes(raw)
        assert mail.text == want.replace("\r\n", "\n").strip()
        assert len(raw) > 3 * LIFT_TEXT_BYTES
        assert parse_bytes(raw.replace(b"\r\n", b"\n")).text == mail.text  # LF-only copy
        assert not mail.defects, mail.defects
    assert [a.filename for a in parse_bytes(multi).attachments] == ["t.csv"]


def test_mime_quoted_in_a_text_body_stays_text() -> None:
    """A bounce that quotes the returned message's MIME parts in a text/plain body: the
    boundary scan finds parts there that the parser does not; the text keeps them as they
    stood (sisimai lhost-postfix-49 once showed our internal marker header in its text)."""
    quoted = (
        b"Content-Type: multipart/report; boundary=Q\r\n\r\n--Q\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--Q\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * 6000 + b"\r\n--Q--\r\n"
    )
    raw = b"From: MAILER-DAEMON@example.com\r\nSubject: failed\r\n\r\nReport:\r\n" + quoted
    mail = parse_bytes(raw)
    assert mail.text == ("Report:\r\n" + quoted.decode()).replace("\r\n", "\n").strip()
    assert "Helpdeskd" not in json.dumps(mail.to_store())


def test_garbage_never_raises() -> None:
    for raw in (b"", b"\x00\xff" * 1000, b"Content-Type: multipart/mixed\r\n\r\n--", b"::::\n\n"):
        data = parse_bytes(raw).to_json()
        assert set(data) == CONTRACT_KEYS


def test_cli_parses_several_files_in_order(tmp_path: Path) -> None:
    from daemon.cli.mail import parse as parse_command

    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(REPLY)
    second.write_bytes(b"\x00garbage")
    result = CliRunner().invoke(parse_command, [str(first), str(second), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [d["subject"] for d in lines] == ["Re: [#42] Bestellung rückerstatten", ""]


def test_cli_exits_2_when_a_file_cannot_be_read(tmp_path: Path) -> None:
    from daemon.cli.mail import parse as parse_command

    good = tmp_path / "a.eml"
    good.write_bytes(REPLY)
    result = CliRunner().invoke(parse_command, [str(good), str(tmp_path / "missing"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout.splitlines()[0])["from"]["email"] == "anna@example.com"
