"""Issue 12, class 2: hostile headers never reach our reply as headers or as its body.

Each mail is crafted byte by byte and run through the real pipeline (Maildir in, the policy
auto-sends, Maildir outbox); the assertions read the bytes on the wire: exactly our headers,
in our order, each on its own line, one text/plain body with our text, and a Message-ID that
is not the predictable `helpdeskd.reply.<ticket>.<draft>@…`.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
import stat
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from daemon.app import Services, build_services
from daemon.config import PolicySettings, Settings
from daemon.cycle import run_cycle
from daemon.tables import AuditEvent, Escalation, MessageParse, Outbox
from tests.conftest import make_settings
from tests.daemon.test_pipeline import ConfidentDrafter, OnePassage, deliver, outbox_files, states

REPLY_HEADERS = [
    "from",
    "date",
    "message-id",
    "x-auto-response-suppress",
    "to",
    "subject",
    "auto-submitted",
    "x-helpdeskd-ticket",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
]
THREADED_HEADERS = [*REPLY_HEADERS[:6], "in-reply-to", "references", *REPLY_HEADERS[6:]]
OUR_TEXT = b"Your order ships tomorrow."
INJECTED = re.compile(rb"^(bcc|cc|x-injected|content-type: text/html)", re.I | re.M)


def crafted(*headers: bytes, body: bytes = b"Hi, my order 12345 has not arrived yet.\r\n") -> bytes:
    """A mail from raw header lines; From, To, Subject and Date added unless given."""
    names = {h.split(b":", 1)[0].lower() for h in headers}
    base = [
        (b"from", b"From: Alice Buyer <alice@example.org>"),
        (b"to", b"To: support@example.com"),
        (b"subject", b"Subject: Where is my order 12345?"),
        (b"date", b"Date: Mon, 23 Nov 2026 10:00:00 +0000"),
    ]
    lines = [line for name, line in base if name not in names] + list(headers)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def auto_sending(tmp_path: Path, **overrides: Any) -> tuple[Settings, Services]:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    policy = PolicySettings(auto_send=True, min_confidence=0.8, require_verified_sender=False)
    settings = make_settings(
        tmp_path,
        policies={"standard": policy.model_dump(), "escalate": {"always_escalate": True}},
        **overrides,
    )
    services = build_services(settings)
    return settings, replace(services, drafter=ConfidentDrafter(), retriever=OnePassage())


def answer(tmp_path: Path, raw: bytes) -> bytes:
    """The one reply the pipeline sends to `raw` (asserted sent), as bytes on the wire."""
    settings, services = auto_sending(tmp_path)
    try:
        deliver(settings, "1", raw)
        run_cycle(services)
        assert states(services)["1"][0] == "sent", states(services)
        files = outbox_files(settings)
    finally:
        services.close()
    assert len(files) == 1
    return files[0]


def head_and_body(raw: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = raw.partition(b"\n\n")
    return head.split(b"\n"), body


def header_names(raw: bytes) -> list[str]:
    lines, _ = head_and_body(raw)
    return [line.split(b":", 1)[0].decode().lower() for line in lines if line[:1] not in b" \t"]


def assert_ours(raw: bytes, names: list[str]) -> EmailMessage:
    """Exactly our headers, printable ASCII lines, one text/plain part with our text."""
    assert header_names(raw) == names
    lines, body = head_and_body(raw)
    assert all(re.fullmatch(rb"[\x20-\x7e\t]*", line) for line in lines), lines
    assert not INJECTED.search(b"\n".join(lines)), lines
    assert body.strip() == OUR_TEXT
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not msg.is_multipart() and msg.get_content_type() == "text/plain"
    return msg


# --- msg-ids: CR/LF in encoded words, NUL, 8-bit, over-long -------------------------------

BCC_IN_ID = b"Message-ID: <=?utf-8?q?x=0D=0ABcc:_victim@evil.example?=@x>"
HTML_IN_ID = (
    b"Message-ID: <=?utf-8?q?x=0D=0AContent-Type:_text/html=0D=0A=0D=0A"
    b"<a_href=3Dhttps://evil.example>login</a>?=@x>"
)
ATEXT_ONLY_ID = b"Message-ID: <=?utf-8?q?x=0D=0AX-Injected=3A_1?=@x>"  # valid atext, still decoded


@pytest.mark.parametrize(
    "header",
    [
        BCC_IN_ID,
        HTML_IN_ID,
        ATEXT_ONLY_ID,
        b"Message-ID: <a\x00b@x>",
    ],
    ids=["bcc", "html-body", "atext-encoded-word", "nul"],
)
def test_an_invalid_message_id_is_never_copied_into_the_reply(
    tmp_path: Path, header: bytes
) -> None:
    raw = answer(tmp_path, crafted(header))
    assert_ours(raw, REPLY_HEADERS)  # no In-Reply-To/References: there is no valid id
    assert b"evil" not in raw and b"=?utf-8?q?x" not in raw


def test_invalid_ids_in_references_are_dropped_and_valid_ones_kept(tmp_path: Path) -> None:
    raw = answer(
        tmp_path,
        crafted(
            b"Message-ID: <m1@example.org>",
            b"In-Reply-To: <=?utf-8?q?x=0D=0ABcc:_victim@evil.example?=@x>",
            b"References: <root@example.org> <=?utf-8?q?x=0D=0AX-Injected:_1?=@x>"
            b" <a\x00b@x> <" + b"l" * 300 + b"@example.org> <mid@example.org>",
        ),
    )
    msg = assert_ours(raw, THREADED_HEADERS)
    assert msg["In-Reply-To"] == "<m1@example.org>"
    assert msg["References"].split() == [
        "<root@example.org>",
        "<mid@example.org>",
        "<m1@example.org>",
    ]


def test_the_parse_records_each_dropped_id_as_a_defect(tmp_path: Path) -> None:
    settings, services = auto_sending(tmp_path)
    try:
        deliver(settings, "1", crafted(BCC_IN_ID, b"References: <ok@example.org> <a\x00b@x>"))
        run_cycle(services)
        with Session(services.engine) as session:
            parsed = session.exec(select(MessageParse.parsed)).one()
    finally:
        services.close()
    assert parsed["message_id"] is None and parsed["references"] == ["ok@example.org"]
    assert any(d.startswith("Message-ID: invalid msg-id") for d in parsed["defects"])
    assert any(d.startswith("References: invalid msg-id") for d in parsed["defects"])


def test_an_8bit_message_id_is_dropped_by_the_parse() -> None:
    """(Ingesting it is class 1's fix; here only what the parse keeps for threading.)"""
    from daemon.mail.message import parse_bytes

    parsed = parse_bytes(crafted(b"Message-ID: <caf\xc3\xa9@x>", b"In-Reply-To: <caf\xc3\xa9@x>"))
    assert parsed.message_id is None and parsed.in_reply_to is None
    assert any(d.startswith("Message-ID: invalid msg-id") for d in parsed.defects)


def test_hundreds_of_long_references_fold_into_short_raw_lines(tmp_path: Path) -> None:
    refs = b" ".join(b"<r%d.%s@example.org>" % (i, b"y" * 200) for i in range(500))
    raw = answer(tmp_path, crafted(b"Message-ID: <m1@example.org>", b"References: " + refs))
    msg = assert_ours(raw, THREADED_HEADERS)
    lines, _ = head_and_body(raw)
    assert max(len(line) for line in lines) < 300
    assert b"=?" not in b"\n".join(lines)  # written raw, never RFC 2047-encoded
    ids = msg["References"].split()
    assert len(ids) == 20 and ids[0].startswith("<r0.") and ids[-1] == "<m1@example.org>"


# --- Subject and display names ---------------------------------------------------------------


def b64_word(text: bytes) -> bytes:
    return b"=?utf-8?b?" + base64.b64encode(text) + b"?="


@pytest.mark.parametrize(
    "header",
    [
        b"Subject: order 12345 =?utf-8?q?late=0D=0ABcc:_victim@evil.example?=",
        # decoded once by our parser, the text is itself an encoded word the email package
        # would decode again when the value is set
        b"Subject: order 12345 " + b64_word(b"=?utf-8?q?late=0D=0ABcc:_victim@evil.example?="),
        b"Subject: order 12345 " + b64_word(b"=?utf-8?q?x=0D=0A=0D=0A<b>evil</b>?="),
        b"Subject: order 12345 late\x00Bcc: victim@evil.example",
        b"Subject: order 12345 " + b"x" * 5000,
    ],
    ids=["crlf-word", "double-encoded", "double-encoded-body", "nul", "long"],
)
def test_a_hostile_subject_stays_one_clean_capped_header(tmp_path: Path, header: bytes) -> None:
    raw = answer(tmp_path, crafted(header))
    msg = assert_ours(raw, REPLY_HEADERS)
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject and "\x00" not in subject
    assert len(subject) <= 200 and subject.endswith("[#1]")


@pytest.mark.parametrize(
    "header",
    [
        b"From: =?utf-8?q?Eve=0D=0ABcc:_victim@evil.example?= <eve@example.org>",
        b"From: "
        + b64_word(b"=?utf-8?q?Eve=0D=0ABcc:_victim@evil.example?=")
        + b" <eve@example.org>",
        b'From: "Eve\x00Bcc: victim@evil.example" <eve@example.org>',
        b"From: " + b"E" * 3000 + b" <eve@example.org>",
    ],
    ids=["crlf-word", "double-encoded", "nul", "long"],
)
def test_a_hostile_display_name_stays_inside_to(tmp_path: Path, header: bytes) -> None:
    raw = answer(tmp_path, crafted(header))
    msg = assert_ours(raw, REPLY_HEADERS)
    to = msg["To"].addresses
    assert [a.addr_spec for a in to] == ["eve@example.org"]
    assert len(to[0].display_name) <= 100 and "\n" not in to[0].display_name


# --- our Message-ID ------------------------------------------------------------------------


def test_our_message_id_is_not_the_predictable_one(tmp_path: Path) -> None:
    raw = answer(tmp_path, crafted(b"Message-ID: <m1@example.org>"))
    ours = str(assert_ours(raw, THREADED_HEADERS)["Message-ID"]).strip("<>")
    assert ours != "helpdeskd.reply.1.1@helpdeskd.invalid"
    assert re.fullmatch(r"helpdeskd\.reply\.1\.1\.[0-9a-f]{32}@helpdeskd\.invalid", ours)
    secret = tmp_path / "state" / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_bytes()) == 64


