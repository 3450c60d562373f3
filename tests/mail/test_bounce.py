"""Bounces: what is one, and which recipients failed for good or for now.

Each case is a whole message in the format a real mail server writes (Postfix, Gmail, Exim,
qmail, Exchange, Amazon SES), plus the look-alikes a person writes that must not count.
Every case runs on both the compat32 and the modern `EmailMessage` parse, as callers use both.
"""

from __future__ import annotations

import email
import email.policy
from email.message import Message

import pytest

from daemon.mail.bounce import detect_bounce, header_text
from daemon.records import Bounce

POSTFIX = b"""\
Return-Path: <MAILER-DAEMON>
From: MAILER-DAEMON@mx1.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="EF1A820C3E97.1440946566/mx1.example.com"

--EF1A820C3E97.1440946566/mx1.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.example.com.

<Gone@Example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1
    <gone@example.net>: Recipient address rejected: User unknown

--EF1A820C3E97.1440946566/mx1.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.com

Final-Recipient: rfc822; gone@example.net
Original-Recipient: rfc822;Gone@Example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address rejected

Final-Recipient: rfc822; slow@example.org
Action: delayed
Status: 4.4.1

Final-Recipient: rfc822; fine@example.org
Action: relayed
Status: 2.0.0

--EF1A820C3E97.1440946566/mx1.example.com
Content-Description: Undelivered Message
Content-Type: message/rfc822

From: Support <support@example.com>
To: gone@example.net
Subject: Re: your order [#12]

Hello.

--EF1A820C3E97.1440946566/mx1.example.com--
"""

GMAIL_DELAY = b"""\
Content-Type: multipart/report; boundary="000000000000ca4a"; report-type=delivery-status
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: service@example.de
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Delay)

--000000000000ca4a
Content-Type: text/plain; charset="UTF-8"

** Zustellung nicht abgeschlossen **

--000000000000ca4a
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com

Final-Recipient: rfc822; bob.smith@example.de
Action: delayed
Status: 4.4.1
Will-Retry-Until: Sat, 25 Aug 2018 02:00:04 -0700 (PDT)

--000000000000ca4a--
"""

EXIM = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: support@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: kijitora@example.jp
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  kijitora@example.jp
    SMTP error from remote mail server after RCPT TO:<kijitora@example.jp>:
    host mx.example.jp [192.0.2.2]: 550 5.1.1 <kijitora@example.jp>... User Unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <support@example.com>
From: support@example.com
To: kijitora@example.jp, other@example.org
"""

QMAIL = b"""\
From: MAILER-DAEMON@mail.example.jp
To: support@example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.jp.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<userunknown@example.co.jp>:
192.0.2.153 does not like recipient.
Remote host said: 550 5.1.1 <userunknown@example.co.jp>... User Unknown
Giving up on 192.0.2.153.

--- Below this line is a copy of the message.

Return-Path: <support@example.com>
From: support@example.com
To: userunknown@example.co.jp
"""

EXCHANGE_2003 = b"""\
Return-Path: <>
From: System Administrator <postmaster@example.net>
To: support@example.com
Subject: Undeliverable: Your order
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----_=_NextPart_000"

------_=_NextPart_000
Content-Type: text/plain; charset="us-ascii"

Your message

  To:      kijitora@example.net
  Subject: Your order

did not reach the following recipient(s):

kijitora@example.net on Thu, 29 Apr 2010 00:00:00 -0000
    The recipient name is not recognized

------_=_NextPart_000
Content-Type: message/rfc822

From: Support <support@example.com>
To: kijitora@example.net
Subject: Your order

Hello
------_=_NextPart_000--
"""

SES_SNS = b"""\
From: SES-EM-B <no-reply@sns.amazonaws.com>
To: support@example.com
Subject: AWS Notification Message
Content-Type: text/plain; charset=UTF-8
x-amz-sns-message-id: ad6bdf42-f483-5bae-bf50-8fc1aad3f981

