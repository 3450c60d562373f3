"""Authentication-Results: which headers count, what they say, and what verifies a sender.

The header values are the shapes Gmail, Microsoft 365, OpenDKIM/OpenDMARC/policyd-spf (one
header each) and rspamd write, plus forgeries a sender could put into a message.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from daemon.mail.auth import parse_header, read_auth
from daemon.records import AuthResult

GMAIL = """mx.google.com;
       dkim=pass header.i=@example.com header.s=20161025 header.b=abcDEF12;
       spf=pass (google.com: domain of alice@example.com designates 192.0.2.1 as permitted
 sender) smtp.mailfrom=alice@example.com;
       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"""

MICROSOFT = (
    "spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=example.com; dkim=pass (signature was"
    " verified) header.d=example.com;dmarc=pass action=none header.from=example.com;"
    "compauth=pass reason=100"
)


def message(*auth_results: str, sender: str = "Alice <alice@example.com>") -> email.message.Message:
    lines = [f"Authentication-Results: {v}" for v in auth_results]
    raw = "\n".join([*lines, f"From: {sender}", "To: support@example.org", "Subject: hi", "", "x"])
    return email.message_from_bytes(raw.encode())


UNCONFIGURED = "no trusted authserv-id configured"
NOTHING_TRUSTED = AuthResult(reason="no Authentication-Results from a trusted server")
NOT_ALIGNED = "no DMARC pass or aligned DKIM pass for example.com"

# (name, headers top first, trusted ids, sender, expected)
CASES: list[tuple[str, list[str], tuple[str, ...], str, AuthResult]] = [
    (
        "gmail, untrusted mode: topmost reported, verifies nothing",
        [GMAIL],
        (),
        "alice@example.com",
        AuthResult("pass", "pass", "pass", False, UNCONFIGURED),
    ),
    (
        "gmail, trusted id",
        [GMAIL],
        ("mx.google.com",),
        "alice@example.com",
        AuthResult("pass", "pass", "pass", True),
    ),
    ("gmail, not our id", [GMAIL], ("mx.example.org",), "alice@example.com", NOTHING_TRUSTED),
    # Microsoft 365 writes no authserv-id: read when topmost, never matched by a trusted id
    (
        "microsoft, no authserv-id",
        [MICROSOFT],
        (),
        "alice@example.com",
        AuthResult("pass", "pass", "pass", False, UNCONFIGURED),
    ),
    ("microsoft, trusted ids", [MICROSOFT], ("spf=pass",), "alice@example.com", NOTHING_TRUSTED),
    # three milters, three headers, one id: merged
    (
        "opendkim+opendmarc+spf",
        [
            "mx.example.org; dmarc=pass (p=reject dis=none) header.from=example.com",
            "mx.example.org; dkim=pass (2048-bit key) header.d=example.com header.i=@example.com",
            "mx.example.org; spf=pass smtp.mailfrom=alice@example.com",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult("pass", "pass", "pass", True),
    ),
    # a sender's forgery below a foreign header is not read, even with our id
    (
        "forged below a foreign header",
        [
            "mx.example.org; dmarc=fail header.from=example.com; spf=fail",
            "relay.example.net; spf=pass smtp.mailfrom=x@example.net",
            "mx.example.org; dmarc=pass header.from=example.com",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult("fail", None, "fail", False, "dmarc=fail"),
    ),
    # RFC 8601 §5: counting stops at the first foreign header, even one above ours (a
    # downstream filter of ours is named in the trusted ids too)
    (
        "foreign header above ours",
        [
            "spamfilter.local; x-spam=no",
            "mx.example.org; dmarc=pass header.from=example.com",
        ],
        ("mx.example.org",),
        "alice@example.com",
        NOTHING_TRUSTED,
    ),
    (
        "our downstream filter above ours",
        [
            "spamfilter.local; x-spam=no",
            "mx.example.org; dmarc=pass header.from=example.com",
        ],
        ("mx.example.org", "spamfilter.local"),
        "alice@example.com",
        AuthResult("pass", None, None, True),
    ),
    (
        "dmarc pass for another domain",
        [
            "mx.example.org; dmarc=pass header.from=evil.example",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult("pass", None, None, False, NOT_ALIGNED),
    ),
    (
        "aligned dkim without dmarc",
        [
            "mx.example.org; dkim=pass header.d=mail.example.com; spf=softfail",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult(None, "pass", "softfail", True),
    ),
    (
        "third-party dkim only",
        [
            "mx.example.org; dkim=pass header.d=esp.example.net; spf=pass",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult(None, "pass", "pass", False, NOT_ALIGNED),
    ),
    (
        "dkim header.i alignment",
        [
            "mx.example.org; dkim=pass header.i=news@example.com",
        ],
        ("mx.example.org",),
        "alice@shop.example.com",
        AuthResult(None, "pass", None, True),
    ),
    (
        "dkim for a bare tld never aligns",
        [
            "mx.example.org; dkim=pass header.d=com",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult(None, "pass", None, False, NOT_ALIGNED),
    ),
    (
        "spf alone never verifies",
        [
            "mx.example.org; spf=pass smtp.mailfrom=alice@example.com",
        ],
        ("mx.example.org",),
        "alice@example.com",
        AuthResult(None, None, "pass", False, NOT_ALIGNED),
    ),
    (
        "two signatures, one passes",
        [
            "mx.example.org; dkim=fail header.d=example.com; dkim=pass header.d=example.com",
        ],
        ("MX.Example.org",),
        "alice@example.com",
        AuthResult(None, "pass", None, True),
    ),
    ("none", ["mx.example.org 1; none"], (), "alice@example.com", AuthResult()),
    ("no header", [], (), "alice@example.com", AuthResult()),
    ("garbage", ["(((;;;= =="], (), "alice@example.com", AuthResult()),
    (
        "two From domains",
        [
            "mx.example.org; dmarc=pass header.from=example.com",
        ],
        ("mx.example.org",),
        "alice@example.com, mallory@evil.example",
        AuthResult("pass", None, None, False, "2 addresses in From"),
    ),
]


@pytest.mark.parametrize(
    ("name", "headers", "trusted", "sender", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_read_auth(
    name: str, headers: list[str], trusted: tuple[str, ...], sender: str, expected: AuthResult
) -> None:
    assert read_auth(message(*headers, sender=sender), trusted) == expected


def test_same_answer_under_the_modern_policy() -> None:
    raw = message(GMAIL).as_bytes()
    modern = email.message_from_bytes(raw, policy=email.policy.default)
    assert read_auth(modern, ("mx.google.com",)) == AuthResult("pass", "pass", "pass", True)


PARSES = [
    # comments with semicolons and nesting are not separators
    (
        "a.example; spf=pass (x; (nested; y) z) smtp.mailfrom=a@b.example",
        "a.example",
        [("spf", "pass", {"smtp.mailfrom": "a@b.example"})],
    ),
    # a version after the method, quoted values
    (
        'a.example; dkim/1=pass header.d="ex;ample.com"',
        "a.example",
        [("dkim", "pass", {"header.d": "ex;ample.com"})],
    ),
    (
        "a.example; arc=none smtp.client-ip=192.0.2.1",
        "a.example",
        [("arc", "none", {"smtp.client-ip": "192.0.2.1"})],
    ),
]


@pytest.mark.parametrize(("value", "authserv_id", "results"), PARSES)
def test_parse_header(
    value: str, authserv_id: str, results: list[tuple[str, str, dict[str, str]]]
) -> None:
    header = parse_header(value)
    assert header.authserv_id == authserv_id
    assert [(r.method, r.result, r.props) for r in header.results] == results
