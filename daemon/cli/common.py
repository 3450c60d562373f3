"""Helpers every command shares: the --config option, loading settings, building services,
and the exit codes.

Decides what a command's exit status means, so systemd (and scripts) can tell a configuration
to fix from a crash to restart: 0 done, 1 a problem the output explains, 2 bad usage or
unreadable input, 70 (EX_SOFTWARE) an unexpected error — a crash, logged with its traceback
masked like every log line —, 78 (EX_CONFIG) a configuration that cannot be used, wherever it
is found (loading, or building the services: a secret not set), 130 interrupted by Ctrl-C.
The unit restarts on everything but 78.

`open_services` builds everything a cycle needs (the model stack, the retriever, templates);
`open_store` only the settings and the database, for the commands that read or change rows
(list, show, status): they start without importing the pipeline, the knowledge base or the
helpdesk modules. The settings and logging modules are imported when a command runs, not
with this module: the command group (daemon/cli/__init__.py) is built on `ExitCodeGroup` and
`helpdeskd --help` imports no more than click.
"""

from __future__ import annotations

import gc
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from daemon.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from daemon.app import Services
    from daemon.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_SOFTWARE = 70  # sysexits.h EX_SOFTWARE: a crash; systemd restarts the daemon
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: fix the configuration; systemd does not restart
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "-c",
        "config_path",
        type=click.Path(path_type=Path),
        default=None,
        help="TOML config file (default: $HELPDESKD_CONFIG, ./helpdeskd.toml, "
        "/etc/helpdeskd/helpdeskd.toml, else the embedded defaults).",
    )(func)


def load(config_path: Path | None) -> Settings:
    """Load settings or exit 78 printing every problem with its key."""
    from daemon.config import load_settings
    from daemon.logs import setup_logging

    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        print_problems(exc.problems)
        sys.exit(EXIT_CONFIG)
    setup_logging(settings.logging)
    return settings


class ExitCodeGroup(click.Group):
    """The command group that turns what escapes a command into its exit code: a
    `ConfigError` (a secret not set, found while building the services) 78 with its problems,
    any other exception 70 with its traceback logged masked, Ctrl-C 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            print_problems(exc.problems)
            raise SystemExit(EXIT_CONFIG) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors (2) and explicit exits keep their codes
        except Exception:
            from daemon.logs import log_crash

            log_crash(ctx.invoked_subcommand or "helpdeskd")
            raise SystemExit(EXIT_SOFTWARE) from None


def print_problems(problems: list[tuple[str, str]]) -> None:
    from daemon.logs import stderr_is_journal

    err = "<3>" if stderr_is_journal() else ""  # an error for `journalctl -p err` too
    click.echo(f"{err}configuration has {len(problems)} problem(s):", err=True)
    for key, advice in problems:
        click.echo(f"{err}  {key}: {advice}", err=True)


@contextmanager
def open_services(config_path: Path | None) -> Iterator[Services]:
    from daemon.app import build_services

    services = build_services(load(config_path))
    # What start-up built (modules, settings, services) lives as long as the process: frozen,
    # the cyclic garbage collector stops walking it at every full collection, ~15% of the
    # time of a long run or backfill (each of its ORM rows and parse results allocates).
    gc.freeze()
    try:
        yield services
    finally:
        services.close()


@dataclass(frozen=True, slots=True)
class Store:
    """The settings and the database: what the list, show and status commands read."""

    settings: Settings
    engine: Engine


@contextmanager
def open_store(config_path: Path | None) -> Iterator[Store]:
    """The settings and the database engine (schema brought up to date), disposed after."""
    from daemon.llm.pii import PiiMasker, set_log_masker
    from daemon.private import private_dir
    from daemon.store.engine import migrate_to_head, open_engine

    settings = load(config_path)
    set_log_masker(PiiMasker.from_settings(settings.pii) if settings.pii.mask_logs else None)
    private_dir(settings.state_dir)
    engine = open_engine(settings.database_url, echo=settings.store.echo, migrate=False)
    if stored_revision(engine) not in head_revisions():
        migrate_to_head(engine)  # Alembic is imported only when there is something to do
    try:
        yield Store(settings, engine)
    finally:
        engine.dispose()


REVISION = re.compile(r'^(down_)?revision\b[^=]*=\s*["\']?([\w-]+|None)', re.MULTILINE)


def head_revisions() -> set[str]:
    """The revisions no other one revises, read from the migration files' headers."""
    from daemon.store.engine import MIGRATIONS

    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in REVISION.findall(path.read_text()):
            (revised if down else revisions).add(value)
    return revisions - revised


def stored_revision(engine: Engine) -> str | None:
    """The database's Alembic revision (None: a new or unmigrated database)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def iso(value: object) -> str | None:
    """A stored time for --json: UTC, ISO 8601 to the second (SQLite gives naive UTC back)."""
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return None
