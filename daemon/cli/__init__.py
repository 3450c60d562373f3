"""The `helpdeskd` command line: one click group, one module per area.

Decides nothing itself: every command loads the settings, builds the services it needs and
calls into the daemon. Commands print for people by default and JSON with `--json` where the
output feeds other tools. Exit codes (`daemon.cli.common`): 0 done, 1 a problem the output
explains, 2 bad usage or unreadable input, 70 a crash, 78 a configuration error, 130 Ctrl-C.

Start-up is per command: `COMMANDS` names each command's module and its short help, so
`helpdeskd --help` imports no command module and `helpdeskd drafts list` imports only
daemon/cli/review.py and what it needs (agents, cron jobs and monitoring call these often).
tests/cli/test_startup.py checks the table against the commands themselves.
"""

from __future__ import annotations

from types import ModuleType

import click

from daemon import __version__
from daemon.cli.common import ExitCodeGroup
from daemon.private import restrict_umask

COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module in daemon/cli, attribute, short help shown by `helpdeskd --help`)
    "backfill": (
        "backfill",
        "backfill",
        "Read MAILBOX's history (a configured source name) into the store: record, parse "
        "and screen each message, skipping what is already recorded.",
    ),
    "check-config": (
        "ops",
        "check_config",
        "Validate the configuration: every problem with its key (exit 78), or a summary (exit 0).",
    ),
    "demo": (
        "demo",
        "demo",
        "Run the whole product on sample mail: one cycle, a table of outcomes, where to look next.",
    ),
    "drafts": ("review", "drafts", "Drafts held for an agent's approval."),
    "escalations": ("ops", "escalations", "Escalated tickets: the human queue."),
    "eval-retrieval": (
        "knowledge",
        "eval_cmd",
        "Recall@1/5/10 and MRR of retrieval per set, beside bm25s and bm25s + Snowball "
        "stemmer on the same passages.",
    ),
    "index": (
        "knowledge",
        "index_cmd",
        "Index Markdown/HTML/text folders and .jsonl files (default: the configured sources).",
    ),
    "oauth": (
        "oauth",
        "oauth",
        "OAuth2 (XOAUTH2) mailboxes: obtain the first refresh token.",
    ),
    "outbox": (
        "outbox",
        "outbox",
        "Outgoing mail: every reply and notice is a row here first.",
    ),
    "parse": (
        "mail",
        "parse",
        "Parse mail files however broken they are (exit 2 only when a file cannot be read).",
    ),
    "requeue": (
        "ops",
        "requeue_cmd",
        "Send quarantined messages back to the stage that broke (after fixing the cause).",
    ),
    "run": (
        "ops",
        "run",
        "Poll every source and answer mail until stopped (SIGTERM), or once with --once.",
    ),
    "search": (
        "knowledge",
        "search_cmd",
        "Search the knowledge index as the retrieve stage would (QUERY may be an email's text).",
    ),
    "stats": (
        "stats",
        "stats",
        "LLM requests, tokens and cost per intent and per resolved ticket; rejected drafts.",
    ),
    "status": (
        "ops",
        "status",
        "Counts per state, quarantined messages, each source's last poll, the outbox, and the "
        "tickets a human owns.",
    ),
    "tickets": (
        "tickets",
        "tickets",
        "Tickets and who owns them: the model, the human queue or an agent.",
    ),
}


class LazyGroup(ExitCodeGroup):
    """A group whose commands are imported when invoked; `--help` reads `COMMANDS` only (exit
    codes as `ExitCodeGroup` decides)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(command_module(entry[0]), entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, shorten(COMMANDS[name][2], limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def command_module(name: str) -> ModuleType:
    """Import one command module (static imports: tests/layout follows them)."""
    if name == "backfill":
        from daemon.cli import backfill

        return backfill
    if name == "demo":
        from daemon.cli import demo

        return demo
    if name == "knowledge":
        from daemon.cli import knowledge

        return knowledge
    if name == "mail":
        from daemon.cli import mail

        return mail
    if name == "oauth":
        from daemon.cli import oauth

        return oauth
    if name == "outbox":
        from daemon.cli import outbox

        return outbox
    if name == "review":
        from daemon.cli import review

        return review
    if name == "stats":
        from daemon.cli import stats

        return stats
    if name == "tickets":
        from daemon.cli import tickets

        return tickets
    from daemon.cli import ops

    return ops


def shorten(text: str, limit: int) -> str:
    """The first sentence cut to `limit` characters the way click shortens a command's help."""
    return click.Command(None, help=text).get_short_help_str(limit)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="helpdeskd")
def main() -> None:
    """helpdeskd answers customer-support email: it reads mail, screens out robots, routes,
    looks things up, drafts, and then sends, holds for an agent, or escalates."""
    restrict_umask()  # every file it writes (database, index, outbox) is private: 0600/0700


__all__ = ["COMMANDS", "main"]
