"""The IMAP source against a real Dovecot: TLS modes, credentials, cursor, size guard,
post-actions, \\Seen independence, XOAUTH2 and IDLE."""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConnectorError, FetchedMail
from connectors.imap import ImapMailbox, parse_cursor
from daemon.config import ImapSource, load_settings
from daemon.errors import ConfigError
from tests.conftest import make_settings
from tests.peers.mail import PASSWORD, Dovecot, customer_mail, imap_settings

pytestmark = pytest.mark.peers


def mailbox(dovecot: Dovecot, user: str, **overrides: Any) -> ImapMailbox:
    return ImapMailbox(ImapSource(**imap_settings(dovecot, user, **overrides)))


def fetch_all(box: ImapMailbox, cursor: str | None = None) -> list[FetchedMail]:
    try:
        return list(box.fetch(cursor))
    finally:
        box.close()


def seed(dovecot: Dovecot, user: str, count: int, **kw: Any) -> list[bytes]:
    raws = [customer_mail(f"c{i}@shop.test", user, i, **kw) for i in range(count)]
    dovecot.append(user, raws)
    return raws


TLS_CASES = [
    # (tls, which port, extra settings)
    ("implicit", "imaps", {}),
    ("starttls", "imap", {}),
    ("plain", "imap", {"allow_plain": True}),
]


@pytest.mark.parametrize(("tls", "port", "extra"), TLS_CASES)
def test_tls_modes_read_the_mailbox(
    dovecot: Dovecot, tls: str, port: str, extra: dict[str, Any]
) -> None:
    user = dovecot.new_user("tls")
    raws = seed(dovecot, user, 2)
    box = mailbox(dovecot, user, tls=tls, port=getattr(dovecot, f"{port}_port"), **extra)
    assert [m.raw for m in fetch_all(box)] == raws


def test_plain_text_needs_allow_plain(tmp_path: Path, dovecot: Dovecot) -> None:
    source = imap_settings(dovecot, "x@example.test", tls="plain")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[[sources]]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in source.items())
    )
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert any(key == "sources[0].tls" for key, _ in info.value.problems)


def test_untrusted_certificate_is_refused(dovecot: Dovecot) -> None:
    user = dovecot.new_user("ca")
    box = mailbox(dovecot, user, tls="implicit", port=dovecot.imaps_port, ca_file=None)
    with pytest.raises(ConnectorError, match="certificate not trusted") as info:
        fetch_all(box)
    assert not info.value.permanent


