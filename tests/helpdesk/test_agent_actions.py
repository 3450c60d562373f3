"""How an agent's notes, marks and own replies after our draft note become a decision."""

from __future__ import annotations

import pytest

from connectors.helpdesk import Entry, Mark, Person, normalise
from daemon.helpdesk_sync.agent_actions import AgentAction, read_action, split_command

ALICE = Person("Alice Agent", "alice@example.test")
BOT = Person("Help Bot", "helpbot@example.test")


def note(text: str, who: Person = ALICE) -> Entry:
    return Entry(id=text[:8], kind="note", author=who, created_at="", text=text)


def reply(text: str, who: Person = ALICE) -> Entry:
    return Entry(id=text[:8], kind="reply", author=who, created_at="", text=text)


def customer(text: str) -> Entry:
    return Entry(
        id=text[:8], kind="customer", author=Person("Carol", "c@x.test"), created_at="", text=text
    )


A = "alice@example.test in rt"
CASES: list[tuple[str, list[Entry], Mark | None, AgentAction | None]] = [
    ("nothing yet", [], None, None),
    ("a plain note decides nothing", [note("Let me check with billing.")], None, None),
    ("approve as written", [note("#approve")], None, AgentAction("approve", A)),
    (
        "approve with the text on the next lines",
        [note("#approve\nDear Carol,\n\nit ships today.")],
        None,
        AgentAction("approve", A, body="Dear Carol,\n\nit ships today."),
    ),
    (
        "approve with the text on the same line",
        [note("#approve It ships today.")],
        None,
        AgentAction("approve", A, body="It ships today."),
    ),
    (
        "commands are case-insensitive, a colon is allowed",
        [note("#Approve: Ships today.")],
        None,
        AgentAction("approve", A, body="Ships today."),
    ),
    ("an edit waits for the mark", [note("#edit\nShips today.")], None, None),
    (
        "edit then mark sends the edit",
        [note("#edit\nShips today.")],
        "approved",
        AgentAction("approve", "agent in rt", body="Ships today."),
    ),
    (
        "the latest edit wins",
        [note("#edit one"), note("#edit two")],
        "approved",
        AgentAction("approve", "agent in rt", body="two"),
    ),
    (
        "edit then a bare #approve sends the edit",
        [note("#edit Ships today."), note("#approve")],
        None,
        AgentAction("approve", A, body="Ships today."),
    ),
    ("mark alone approves as written", [], "approved", AgentAction("approve", "agent in rt")),
    (
        "reject with a reason",
        [note("#reject wrong order number")],
        None,
        AgentAction("reject", A, reason="wrong order number"),
    ),
    (
        "reject without a reason",
        [note("#reject")],
        None,
        AgentAction("reject", A, reason="no reason given"),
    ),
    (
        "rejected mark takes the last plain note as reason",
        [note("first thought"), note("Refunded by phone.")],
        "rejected",
        AgentAction("reject", A, reason="Refunded by phone."),
    ),
    (
        "rejected mark without a note",
        [],
        "rejected",
        AgentAction("reject", "agent in rt", reason="rejected in rt"),
    ),
    (
        "the first deciding command wins",
        [note("#reject no"), note("#approve")],
        None,
        AgentAction("reject", A, reason="no"),
    ),
    (
        "a command beats the mark",
        [note("#reject not this one")],
        "approved",
        AgentAction("reject", A, reason="not this one"),
    ),
    ("our own notes never count", [note("[helpdeskd-draft-9] #approve", BOT)], None, None),
    (
        "an agent's public reply means they answered personally",
        [reply("Hi Carol, done.")],
        "approved",
        AgentAction("reject", A, reason=f"{A} replied personally"),
    ),
    ("the customer writing again decides nothing", [customer("#approve please!")], None, None),
    ("other words after the prefix are not commands", [note("#approved by me")], None, None),
]


@pytest.mark.parametrize(("name", "entries", "mark", "expected"), CASES, ids=[c[0] for c in CASES])
def test_read_decision(
    name: str, entries: list[Entry], mark: Mark | None, expected: AgentAction | None
) -> None:
    assert read_action(entries, mark, prefix="#", helpdesk="rt") == expected


def test_our_sent_replies_are_not_an_agents_reply() -> None:
    ours = frozenset({normalise("Hi Carol,\n your parcel ships.")})
    entries = [reply("Hi Carol, your parcel ships.", BOT)]
    assert read_action(entries, None, prefix="#", helpdesk="rt", our_replies=ours) is None


@pytest.mark.parametrize(
    ("text", "prefix", "expected"),
    [
        ("/approve ok", "/", ("approve", "ok")),
        ("  #edit  \n\n  body  \n", "#", ("edit", "body")),
        ("#approve\r\nline one\r\nline two", "#", ("approve", "line one\r\nline two")),
        ("Hi #approve", "#", (None, "Hi #approve")),
    ],
)
def test_split_command(text: str, prefix: str, expected: tuple[str | None, str]) -> None:
    assert split_command(text, prefix) == expected
