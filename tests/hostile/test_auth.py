"""Hostile senders against sender verification (issue 12, classes 3 and 11).

Each mail is crafted byte by byte as an attacker would send it, or as our receiving server hands
it over: forged Authentication-Results below our real `dmarc=fail` or below a foreign header,
two From headers, an encoded word as the address, public-suffix tricks, Microsoft 365's headers
without an authserv-id, and helpdeskd's own DKIM check against a DNS stub on loopback. The last
tests run the whole pipeline: the scripted model obeys, the tool service answers, and another
customer's order data must not move.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from daemon.mail.auth import read_auth
from daemon.mail.message import parse_bytes

OURS = ("mx.shop.example",)
BODY = b"\r\nWhere is my order 10001?\r\n"


def mail(head: bytes, body: bytes = BODY) -> bytes:
    """Headers as given (CRLF lines), the usual To/Subject, and a body."""
    return head + b"To: support@shop.example\r\nSubject: order\r\n" + body


def verdict(raw: bytes, trusted: tuple[str, ...] = OURS, unnamed: tuple[str, ...] = ()) -> object:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    auth = read_auth(msg, trusted, unnamed) if unnamed else read_auth(msg, trusted)
    return auth.verified, getattr(auth, "reason", None)


# (name, raw message, expected (verified, reason))
FORGED: list[tuple[str, bytes, tuple[bool, str]]] = [
    (
        "forged pass right below our real dmarc=fail",
        mail(
            b"Authentication-Results: mx.shop.example; dkim=none; spf=fail\r\n"
            b" smtp.mailfrom=victim.example; dmarc=fail (p=none) header.from=victim.example\r\n"
            b"Authentication-Results: mx.shop.example; dkim=pass header.d=victim.example;\r\n"
            b" dmarc=pass header.from=victim.example\r\n"
            b"From: Victor <victor@victim.example>\r\n"
        ),
        (False, "dmarc=fail"),
    ),
    (
        "forged pass below a foreign header",
        mail(
            b"Authentication-Results: relay.isp.example; spf=pass smtp.mailfrom=evil.example\r\n"
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: victor@victim.example\r\n"
        ),
        (False, "no Authentication-Results from a trusted server"),
    ),
    (
        "forged pass three foreign headers down",
        mail(
            b"Authentication-Results: mx.shop.example; spf=none\r\n"
            b"Authentication-Results: relay.isp.example; spf=pass\r\n"
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: victor@victim.example\r\n"
        ),
        (False, "no DMARC pass or aligned DKIM pass for victim.example"),
    ),
    (
        "two From headers in one domain",
        mail(
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: mallory@victim.example\r\n"
            b"From: victor@victim.example\r\n"
        ),
        (False, "2 From headers"),
    ),
    (
        "two addresses in one From",
        mail(
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: mallory@victim.example, victor@victim.example\r\n"
        ),
        (False, "2 addresses in From"),
    ),
    (
        "a group as From",
        mail(
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: Team: victor@victim.example;\r\n"
        ),
        (False, "From is a group"),
    ),
    (
        "an empty From",
        mail(
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: \r\nReply-To: victor@victim.example\r\n"
        ),
        (False, "0 addresses in From"),
    ),
    (
        "an encoded word as the address",
        mail(
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: =?utf-8?q?victor?=@victim.example\r\n"
        ),
        (False, "From address is an encoded word (invalid sender)"),
    ),
    (
        "dkim for a public suffix does not align (co.uk)",
        mail(
            b"Authentication-Results: mx.shop.example; dkim=pass header.d=evil.co.uk\r\n"
            b"From: Boss <boss@co.uk>\r\n"
        ),
        (False, "no DMARC pass or aligned DKIM pass for co.uk"),
    ),
    (
        "dkim of a sibling under a public suffix does not align",
        mail(
            b"Authentication-Results: mx.shop.example; dkim=pass header.d=evil.co.uk\r\n"
            b"From: Boss <boss@shop.co.uk>\r\n"
        ),
        (False, "no DMARC pass or aligned DKIM pass for shop.co.uk"),
    ),
    (
        "dkim of a sibling under a private suffix does not align (github.io)",
        mail(
            b"Authentication-Results: mx.shop.example; dkim=pass header.d=evil.github.io\r\n"
            b"From: Boss <boss@shop.github.io>\r\n"
        ),
        (False, "no DMARC pass or aligned DKIM pass for shop.github.io"),
    ),
    (
        "dkim of a subdomain aligns with its organizational domain",
        mail(
            b"Authentication-Results: mx.shop.example; dkim=pass header.d=mail.shop.co.uk\r\n"
            b"From: Boss <boss@shop.co.uk>\r\n"
        ),
        (True, ""),
    ),
    (
        "our real pass, nothing forged",
        mail(
            b"Authentication-Results: mx.shop.example; dkim=pass header.d=victim.example;\r\n"
            b" dmarc=pass header.from=victim.example\r\n"
            b"From: victor@victim.example\r\n"
        ),
        (True, ""),
    ),
]


@pytest.mark.parametrize(("name", "raw", "expected"), FORGED, ids=[c[0] for c in FORGED])
def test_forged_authentication_results(
    name: str, raw: bytes, expected: tuple[bool, str]
) -> None:
    assert verdict(raw) == expected


def test_encoded_word_address_is_no_sender() -> None:
    """The parser's placeholder for an encoded word (`EncWord0X@…`) never becomes a sender."""
    parsed = parse_bytes(
        mail(
            b"Authentication-Results: mx.shop.example; dmarc=pass header.from=victim.example\r\n"
            b"From: =?utf-8?q?victor?=@victim.example\r\n"
        ),
        OURS,
    )
    assert parsed.sender is None
    assert not parsed.auth.verified
    assert "From: an encoded word as the address: ignored" in parsed.defects
