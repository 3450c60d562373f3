"""`--json` on the list/show commands and check-config: one JSON document, stable field names,
the same rows the tables show (on the demo's database: held drafts, four escalations, sent mail)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from daemon.cli import main
from tests.cli.test_demo import ENV

DRAFT_FIELDS = {
    "id", "ticket", "owner", "status", "from", "subject", "confidence", "held_because", "created"
}  # fmt: skip


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("json") / "demo"
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder)], env=ENV)
    assert result.exit_code == 0, result.output
    return str(folder / "helpdeskd.toml")


def run_json(config: str, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--config", config, "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_drafts_list_and_show(config: str) -> None:
    drafts = run_json(config, "drafts", "list")
    assert len(drafts) >= 10
    assert all(set(d) == DRAFT_FIELDS and d["status"] == "pending" for d in drafts)
    assert all(isinstance(d["confidence"], float) and d["owner"] == "model" for d in drafts)
    shown = run_json(config, "drafts", "show", str(drafts[0]["id"]))
    assert set(shown) > DRAFT_FIELDS
    assert shown["body"] and shown["customer_wrote"] and isinstance(shown["citations"], list)
    assert shown["edited"] is False


def test_escalations_list_and_show(config: str) -> None:
    rows = run_json(config, "escalations", "list")
    assert len(rows) == 4  # GDPR erasure, legal threat, a person asked for, privacy complaint
    assert {"id", "ticket", "message", "status", "created", "reason", "outbox"} == set(rows[0])
    assert all(r["status"] == "open" and r["reason"] for r in rows)
    shown = run_json(config, "escalations", "show", str(rows[0]["id"]))
    assert shown["summary"] and shown["id"] == rows[0]["id"]


def test_outbox_list(config: str) -> None:
    rows = run_json(config, "outbox", "list", "--state", "sent")
    assert rows and all(r["state"] == "sent" and r["sent"] for r in rows)
    assert all(isinstance(r["to"], list) and r["to"] for r in rows)
    assert run_json(config, "outbox", "list") == []  # nothing waiting, failed or unknown


def test_tickets_show(config: str) -> None:
    tickets = run_json(config, "tickets", "list")
    shown = run_json(config, "tickets", "show", str(tickets[-1]["id"]))
    assert shown["id"] == tickets[-1]["id"] and shown["messages"]
    assert {"id", "state", "from", "reason"} == set(shown["messages"][0])
    assert shown["ownership_history"] == [] or "actor" in shown["ownership_history"][0]


def test_check_config(config: str, tmp_path: Path) -> None:
    good = run_json(config, "check-config")
    assert good["ok"] is True and good["config"] == config
    assert [s["name"] for s in good["sources"]] and good["auto_send"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[outbox]\nkind = "maildir"\npath = "x"\nbogus = 1\n')
    result = CliRunner().invoke(main, ["check-config", "--config", str(bad), "--json"], env=ENV)
    assert result.exit_code == 78
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert any("bogus" in p["key"] and p["advice"] for p in data["problems"])


def test_every_time_is_utc_with_its_offset(config: str) -> None:
    """SQLite hands stored times back without a zone; --json says they are UTC, everywhere."""
    times = [d["created"] for d in run_json(config, "drafts", "list")]
    times += [e["created"] for e in run_json(config, "escalations", "list")]
    times += [r["created"] for r in run_json(config, "outbox", "list", "--state", "sent")]
    times += [r["sent"] for r in run_json(config, "outbox", "list", "--state", "sent")]
    assert times and all(t.endswith("+00:00") for t in times), times