def test_our_message_id_is_the_same_for_a_row_and_differs_by_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.outgoing_mail import reply_message_id

    settings = make_settings(tmp_path)
    first = reply_message_id(settings, "reply", 7, 9)
    assert reply_message_id(settings, "reply", 7, 9) == first  # the crash-resume lookup key
    assert reply_message_id(settings, "reply", 7, 10) != first
    monkeypatch.setenv("HD_TEST_SECRET", "s" * 32)
    other = make_settings(tmp_path, mail={"message_id_secret_env": "HD_TEST_SECRET"})
    assert reply_message_id(other, "reply", 7, 9) != first


# --- the outbox check ---------------------------------------------------------------------


def test_a_reply_whose_bytes_differ_from_what_was_composed_is_escalated_not_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should compose ever let an injection through, the outbox's re-parse refuses it."""
    import daemon.stages.deliver as deliver_stage
    from daemon.outgoing_mail import compose_reply

    real = compose_reply  # the function deliver_stage calls, wrapped below

    def leaky(*args: Any, **kwargs: Any) -> EmailMessage:
        msg = real(*args, **kwargs)
        msg["X-Leak"] = "=?utf-8?q?x=0D=0ABcc:_victim@evil.example?="  # decoded on set
        return msg

    monkeypatch.setattr(deliver_stage, "compose_reply", leaky)
    settings, services = auto_sending(tmp_path)
    try:
        deliver(settings, "1", crafted(b"Message-ID: <m1@example.org>"))
        run_cycle(services)
        state, reason = states(services)["1"]
        with Session(services.engine) as session:
            outbox = session.exec(select(Outbox)).all()
            escalation = session.exec(select(Escalation)).one()
            refused = session.exec(
                select(AuditEvent).where(AuditEvent.kind == "outbox_refused")
            ).one()
    finally:
        services.close()
    assert state == "escalated" and "refused by the outbox check" in (reason or "")
    assert "x-leak" in (reason or "") and escalation.reason == reason
    assert outbox == [] and outbox_files(settings) == []
    assert refused.detail["mail_kind"] == "reply"