{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":\
[{"emailAddress":"bounce@simulator.amazonses.com","status":"5.1.1"}]}}
--
If you wish to stop receiving notifications from this topic, please click the link below.
"""

# --- look-alikes: a person wrote these --------------------------------------------------------

PARCEL = b"""\
From: Alice Buyer <alice@example.org>
To: support@example.com
Subject: Delivery failure - my parcel never arrived

Hello, the tracking page says "delivery failed" and "returned to sender". What now?
"""

FORWARDED_INLINE = b"""\
From: Alice Buyer <alice@example.org>
To: support@example.com
Subject: Fwd: Undelivered Mail Returned to Sender

Why can I not write to my colleague? See below.

> From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
> Subject: Undelivered Mail Returned to Sender
>
> This is the mail system at host mx.example.org.
> <bob@example.net>: host mx.example.net said: 550 5.1.1 User unknown
"""

FORWARDED_ATTACHED = (
    b"""\
From: Alice Buyer <alice@example.org>
To: support@example.com
Subject: this bounced, can you help?
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

It shouldn't bounce, should it?

--outer
Content-Type: message/rfc822

"""
    + POSTFIX
    + b"""
--outer--
"""
)

BOUNCES: list[tuple[str, bytes, Bounce]] = [
    # Original-Recipient is the address we wrote to; relayed recipients are not failures.
    ("postfix DSN", POSTFIX, Bounce(("gone@example.net",), ("slow@example.org",))),
    ("gmail delay DSN", GMAIL_DELAY, Bounce((), ("bob.smith@example.de",))),
    ("exim text", EXIM, Bounce(("kijitora@example.jp",), ())),
    ("qmail text", QMAIL, Bounce(("userunknown@example.co.jp",), ())),
    ("exchange 2003 NDR", EXCHANGE_2003, Bounce(("kijitora@example.net",), ())),
    ("amazon ses via sns", SES_SNS, Bounce(("bounce@simulator.amazonses.com",), ())),
]

# A customer forwards the shop's shipping notice as an attachment: an attached message is only
# a weak sign, so "Delivery problem" in a person's subject does not make this a bounce.
PARCEL_ATTACHED = b"""\
From: Alice Buyer <alice@example.org>
To: support@example.com
Subject: Delivery problem with order 4711
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

Your courier says the delivery failed and the parcel was returned to sender. Why?

--outer
Content-Type: message/rfc822

From: Shop <shipping@shop.example>
Subject: Your parcel is on its way

Tracking: 123
--outer--
"""

NOT_BOUNCES: list[tuple[str, bytes]] = [
    ("customer about a parcel", PARCEL),
    ("customer about a parcel, notice attached", PARCEL_ATTACHED),
    ("customer forwards a bounce inline", FORWARDED_INLINE),
    ("customer attaches a bounce", FORWARDED_ATTACHED),
]

POLICIES = [email.policy.compat32, email.policy.default]


def parse(raw: bytes, policy: email.policy.Policy) -> Message:
    return email.message_from_bytes(raw, policy=policy)


@pytest.mark.parametrize("policy", POLICIES, ids=["compat32", "default"])
@pytest.mark.parametrize(("name", "raw", "expected"), BOUNCES, ids=[b[0] for b in BOUNCES])
def test_bounce_recipients(
    name: str, raw: bytes, expected: Bounce, policy: email.policy.Policy
) -> None:
    assert detect_bounce(parse(raw, policy)) == expected


@pytest.mark.parametrize("policy", POLICIES, ids=["compat32", "default"])
@pytest.mark.parametrize(("name", "raw"), NOT_BOUNCES, ids=[n[0] for n in NOT_BOUNCES])
def test_look_alikes_are_not_bounces(name: str, raw: bytes, policy: email.policy.Policy) -> None:
    assert detect_bounce(parse(raw, policy)) is None


def test_delivery_report_of_success_is_a_bounce_with_no_failures() -> None:
    raw = POSTFIX.replace(b"Action: failed", b"Action: delivered").replace(
        b"Action: delayed", b"Action: delivered"
    )
    assert detect_bounce(parse(raw, email.policy.compat32)) == Bounce((), ())


# (header line, text that must be in the result): the two policies differ in details, e.g.
# compat32 keeps an encoded word in an unknown charset as written, the modern one decodes it.
HOSTILE_HEADERS = [
    (b"Subject: =?utf-8?B?broken", "=?utf-8?B?broken"),
    (b"Subject: =?x-unknown?Q?abc?=", "abc"),
    (b"Subject: caf\xe9 \xff", "caf\xe9 \xff"),  # raw 8-bit, no charset declared: cp1252
    (b"Subject: =?iso-8859-1?q?Non_remis_:_caf=E9?=", "Non remis : caf\xe9"),
]


@pytest.mark.parametrize("policy", POLICIES, ids=["compat32", "default"])
@pytest.mark.parametrize(("line", "text"), HOSTILE_HEADERS)
def test_header_text_never_raises(line: bytes, text: str, policy: email.policy.Policy) -> None:
    msg = parse(b"From: a@example.org\n" + line + b"\n\nbody\n", policy)
    subject = header_text(msg, "Subject")
    assert text in subject
    subject.encode("utf-8")  # no lone surrogates left
    assert detect_bounce(msg) is None
