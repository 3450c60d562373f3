"""Start-up per command: `--help` imports no command module, a list command no pipeline,
knowledge, helpdesk or migration code (not timed: benchmarks/startup.py measures the time),
and the static help table agrees with the commands themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from daemon.cli import COMMANDS, command_module, main

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "sqlalchemy", "sqlmodel", "bs4", "whoosh", "alembic", "openai", "httpx", "jinja2", "lxml",
    "daemon.app", "daemon.pipeline", "daemon.knowledge", "daemon.helpdesk_sync", "daemon.stages",
)  # fmt: skip
PROBE = """
import json, sys
from daemon.cli import main
try:
    main.main(sys.argv[1:], prog_name="helpdeskd")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(args: list[str], cwd: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HELPDESKD_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, check=True
    )
    modules: list[str] = json.loads(done.stderr.decode().strip().splitlines()[-1])
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_help_imports_no_command_and_no_heavy_library(tmp_path: Path) -> None:
    assert imported_by(["--help"], tmp_path) == set()


@pytest.mark.parametrize(
    "command",
    [
        ["drafts", "list"],
        ["drafts", "list", "--json"],
        ["escalations", "list"],
        ["outbox", "list"],
        ["tickets", "list", "--json"],
        ["status"],
    ],
)
def test_list_commands_import_the_store_only(command: list[str], tmp_path: Path) -> None:
    imported_by(["status"], tmp_path)  # the first run creates and migrates the database
    heavy = imported_by(command, tmp_path)
    assert {"sqlalchemy", "sqlmodel"} <= heavy  # it did read the database
    assert {h for h in heavy if not h.startswith(("sqlalchemy", "sqlmodel"))} == set()


def test_static_help_table_matches_the_commands() -> None:
    ctx = click.Context(main)
    for name, (module, attr, short) in COMMANDS.items():
        command = getattr(command_module(module), attr)
        assert isinstance(command, click.Command)
        assert main.get_command(ctx, name) is command
        assert command.callback is not None
        assert command.callback.__module__ == f"daemon.cli.{module}"
        assert command.name == name
        assert command.help is not None
        assert " ".join(command.help.split()).startswith(short), name
    assert main.get_command(ctx, "nope") is None
