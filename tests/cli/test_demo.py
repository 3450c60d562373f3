"""`helpdeskd demo`: every sample mail ends where it should, a second run prints the same table,
the outbox holds what was sent, and the operator commands work on the demo's config.

The demo runs twice into one folder (a module fixture, ~2 s a run); the expectations are
behaviour that should not move while parse, screen and retrieval improve: robots are ignored,
risk topics and requests for a person are escalated, follow-ups join their ticket, and every
other mail gets a draft held for an agent (the offline drafter always holds).
"""

from __future__ import annotations

import email
import email.policy
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from daemon.cli import main
from daemon.cli.demo import APPROVED_SAMPLE, AUTO_INTENT, DATA, OutcomeRow, outcome_rows
from daemon.config import default_intents, load_settings
from daemon.store.engine import open_engine

# sample file -> (intent, final state); intent None: screened out before routing.
EXPECTED: dict[str, tuple[str | None, str]] = {
    "01-refund-request.eml": ("refund", "awaiting_approval"),
    "02-where-is-my-order.eml": ("order_status", "awaiting_approval"),
    "03-tracking-not-moving.eml": ("order_status", "sent"),  # the demo plays the agent
    "04-app-install-error.eml": ("technical", "awaiting_approval"),
    "05-password-reset.eml": ("account", "awaiting_approval"),
    "06-2fa-lost-phone.eml": ("account", "awaiting_approval"),
    "07-gdpr-erasure.eml": ("data_privacy", "escalated"),
    "08-legal-threat.eml": ("legal", "escalated"),
    "09-speak-to-a-human.eml": ("human_request", "escalated"),
    "10-showroom-question.eml": ("general", "awaiting_approval"),
    "11-out-of-office.eml": (None, "ignored"),
    "12-bounce.eml": (None, "ignored"),
    "13-reply-in-thread.eml": ("order_status", "awaiting_approval"),
    "14-german-refund.eml": ("refund", "awaiting_approval"),
    "15-spanish-order.eml": ("order_status", "awaiting_approval"),
    "16-privacy-complaint.eml": ("data_privacy", "escalated"),
    "17-html-only.eml": ("technical", "awaiting_approval"),
    "18-attachment-receipt.eml": ("technical", "awaiting_approval"),
    "19-malformed.eml": ("order_status", "awaiting_approval"),  # parsed with defects, not lost
    "20-newsletter.eml": (None, "ignored"),
    "21-own-mail-loop.eml": (None, "ignored"),
    "22-gift-card-question.eml": ("general", "awaiting_approval"),
    "23-refund-followup-by-tag.eml": ("refund", "awaiting_approval"),
}

# follow-up -> the mail whose ticket it joins (by In-Reply-To; by the [#1] subject tag)
THREADS = {
    "13-reply-in-thread.eml": "02-where-is-my-order.eml",
    "23-refund-followup-by-tag.eml": "01-refund-request.eml",
}

# sample -> words its recorded reason must contain
REASONS = {
    "03-tracking-not-moving.eml": "approved by demo-agent",
    "07-gdpr-erasure.eml": "risk topic: data_privacy",
    "16-privacy-complaint.eml": "risk topic: data_privacy",
    "08-legal-threat.eml": "risk topic: legal",
    "12-bounce.eml": "bounce",
    "21-own-mail-loop.eml": "our own mail",
}

ENV: dict[str, str | None] = {"COLUMNS": "200", "HELPDESKD_CONFIG": None}


@dataclass(frozen=True)
class Run:
    result: Result
    rows: list[OutcomeRow]
    outbox: dict[str, bytes]


def run_demo(folder: Path, *args: str) -> Run:
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder), *args], env=ENV)
    assert result.exit_code == 0, result.output
    settings = load_settings(folder / "helpdeskd.toml")
    engine = open_engine(settings.database_url)
    try:
        rows = outcome_rows(engine)
    finally:
        engine.dispose()
    new = folder / "mail" / "outbox" / "new"
    return Run(result, rows, {p.name: p.read_bytes() for p in sorted(new.iterdir())})


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "helpdeskd-demo"


@pytest.fixture(scope="module")
def runs(demo_folder: Path) -> tuple[Run, Run]:
    return run_demo(demo_folder), run_demo(demo_folder)


def by_sample(run: Run) -> dict[str, OutcomeRow]:
    return {r.sample: r for r in run.rows}


def test_every_sample_ends_in_its_expected_state(runs: tuple[Run, Run]) -> None:
    assert sorted(p.name for p in (DATA / "mail").glob("*.eml")) == sorted(EXPECTED)
    got = {r.sample: (None if r.intent == "-" else r.intent, r.state) for r in runs[0].rows}
    assert got == EXPECTED


def test_every_route_of_the_built_in_table_is_covered() -> None:
    assert {intent for intent, _ in EXPECTED.values() if intent} == set(default_intents())


def test_follow_ups_join_the_ticket_of_the_first_mail(runs: tuple[Run, Run]) -> None:
    rows = by_sample(runs[0])
    for follow_up, first in THREADS.items():
        assert rows[first].ticket is not None
        assert rows[follow_up].ticket == rows[first].ticket, follow_up
    tickets = Counter(r.ticket for r in rows.values() if r.ticket is not None)
    assert max(tickets.values()) == 2  # nothing else was merged