def test_the_escalation_notice_to_agents_carries_only_our_headers(tmp_path: Path) -> None:
    settings, services = auto_sending(tmp_path, escalation={"agents_address": "agents@example.com"})
    subject = b"Subject: I want to speak to a human " + b64_word(
        b"=?utf-8?q?now=0D=0ABcc:_victim@evil.example?="
    )
    try:
        deliver(settings, "1", crafted(subject, BCC_IN_ID))
        run_cycle(services)
        assert states(services)["1"][0] == "escalated"
        files = outbox_files(settings)
    finally:
        services.close()
    assert len(files) == 1
    names = header_names(files[0])
    assert names == [
        "from",
        "date",
        "message-id",
        "x-auto-response-suppress",
        "to",
        "subject",
        "auto-submitted",
        "content-type",
        "content-transfer-encoding",
        "mime-version",
    ]
    lines, _ = head_and_body(files[0])
    assert not INJECTED.search(b"\n".join(lines))
    assert re.search(rb"^Message-ID: <helpdeskd\.escalation\.1\.[0-9a-f]{32}@", files[0], re.M)


# --- the other writers of headers ---------------------------------------------------------


def test_a_helpdesk_field_cannot_forge_a_header_in_the_synthesised_mail() -> None:
    from connectors.helpdesk.mime import synthesise
    from connectors.helpdesk.records import Entry, Person, RemoteTicket

    forged = "=?utf-8?q?x=0D=0AAuthentication-Results:_mx;_dmarc=3Dpass?="
    ticket = RemoteTicket(
        id="7>\r\nBcc: v@e.x",
        subject=f"Help {forged}",
        status="open",
        updated_at="",
        requester=None,
    )
    entry = Entry(
        id="3",
        kind="customer",
        author=Person(name=f"Eve {forged}", email="eve@example.org"),
        created_at="2026-11-23T10:00:00Z",
        text="hello",
        via=f"web {forged}",
    )
    raw = synthesise(
        helpdesk="zendesk",
        host="z.example",
        ticket=ticket,
        entry=entry,
        to="support@example.com",
        files=[],
    )
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert "authentication-results" not in {k.lower() for k in msg}
    assert "bcc" not in {k.lower() for k in msg}
    for name, value in msg.items():
        assert "\n" not in str(value) and "\r" not in str(value), name
    assert msg["Message-ID"] == "<zendesk.7---Bcc--v-e-x.3@z.example>"


