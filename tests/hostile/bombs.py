"""Resource bombs as raw bytes, made in code (no big files in git).

Each function returns one hostile message; `BOMBS` names them for the tests and for the
measurements of issue 12 (class 6).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

HEAD = (
    b"From: Mallory <mallory@evil.example>\r\n"
    b"To: Support <support@example.com>\r\n"
    b"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
)


def mail(message_id: bytes, headers: bytes, body: bytes) -> bytes:
    return HEAD + b"Message-ID: <" + message_id + b">\r\n" + headers + b"\r\n" + body


def encoded_words(count: int = 200_000) -> bytes:
    """A Subject of `count` RFC 2047 encoded words (37 s in the stdlib's decode_header)."""
    words = b" ".join([b"=?utf-8?q?a?="] * count)
    return mail(b"words@evil.example", b"Subject: " + words + b"\r\n", b"Hello\r\n")


def long_line(size: int = 50_000_000) -> bytes:
    """One text line of `size` bytes."""
    return mail(b"line@evil.example", b"Subject: one line\r\n", b"a" * size + b"\r\n")


def base64_part(size: int = 40_000_000) -> bytes:
    """A multipart with a base64 attachment of `size` encoded bytes."""
    data = base64.encodebytes(b"\x00\x01\x02" * (size // 4))[:size]
    return mail(
        b"b64@evil.example",
        b"Subject: big file\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"\r\n--b--\r\n",
    )


def nested(depth: int = 2_000) -> bytes:
    """`depth` multiparts nested in each other, a readable text part at the top level."""
    opening = b"".join(
        b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
        for i in range(depth)
    )
    closing = b"".join(b"--n%d--\r\n" % i for i in reversed(range(depth + 1)))
    return mail(
        b"nested@evil.example",
        b"Subject: nested\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="top"\r\n',
        b"--top\r\nContent-Type: text/plain\r\n\r\nPlease read me.\r\n"
        b'--top\r\nContent-Type: multipart/mixed; boundary="n0"\r\n\r\n'
        + opening
        + b"--n%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n" % depth
        + closing
        + b"--top--\r\n",
    )


def big_text(size: int = 2_000_000) -> bytes:
    """A plain-text body of `size` bytes in short lines."""
    line = b"Where is my order 1234? " * 3 + b"\r\n"
    return mail(b"text@evil.example", b"Subject: long text\r\n", line * (size // len(line)))


BOMBS: dict[str, Callable[[], bytes]] = {
    "encoded_words": encoded_words,
    "long_line": long_line,
    "base64_part": base64_part,
    "nested": nested,
    "big_text": big_text,
}