def test_reasons_name_the_rule_that_decided(runs: tuple[Run, Run]) -> None:
    rows = by_sample(runs[0])
    for sample, words in REASONS.items():
        assert words in rows[sample].reason, (sample, rows[sample].reason)
    assert all(r.reason for r in rows.values())


def test_outbox_holds_the_approved_reply_and_one_notice_per_escalation(
    runs: tuple[Run, Run],
) -> None:
    mails = [
        email.message_from_bytes(raw, policy=email.policy.default)
        for raw in runs[0].outbox.values()
    ]
    escalated = sum(state == "escalated" for _, state in EXPECTED.values())
    notices = [m for m in mails if m["To"] == "agents@larkspur-outdoor.example"]
    assert len(notices) == escalated
    assert all(str(m["Subject"]).strip().startswith("[escalated] ") for m in notices)
    (reply,) = [m for m in mails if m not in notices]
    original = email.message_from_bytes((DATA / "mail" / APPROVED_SAMPLE).read_bytes())
    assert reply["In-Reply-To"] == original["Message-ID"]
    assert reply["To"].addresses[0].addr_spec == "lukas.brenner@alpenmail.example"
    assert "Auto-Submitted" not in reply  # a person approved it
    body = reply.get_body(("plain",))
    assert body is not None
    assert "Tracking your parcel" in body.get_content()  # cites the knowledge base


def test_the_approved_reply_threads_on_the_raw_message_id(runs: tuple[Run, Run]) -> None:
    original = email.message_from_bytes((DATA / "mail" / APPROVED_SAMPLE).read_bytes())
    message_id = str(original["Message-ID"]).encode()
    (raw,) = [r for r in runs[0].outbox.values() if b"lukas.brenner@" in r]
    assert b"\nIn-Reply-To: " + message_id + b"\n" in raw


def test_second_run_prints_the_same_table(runs: tuple[Run, Run]) -> None:
    first, second = runs
    assert second.rows == first.rows
    assert second.outbox.keys() == first.outbox.keys()
    assert second.result.stdout == first.result.stdout
    for row in first.rows:
        assert f" {row.id} " in first.result.stdout


def test_demo_config_is_the_built_in_intent_table_with_one_auto_send_intent(
    demo_folder: Path, runs: tuple[Run, Run]
) -> None:
    settings = load_settings(demo_folder / "helpdeskd.toml")
    built_in = default_intents()
    assert settings.intents.keys() == built_in.keys()
    for name, intent in settings.intents.items():
        want = "auto_answer" if name == AUTO_INTENT else built_in[name].policy
        assert intent.model_copy(update={"policy": want}) == built_in[name].model_copy(
            update={"policy": want}
        )
        assert intent.policy == want
    assert settings.policies["auto_answer"].auto_send
    assert settings.escalation.agents_address == "agents@larkspur-outdoor.example"
    namespaces = {k.namespace for k in settings.knowledge.sources}
    assert namespaces >= {ns for i in built_in.values() for ns in i.namespaces}
    assert len(list((demo_folder / "articles").rglob("*.md"))) >= 15


def test_operator_commands_work_on_the_demo_config(
    demo_folder: Path, runs: tuple[Run, Run]
) -> None:
    config = str(demo_folder / "helpdeskd.toml")
    runner = CliRunner()
    states = Counter(state for _, state in EXPECTED.values())

    status = runner.invoke(main, ["status", "--config", config, "--json"], env=ENV)
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["states"] == dict(states)

    drafts = runner.invoke(main, ["drafts", "list", "--config", config], env=ENV)
    assert drafts.exit_code == 0, drafts.output
    assert drafts.stdout.count(" pending ") == states["awaiting_approval"]

    escalations = runner.invoke(main, ["escalations", "list", "--config", config], env=ENV)
    assert escalations.exit_code == 0, escalations.output
    assert escalations.stdout.count("risk topic: data_privacy") == 2

    check = runner.invoke(main, ["check-config", "--config", config], env=ENV)
    assert check.exit_code == 0, check.output
    assert "auto-send:  auto_answer" in check.stdout


def test_keep_processes_only_new_mail(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    first = run_demo(folder)
    (folder / "mail" / "inbox" / "new" / "24-new.eml").write_bytes(
        b"From: Ines Duarte <ines.duarte@correo.example>\n"
        b"To: support@larkspur-outdoor.example\n"
        b"Subject: Which payment methods do you accept?\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0100\n"
        b"Message-ID: <keep-test-1@correo.example>\n\n"
        b"Hello, can I pay with Klarna from Portugal?\n"
    )
    kept = run_demo(folder, "--keep")
    assert kept.rows[: len(first.rows)] == first.rows
    (new,) = kept.rows[len(first.rows) :]
    assert (new.sample, new.state) == ("24-new.eml", "awaiting_approval")
    assert "sample mails delivered" not in kept.result.stdout


def test_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path)], env=ENV)
    assert result.exit_code == 1
    assert "not made by `helpdeskd demo`" in result.output
    assert precious.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
