"""`helpdeskd demo`: a self-contained tour on embedded defaults."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
