"""mime: header words, addresses, dates, transfer encodings and charsets, on real bytes."""

from __future__ import annotations

import email
from email.utils import getaddresses

import pytest

from connectors.rfc5322.head import header_message_id
from daemon.mail.mime import (
    decode_text,
    decode_transfer,
    decode_words,
    read_addresses,
    read_date,
    read_msgids,
    split_addresses,
)

WORDS = [
    # (raw header value, declared charsets, expected text)
    ("=?UTF-8?Q?Angebot_f=C3=BCr_OTRS?=", (), "Angebot für OTRS"),
    ("=?iso-8859-1?Q?Priorit=E4t?= =?utf-8?B?w6Q=?=", (), "Prioritätä"),  # space dropped
    ('"=?GB2312?B?ztI=?=" <a@b.c>', (), '"我" <a@b.c>'),  # inside quotes
    ("Re:=?utf-8?Q?=C3=BC?=ber", (), "Re:über"),  # glued to the text around it
    ("=?utf-8?B?5Lit?= =?utf-8?B?5paH?=", (), "中文"),
    ("=?utf-8?B?5A==?= =?utf-8?B?uK0=?=", (), "中"),  # a character split across two words
    ("=?gb2312?B?g8iRqsGm?=", (), "內應力"),  # GBK bytes under a GB2312 label
    ("=?x-nonsense?Q?caf=C3=A9?=", (), "café"),  # unknown charset: UTF-8 fallback
    ("caf\udcc3\udca9", (), "café"),  # raw UTF-8 bytes (as the parser keeps them)
    ("\udcd7\udcaa\udcb7\udca2", ("gb2312",), "转发"),  # raw GBK bytes, charset from the body
    ("plain ascii", (), "plain ascii"),
]


@pytest.mark.parametrize(("raw", "hint", "want"), WORDS)
def test_decode_words(raw: str, hint: tuple[str, ...], want: str) -> None:
    assert decode_words(raw, hint) == want


ADDRESSES = [
    (
        b"From: =?iso-8859-1?Q?B=FCrling,=20Andreas?= <smith@example.com>",
        [("Bürling, Andreas", "smith@example.com")],
    ),
    (
        b'To: "Smith, Karoline" <k@example.com>, bob@example.com (Bob)',
        [("Smith, Karoline", "k@example.com"), ("Bob", "bob@example.com")],
    ),
    (b'From: "Clement.Si" <Claudia.Shu@yahoo.com.>', [("Clement.Si", "Claudia.Shu@yahoo.com.")]),
    (b"From: [??????]", []),
    (b"To: undisclosed-recipients:;", []),
    (b"From: =?utf-8?B?6YO955C5?= <ghgbwum@185.com.cn>", [("都琹", "ghgbwum@185.com.cn")]),
]


@pytest.mark.parametrize(("header", "want"), ADDRESSES)
def test_read_addresses(header: bytes, want: list[tuple[str, str]]) -> None:
    msg = email.message_from_bytes(header + b"\n\n")
    name = header.split(b":", 1)[0].decode()
    found = read_addresses(msg, name, (), [])
    assert [(a.name, a.email) for a in found] == want


DATES = [
    ("Sat, 13 Sep 2003 10:37:26 -0400", "2003-09-13T10:37:26-04:00"),
    ("Thu, 23 Jan 2020 15:39:33 +0100 (CET)", "2020-01-23T15:39:33+01:00"),
    ("13 Sep 2003 10:37 GMT", "2003-09-13T10:37:00+00:00"),
    ("yesterday", None),
    ("Mon, 99 Foo 2003 99:99:99 +0000", None),
]


@pytest.mark.parametrize(("value", "want"), DATES)
def test_read_date(value: str, want: str | None) -> None:
    defects: list[str] = []
    assert read_date(value, defects) == want
    assert bool(defects) == (want is None)


