"""Helpers every command shares: the --config option, loading settings, building services."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from daemon.app import Services, build_services
from daemon.config import Settings, load_settings
from daemon.errors import ConfigError
from daemon.logs import setup_logging

F = TypeVar("F", bound=Callable[..., Any])


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
    """Load settings or exit 1 printing every problem with its key."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        print_problems(exc.problems)
        sys.exit(1)
    setup_logging(settings.logging)
    return settings


def print_problems(problems: list[tuple[str, str]]) -> None:
    click.echo(f"configuration has {len(problems)} problem(s):", err=True)
    for key, advice in problems:
        click.echo(f"  {key}: {advice}", err=True)


@contextmanager
def open_services(config_path: Path | None) -> Iterator[Services]:
    services = build_services(load(config_path))
    # What start-up built (modules, settings, services) lives as long as the process: frozen,
    # the cyclic garbage collector stops walking it at every full collection, ~15% of the
    # time of a long run or backfill (each of its ORM rows and parse results allocates).
    gc.freeze()
    try:
        yield services
    finally:
        services.close()
