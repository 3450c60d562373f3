"""The `helpdeskd` command line: one click group, one module per area.

Decides nothing itself: every command loads the settings, builds the services it needs and
calls into the daemon. Commands print for people by default and JSON with `--json` where the
output feeds other tools. Exit codes (`daemon.cli.common`): 0 done, 1 a problem the output
explains, 2 bad usage or unreadable input, 70 a crash, 78 a configuration error, 130 Ctrl-C.
"""

from __future__ import annotations

import click

from daemon import __version__
from daemon.cli import backfill, common, demo, knowledge, mail, ops, outbox, review, stats
from daemon.cli import tickets as tickets_cli
from daemon.private import restrict_umask


@click.group(
    cls=common.ExitCodeGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="helpdeskd")
def main() -> None:
    """helpdeskd answers customer-support email: it reads mail, screens out robots, routes,
    looks things up, drafts, and then sends, holds for an agent, or escalates."""
    restrict_umask()  # every file it writes (database, index, outbox) is private: 0600/0700


for module in (ops, review, outbox, mail, knowledge, demo, stats, backfill, tickets_cli):
    for command in module.COMMANDS:
        main.add_command(command)

__all__ = ["common", "main"]