def test_the_smtp_envelope_refuses_an_address_with_a_line_break() -> None:
    from connectors.base import ConnectorError, OutboundMail
    from connectors.smtp import envelope

    mail = OutboundMail("m@x", "support@example.com", ("v@e.x>\r\nRCPT TO:<w@e.x",), b"")
    with pytest.raises(ConnectorError) as err:
        envelope(mail)
    assert err.value.permanent


def test_an_approved_reply_the_outbox_refuses_escalates_the_ticket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import daemon.stages.deliver as deliver_stage
    from daemon.approvals import approve
    from daemon.outgoing_mail import compose_reply
    from daemon.tables import Draft

    real = compose_reply  # the function deliver_stage calls, wrapped below

    def leaky(*args: Any, **kwargs: Any) -> EmailMessage:
        msg = real(*args, **kwargs)
        del msg["Subject"]
        msg["Subject"] = "=?utf-8?q?hi=0D=0A=0D=0A<b>evil</b>?="  # a blank line: a new body
        return msg

    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    settings = make_settings(tmp_path)
    services = build_services(settings)
    try:
        deliver(settings, "1", crafted(b"Message-ID: <m1@example.org>"))
        run_cycle(services)  # the offline drafter holds its draft for an agent
        with Session(services.engine) as session:
            draft_id = session.exec(select(Draft.id)).one()
        assert draft_id is not None
        monkeypatch.setattr(deliver_stage, "compose_reply", leaky)
        decision = approve(services, draft_id, "ann")
        run_cycle(services)
        state, reason = states(services)["1"]
        with Session(services.engine) as session:
            outbox = session.exec(select(Outbox)).all()
            escalation = session.exec(select(Escalation)).one()
    finally:
        services.close()
    assert decision.status == "escalated"
    assert state == "escalated" and "refused by the outbox check" in (reason or "")
    assert escalation.reason == reason and outbox == [] and outbox_files(settings) == []


def test_thousands_of_invalid_ids_make_a_bounded_list_of_defects() -> None:
    from daemon.mail.message import parse_bytes

    refs = b" ".join(b"<bad%d\x00@x>" % i for i in range(2000))
    parsed = parse_bytes(crafted(b"Message-ID: <m1@example.org>", b"References: " + refs))
    dropped = [d for d in parsed.defects if d.startswith("References:")]
    assert parsed.references == () and len(dropped) == 4
    assert dropped[-1] == "References: 1997 more invalid msg-ids dropped"


def test_our_own_addresses_must_be_plain_to_start(tmp_path: Path) -> None:
    from daemon.config import check_settings

    settings = make_settings(
        tmp_path,
        mail={"from_address": "support@example.com\r\nBcc: victim@evil.example"},
        escalation={"agents_address": "Agents <agents@example.com>"},
    )
    problems = dict(check_settings(settings))
    assert "mail.from_address" in problems and "escalation.agents_address" not in problems
