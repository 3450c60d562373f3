"""Varied inbound mail as real bytes, for store, pipeline and crash tests.

`cases()` is a table of (name, raw bytes, final state on the embedded defaults): ordinary
questions, machine-written mail that must be ignored (auto-reply, bounce, no-reply sender),
risk topics that must be escalated, a reply in a thread, non-English and broken mail (8-bit
bytes without a charset, NUL bytes in the Subject and body, a missing MIME boundary).
`mailbox(n)` repeats the table with distinct senders and Message-IDs, so n messages cover every
case; `write_maildir` drops them into `new/`.
"""

from __future__ import annotations

from pathlib import Path


def _mail(headers: list[str], body: str | bytes) -> bytes:
    head = "\r\n".join(headers).encode("utf-8")
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head + b"\r\n\r\n" + data


def cases(i: int = 0) -> list[tuple[str, bytes, str]]:
    """The table; `i` makes senders and Message-IDs distinct between repetitions."""
    d = f"n{i}.example.org"
    base = ["To: Support <support@example.com>", "Date: Thu, 26 Nov 2026 10:00:00 +0000"]
    return [
        (
            "order",
            _mail(
                [
                    f"From: Ann Lee <ann@{d}>",
                    "Subject: Where is my order 1234?",
                    f"Message-ID: <order@{d}>",
                    *base,
                ],
                "Hello,\r\n\r\nmy order 1234 has not arrived yet. Where is it?\r\n\r\nAnn\r\n",
            ),
            "awaiting_approval",
        ),
        (
            "thread-reply",
            _mail(
                [
                    f"From: Ann Lee <ann@{d}>",
                    "Subject: Re: Where is my order 1234?",
                    f"Message-ID: <order-2@{d}>",
                    f"In-Reply-To: <order@{d}>",
                    f"References: <order@{d}>",
                    *base,
                ],
                "Any news on my order?\r\n\r\n> my order 1234 has not arrived yet.\r\n",
            ),
            "awaiting_approval",
        ),
        (
            "refund",
            _mail(
                [
                    f"From: Bo <bo@{d}>",
                    "Subject: Refund please",
                    f"Message-ID: <refund@{d}>",
                    *base,
                ],
                "The kettle broke after two days. I want a refund.\r\n",
            ),
            "awaiting_approval",
        ),
        (
            "privacy",
            _mail(
                [f"From: Cy <cy@{d}>", "Subject: Delete my data", f"Message-ID: <gdpr@{d}>", *base],
                "Under the GDPR, please delete my data and confirm.\r\n",
            ),
            "escalated",
        ),
        (
            "human",
            _mail(
                [f"From: Di <di@{d}>", "Subject: Login trouble", f"Message-ID: <human@{d}>", *base],
                "I cannot log in. I want to speak to a human, please.\r\n",
            ),
            "escalated",
        ),
        (
            "auto-reply",
            _mail(
                [
                    f"From: Ed <ed@{d}>",
                    "Subject: Automatic reply: your message",
                    "Auto-Submitted: auto-replied",
                    f"Message-ID: <auto@{d}>",
                    *base,
                ],
                "I am out of the office until Monday.\r\n",
            ),
            "ignored",
        ),
        (
            "bounce",
            _mail(
                [
                    f"From: Mail Delivery System <MAILER-DAEMON@{d}>",
                    "Subject: Undelivered Mail Returned to Sender",
                    f"Message-ID: <dsn@{d}>",
                    "MIME-Version: 1.0",
                    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
                    *base,
                ],
                "--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
                "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
                f"Reporting-MTA: dns; mx.{d}\r\n\r\n"
                f"Final-Recipient: rfc822; gone@{d}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                "--B--\r\n",
            ),
            "ignored",
        ),
        (
            "german",
            _mail(
                [
                    f"From: Fritz <fritz@{d}>",
                    "Subject: =?utf-8?q?Bestellung_=C3=BCberf=C3=A4llig?=",
                    f"Message-ID: <de@{d}>",
                    "MIME-Version: 1.0",
                    "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: 8bit",
                    *base,
                ],
                "Guten Tag, meine Bestellung ist seit zwei Wochen überfällig. "
                "Können Sie mir bitte sagen, wann sie ankommt?\r\n",
            ),
            "awaiting_approval",
        ),
        (
            "eight-bit-nul",
            _mail(
                [
                    f"From: Gil <gil@{d}>",
                    "Subject: Caf\xe9 order\x00 NUL",
                    f"Message-ID: <raw8@{d}>",
                    *base,
                ],
                b"My caf\xe9 machine \xff\xfe leaks.\x00\x00 Please help.\r\n",
            ),
            "awaiting_approval",
        ),
        (
            "broken-mime",
            _mail(
                [
                    f"From: Hal <hal@{d}>",
                    "Subject: broken",
                    f"Message-ID: <broken@{d}>",
                    "MIME-Version: 1.0",
                    "Content-Type: multipart/mixed",
                    *base,
                ],
                "no boundary anywhere\r\n--\r\nstill text\r\n",
            ),
            "awaiting_approval",
        ),
        (
            "noreply",
            _mail(
                [f"From: <no-reply@{d}>", "Subject: Your invoice", f"Message-ID: <nr@{d}>", *base],
                "Your invoice is attached.\r\n",
            ),
            "ignored",
        ),
    ]


def mailbox(n: int) -> list[tuple[str, bytes, str]]:
    """n messages: the table repeated with distinct senders, named `NNN-case`."""
    out: list[tuple[str, bytes, str]] = []
    rep = 0
    while len(out) < n:
        for name, raw, state in cases(rep):
            out.append((f"{len(out):03d}-{name}", raw, state))
            if len(out) == n:
                break
        rep += 1
    return out


def write_maildir(path: Path, messages: list[tuple[str, bytes, str]]) -> None:
    """A Maildir holding `messages` in new/ (file name = the case name)."""
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for name, raw, _state in messages:
        (path / "new" / name).write_bytes(raw)
