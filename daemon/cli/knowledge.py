"""Knowledge commands: index, search (and retrieval evaluation)."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