def test_read_msgids() -> None:
    assert read_msgids("<a@b> <c@d>\n <e@f>") == ["a@b", "c@d", "e@f"]
    assert read_msgids("20200123143934.05D7EE792E@example.com") == [
        "20200123143934.05D7EE792E@example.com"
    ]
    assert read_msgids(None) == []


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (b"Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "a@b"),
        (b"message-id:\n <folded@x>\nSubject: y\n\nbody", "folded@x"),  # folded, LF only
        (b"Message-ID: 20200123.05D7@example.com\n\n", "20200123.05D7@example.com"),  # bare
        (b"Message-ID: <first@x>\nMessage-ID: <second@x>\n\n", "first@x"),
        (b"Subject: x\n\nMessage-ID: <in-the-body@x>\n", None),  # the body is not read
        (b"X-Message-ID: <other@x>\n\n", None),
        (b"Message-ID: <caf\xc3\xa9@x>\n\n", None),  # 8-bit: not a msg-id, dropped as the parser
        (b"Message-ID: \n\n", None),
    ],
)
def test_header_message_id(raw: bytes, want: str | None) -> None:
    assert header_message_id(raw) == want


TRANSFERS = [
    (b"aGVsbG8=", "base64", b"hello"),
    (
        b"/9j/4AAQSkZJABC123456",
        "base64",
        b"\xff\xd8\xff\xe0\x00\x10JFI\x00\x10\xb5\xdb~9\xeb\xbf"[:15],
    ),
    (b"aGVs\r\nbG8=\r\n", "BASE64", b"hello"),
    (b"caf=C3=A9=\r\n ok", "quoted-printable", b"caf\xc3\xa9 ok"),
    (b"line\r\nline\r\n", "7bit", b"line\nline\n"),
    (b"line\r\nline\r\n", "8bit", b"line\r\nline\r\n"),
    (b"begin 644 x.txt\n,2&5L;&\\@6F%M;6%D\n`\nend\n", "x-uuencode", b"Hello Zammad"),
]


@pytest.mark.parametrize(("data", "cte", "want"), TRANSFERS)
def test_decode_transfer(data: bytes, cte: str, want: bytes) -> None:
    got = decode_transfer(data, cte, [])
    if cte == "base64" and len(data) == 21:
        assert len(got) == 15  # a stray 21st character is dropped, as Zammad does
    else:
        assert got == want


def test_decode_text_falls_back_and_says_so() -> None:
    defects: list[str] = []
    assert decode_text("Grüße".encode("cp1252"), "utf-8", defects) == "Grüße"
    assert defects == ["body: not valid utf-8; read as cp1252"]
    defects = []
    assert decode_text(b"ok", "klingon-8", defects) == "ok"
    assert defects == ["body: unknown charset 'klingon-8'"]
    assert decode_text(b"\x81\x8d", None, []) == "\x81\x8d"  # nothing fits: Latin-1


SPLITS = [
    # (header values, the pairs): the plain forms take the shortcut, the rest getaddresses;
    # both must give what getaddresses gives
    (["Customer 12 <customer12@example.com>"], [("Customer 12", "customer12@example.com")]),
    (["a@b.c, <d@e.f>,Bob  Smith\t<x+tag@ex-ample.co.uk>"], None),
    (["a@b.c", "EncWord0X <first.last@x.y>"], [("", "a@b.c"), ("EncWord0X", "first.last@x.y")]),
    (['"Smith, Karoline" <k@example.com>, bob@example.com (Bob)'], None),
    (["J. Smith <j@x.y>", "undisclosed-recipients:;"], None),
    (["a..b@c.d", "a@b.c.", "<a@b.c", "a@b.c>", "Bob", "", "a@b.c,"], None),
    (["caf\udcc3\udca9 <c@x.y>"], None),
]


@pytest.mark.parametrize(("values", "want"), SPLITS)
def test_split_addresses_is_getaddresses(
    values: list[str], want: list[tuple[str, str]] | None
) -> None:
    assert split_addresses(values) == getaddresses(values)
    if want is not None:
        assert split_addresses(values) == want