@pytest.mark.usefixtures("failing_address")
def test_wrong_password_is_permanent(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRONG_PASSWORD", "not-" + PASSWORD)
    box = mailbox(dovecot, dovecot.new_user("pw"), password_env="WRONG_PASSWORD")
    with pytest.raises(ConnectorError, match="login refused") as info:
        fetch_all(box)
    assert info.value.permanent


def test_password_from_a_systemd_credential(
    dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "imap-password").write_text(PASSWORD + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    user = dovecot.new_user("cred")
    seed(dovecot, user, 1)
    box = mailbox(dovecot, user, password_env="", password_credential="imap-password")
    assert len(fetch_all(box)) == 1


def test_cursor_resumes_after_the_last_recorded_uid(dovecot: Dovecot) -> None:
    user = dovecot.new_user("cursor")
    raws = seed(dovecot, user, 5)
    first = fetch_all(mailbox(dovecot, user, batch_size=2))
    assert [m.raw for m in first] == raws
    validity, uid = parse_cursor(first[-1].cursor) or (0, 0)
    assert first[-1].key == first[-1].cursor == f"{validity}:{uid}"
    assert [parse_cursor(m.cursor) for m in first] == [(validity, u) for u in range(1, 6)]
    assert fetch_all(mailbox(dovecot, user), first[2].cursor) == first[3:]
    assert fetch_all(mailbox(dovecot, user), first[-1].cursor) == []
    later = seed(dovecot, user, 1)
    assert [m.raw for m in fetch_all(mailbox(dovecot, user), first[-1].cursor)] == later


def test_seen_is_neither_needed_nor_set(dovecot: Dovecot) -> None:
    """Another client read everything first; we still get it all and mark nothing read."""
    user = dovecot.new_user("seen")
    seed(dovecot, user, 3)
    other = dovecot.client(user)
    other.add_flags(other.search(["ALL"])[:2], [b"\\Seen"])
    got = fetch_all(mailbox(dovecot, user))
    assert len(got) == 3
    flags = other.get_flags(other.search(["ALL"]))
    other.logout()
    assert [b"\\Seen" in f for _, f in sorted(flags.items())] == [True, True, False]


def test_oversized_message_becomes_a_stub_and_does_not_block(dovecot: Dovecot) -> None:
    user = dovecot.new_user("size")
    small1 = customer_mail("a@shop.test", user, 1)
    big = customer_mail("b@shop.test", user, 2, size=300_000)
    small2 = customer_mail("c@shop.test", user, 3)
    dovecot.append(user, [small1, big, small2])
    got = fetch_all(mailbox(dovecot, user, max_message_bytes=100_000))
    assert [m.stub_reason is None for m in got] == [True, False, True]
    assert got[0].raw == small1 and got[2].raw == small2
    stub = got[1]
    assert "over max_message_bytes" in (stub.stub_reason or "")
    assert b"Subject: Question 2 about my order" in stub.raw
    assert b"padding line" not in stub.raw and len(stub.raw) < 2000


POST_ACTIONS = [
    (
        "flag",
        "\\Flagged",
        lambda c, uids: all(b"\\Flagged" in f for f in c.get_flags(uids).values()),
    ),
    (
        "keyword",
        "$Helpdeskd",
        lambda c, uids: all(b"$Helpdeskd" in f for f in c.get_flags(uids).values()),
    ),
    ("move", "Processed", lambda c, uids: c.search(["ALL"]) == []),
]


@pytest.mark.parametrize(("action", "value", "done"), POST_ACTIONS)
def test_post_action_after_ack_is_idempotent(
    dovecot: Dovecot, action: str, value: str, done: Any
) -> None:
    user = dovecot.new_user("post")
    seed(dovecot, user, 3)
    if action == "move":
        setup = dovecot.client(user, None)
        setup.create_folder(value)
        setup.logout()
    box = mailbox(dovecot, user, post_action=action, post_action_value=value)
    mails = list(box.fetch(None))
    probe = dovecot.client(user)
    uids = probe.search(["ALL"])
    assert not done(probe, uids), "nothing may happen before ack"
    for mail in mails:
        box.ack(mail)
        box.ack(mail)  # twice: idempotent, no error
    box.close()
    probe.noop()
    assert done(probe, uids)
    probe.logout()
    if action == "move":
        assert len(dovecot.messages(user, value)) == 3


def test_post_action_missed_by_a_crash_is_redone(dovecot: Dovecot) -> None:
    """Committed (cursor past them) but never acked: the next connection catches up."""
    user = dovecot.new_user("catchup")
    seed(dovecot, user, 4)
    box = mailbox(dovecot, user, post_action="keyword", post_action_value="$Done")
    mails = fetch_all(box)
    cursor = mails[2].cursor  # three committed, none acked (the process died)
    rest = fetch_all(
        mailbox(dovecot, user, post_action="keyword", post_action_value="$Done"), cursor
    )
    assert len(rest) == 1
    probe = dovecot.client(user)
    flags = probe.get_flags(probe.search(["ALL"]))
    probe.logout()
    assert [b"$Done" in f for _, f in sorted(flags.items())] == [True, True, True, False]


def test_xoauth2_with_a_token_command(dovecot: Dovecot, tmp_path: Path) -> None:
    user = dovecot.new_user("oauth")
    seed(dovecot, user, 1)
    dovecot.oauth.tokens["token-for-" + user] = user
    oauth = {"token_command": f"echo token-for-{user}"}
    box = mailbox(dovecot, user, auth="xoauth2", password_env="", oauth=oauth)
    assert len(fetch_all(box)) == 1


def test_xoauth2_with_the_refresh_token_flow(
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = dovecot.new_user("refresh")
    seed(dovecot, user, 2)
    dovecot.oauth.refresh["refresh-" + user] = user
    monkeypatch.setenv("TEST_REFRESH", "refresh-" + user)
    oauth = {
        "token_url": f"http://127.0.0.1:{dovecot.oauth.port}/token",
        "client_id": "helpdeskd",
        "refresh_token_env": "TEST_REFRESH",
    }
    box = mailbox(dovecot, user, auth="xoauth2", password_env="", oauth=oauth)
    assert len(fetch_all(box)) == 2


@pytest.mark.usefixtures("failing_address")
def test_xoauth2_unknown_token_is_refused(dovecot: Dovecot) -> None:
    user = dovecot.new_user("badtoken")
    box = mailbox(
        dovecot,
        user,
        auth="xoauth2",
        password_env="",
        oauth={"token_command": "echo revoked-token"},
    )
    with pytest.raises(ConnectorError, match="login refused"):
        fetch_all(box)


def test_idle_wakes_on_new_mail(dovecot: Dovecot) -> None:
    user = dovecot.new_user("idle")
    box = mailbox(dovecot, user)
    assert box.supports_idle()
    timer = threading.Timer(0.5, lambda: dovecot.deliver(user, customer_mail("i@x.test", user, 1)))
    t0 = time.monotonic()
    timer.start()
    woke = box.wait_for_mail(20)
    assert woke and time.monotonic() - t0 < 10
    assert not box.wait_for_mail(1.0)  # nothing new: returns at the deadline
    assert len(list(box.fetch(None))) == 1
    box.close()


def test_example_imap_entry_is_valid(tmp_path: Path) -> None:
    """The commented IMAP block of the example config loads once uncommented."""
    example = Path(__file__).resolve().parents[2] / "examples" / "helpdeskd.toml"
    lines = example.read_text().splitlines()
    start = lines.index("# [[sources]]", lines.index('name = "inbox"'))
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    data = tomllib.loads("\n".join(block).replace("/etc/ssl/private-ca.pem", "ca.pem"))
    (tmp_path / "ca.pem").write_text("")
    settings = make_settings(tmp_path, sources=data["sources"])
    src = settings.sources[0]
    assert isinstance(src, ImapSource)
    assert (src.mailbox, src.ca_file, src.oauth.token_url) == ("INBOX", tmp_path / "ca.pem", "")
