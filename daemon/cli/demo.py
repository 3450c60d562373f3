"""`helpdeskd demo`: the whole product on one screen, on embedded defaults.

Decides what the tour contains and where it lives. It writes a demo folder — a commented
config, the knowledge articles and a Maildir of sample mail shipped in `daemon/demo_data/` —
builds the knowledge index, runs one cycle, and prints every message with its route, final
state and reason. The offline drafter (no LLM) holds every draft for an agent, so the demo then
plays the agent once, through the same `drafts approve` path a person uses, to show a reply
going out. A fresh run deletes only what the demo made (mail, state, articles, config) so the
table is the same every time; `--keep` leaves everything and processes only new mail.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import jinja2
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlmodel import col, select

from connectors.maildir import ensure_maildir
from daemon.app import Services, build_services
from daemon.approvals import ApprovalError, approve
from daemon.cli.common import load
from daemon.config import Settings, default_intents
from daemon.cycle import CycleReport, run_cycle
from daemon.knowledge import rebuild_index
from daemon.outbox import flush_outbox
from daemon.store.engine import session_scope
from daemon.tables import Draft, Message, MessageParse, State

DATA = Path(__file__).resolve().parent.parent / "demo_data"
MARKER = ".helpdeskd-demo"
CONFIG_NAME = "helpdeskd.toml"
MADE_BY_DEMO = ("mail", "state", "articles")
AUTO_INTENT = "order_status"
"""The low-risk intent the demo config lets answer without an agent (policy auto_answer)."""
APPROVED_SAMPLE = "03-tracking-not-moving.eml"
"""The held draft the demo approves as an agent would (an order_status mail: see AUTO_INTENT)."""
AGENT = "demo-agent"
WIDE = 120
"""Terminal columns from which the table also shows the sender."""
PROSE = 100
"""Paragraphs wrap at this width even in wider terminals, to stay readable."""

STATE_STYLE: dict[str, str] = {
    State.sent: "green",
    State.awaiting_approval: "yellow",
    State.escalated: "magenta",
    State.ignored: "dim",
    State.rejected: "dim",
    State.quarantined: "bold red",
}
"""The states a message ends in after a cycle (an agent's approval aside), with their colour."""


class DemoError(Exception):
    """The demo folder cannot be used (it holds files the demo did not make)."""


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One line of the demo's table: a message and where it ended."""

    id: int
    sample: str
    sender: str
    subject: str
    intent: str
    ticket: int | None
    state: str
    reason: str


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("helpdeskd-demo"),
    show_default=True,
    help="Folder for the demo's config, mail, articles and state.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep mail, state and your edits to the config and articles; process only new mail.",
)
def demo(directory: Path, keep: bool) -> None:
    """Run the whole product on sample mail: one cycle, a table of outcomes, where to look next."""
    directory = directory.resolve()
    try:
        seeded = prepare_folder(directory, fresh=not keep)
    except DemoError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    settings = load(directory / CONFIG_NAME)
    indexed = rebuild_index(settings)
    tool_service = start_tool_service()
    if tool_service is not None:
        settings = point_tools_at(settings, tool_service.url)
    services = build_services(settings)
    try:
        report = run_cycle(services)
        approved = play_agent(services)
        rows = outcome_rows(services.engine)
    finally:
        services.close()
        if tool_service is not None:
            tool_service.stop()
    console = Console(highlight=False)
    print_intro(console, directory, seeded, indexed, report, approved, keep)
    console.print(outcome_table(rows, console.width))
    print_epilogue(console, directory, rows, approved)


def prepare_folder(directory: Path, *, fresh: bool) -> int:
    """Make the demo folder ready; return how many sample mails were delivered to the inbox."""
    check_folder(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by `helpdeskd demo`; safe to delete\n")
    if fresh:
        for name in MADE_BY_DEMO:
            shutil.rmtree(directory / name, ignore_errors=True)
        (directory / CONFIG_NAME).unlink(missing_ok=True)
    if not (directory / CONFIG_NAME).exists():
        write_config(directory / CONFIG_NAME)
    if not (directory / "articles").exists():
        shutil.copytree(DATA / "articles", directory / "articles")
    inbox = directory / "mail" / "inbox"
    if inbox.exists():
        return 0
    return deliver_samples(inbox)


def check_folder(directory: Path) -> None:
    """Refuse a folder the demo did not make: a fresh run deletes what it finds there."""
    if directory.exists() and not directory.is_dir():
        raise DemoError(f"{directory} is a file: choose another folder with --dir")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise DemoError(
            f"{directory} exists and was not made by `helpdeskd demo`: "
            "choose an empty or new folder with --dir"
        )


def start_tool_service() -> Any:
    """examples/tool_service.py serving the demo shop's orders on a free port; None when
    helpdeskd runs from an installed wheel, which has no examples/ (the drafts then say so)."""
    path = Path(__file__).resolve().parents[2] / "examples" / "tool_service.py"
    spec = importlib.util.spec_from_file_location("helpdeskd_example_tools", path)
    if not path.is_file() or spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    orders = json.loads((DATA / "orders.json").read_text(encoding="utf-8"))
    service = module.ToolService(orders=orders)
    service.start()
    return service


def point_tools_at(settings: Settings, url: str) -> Settings:
    """The config names the example service's default address; this run's port differs."""
    tools = {
        name: tool.model_copy(update={"url": tool.url.replace(DEFAULT_TOOL_URL, url)})
        for name, tool in settings.tools.items()
    }
    return settings.model_copy(update={"tools": tools})


DEFAULT_TOOL_URL = "http://127.0.0.1:8099"


def write_config(path: Path) -> None:
    text = config_template().render(
        config_path=shown(path),
        tool_url=DEFAULT_TOOL_URL,
        namespaces=sorted(p.name for p in (DATA / "articles").iterdir() if p.is_dir()),
        intents=default_intents(),
        auto_intent=AUTO_INTENT,
    )
    path.write_text(text, encoding="utf-8")


def config_template() -> jinja2.Template:
    # TOML, not HTML: values are escaped by the `toml` filter, so HTML autoescape stays off.
    env = jinja2.Environment(  # noqa: S701
        loader=jinja2.FileSystemLoader(DATA),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["toml"] = toml_value
    return env.get_template("helpdeskd.toml.j2")


def toml_value(value: Any) -> str:
    """A string or a list of strings as TOML (a JSON string is a valid TOML basic string)."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def deliver_samples(inbox: Path) -> int:
    """Deliver every sample to the Maildir as an MTA would: write in tmp/, rename into new/."""
    ensure_maildir(inbox)
    samples = sorted((DATA / "mail").glob("*.eml"))
    for sample in samples:
        tmp = inbox / "tmp" / sample.name
        shutil.copyfile(sample, tmp)
        tmp.rename(inbox / "new" / sample.name)
    return len(samples)


def play_agent(services: Services) -> int | None:
    """Approve the held draft of APPROVED_SAMPLE as an agent would; return its message id."""
    with session_scope(services.engine) as session:
        found = session.exec(
            select(Message.id, Draft.id)
            .where(Message.source_key == APPROVED_SAMPLE, Draft.id == Message.draft_id)
            .where(Message.state == State.awaiting_approval, Draft.status == "pending")
        ).first()
    if found is None:  # approved before (--keep), or a real drafter sent it on its own
        return None
    message_pk, draft_id = found
    assert message_pk is not None and draft_id is not None  # keys of stored rows
    try:
        approve(services, draft_id, AGENT)
    except ApprovalError:
        return None
    flush_outbox(services.engine, services.sink)
    return message_pk


def outcome_rows(engine: Engine) -> list[OutcomeRow]:
    with session_scope(engine) as session:
        messages = session.exec(
            select(Message, MessageParse.parsed)
            .join(MessageParse, col(MessageParse.message_pk) == col(Message.id), isouter=True)
            .order_by(col(Message.id))
        ).all()
        return [outcome_row(m, parsed or {}) for m, parsed in messages]


def outcome_row(m: Message, parsed: Mapping[str, Any]) -> OutcomeRow:
    assert m.id is not None
    sender = (parsed.get("from") or {}).get("name") or m.sender or "?"
    waiting = m.state not in STATE_STYLE
    reason = m.reason or ""
    if waiting and m.last_error:  # a stage failed and will be retried at the next cycle
        reason = f"failed {m.failures}x, retried next cycle: {m.last_error}"
    return OutcomeRow(
        id=m.id,
        sample=m.source_key,
        sender=sender,
        subject=m.subject if m.subject is not None else f"({m.source_key})",
        intent=(m.route or {}).get("intent") or "-",
        ticket=m.ticket_id,
        state=m.state,
        reason=reason,
    )


def outcome_table(rows: list[OutcomeRow], width: int) -> Table:
    """The table for a terminal `width` columns wide: narrower than WIDE, the sender is left
    out and each reason goes under its subject, so no column is squeezed unreadable."""
    wide = width >= WIDE
    table = Table(box=None, padding=(0, 1), header_style="bold underline")
    table.add_column("#", justify="right")
    if wide:
        table.add_column("from", max_width=18, no_wrap=True, overflow="ellipsis")
        table.add_column("subject", max_width=30, no_wrap=True, overflow="ellipsis")
    else:
        table.add_column("subject / reason", ratio=1)
    table.add_column("intent", no_wrap=True)
    table.add_column("ticket", justify="right")
    table.add_column("state", no_wrap=True)
    if wide:
        table.add_column("reason", ratio=1)
    for r in rows:
        state = Text(r.state, style=STATE_STYLE.get(r.state, ""))
        row = (str(r.id), r.intent, str(r.ticket or ""), state)
        if wide:
            table.add_row(row[0], r.sender, r.subject, *row[1:], r.reason)
        else:
            subject = Text(r.subject, no_wrap=True, overflow="ellipsis")
            reason = Padding(Text(r.reason, style="dim"), (0, 0, 0, 2))
            table.add_row(row[0], Group(subject, reason), *row[1:])
    return table


def print_intro(
    console: Console,
    directory: Path,
    seeded: int,
    indexed: int,
    report: CycleReport,
    approved: int | None,
    keep: bool,
) -> None:
    articles = len(list((directory / "articles").rglob("*.md")))
    how = "kept as it was (--keep)" if keep else "fresh: mail and state recreated"
    console.print("[bold]helpdeskd demo[/]: Larkspur Outdoor, a fictional outdoor-gear shop")
    console.print(f"  folder     {shown(directory)} ({how})")
    console.print(f"  knowledge  {articles} articles indexed as {indexed} passages")
    if seeded:
        console.print(f"  mail       {seeded} sample mails delivered to mail/inbox/new")
    console.print(
        f"  one cycle  {report.processed} messages processed; "
        f"{report.outbox.sent} mails written to the outbox"
    )
    if approved is not None:
        console.print(f"  the agent  approved the held draft of message {approved}; reply sent")
    console.print()


def print_epilogue(
    console: Console, directory: Path, rows: list[OutcomeRow], approved: int | None
) -> None:
    counts = Counter(r.state for r in rows)
    console.print(
        f"{len(rows)} messages: "
        + ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items()))
    )
    console.print()
    console.print(
        f"No LLM is configured, so the offline drafter wrote every draft and holds each one "
        f"for an agent. {AUTO_INTENT} may be answered automatically (policy auto_answer in the "
        f"config), and with an LLM drafter its confident, cited replies to verified senders "
        f"would go out on their own. Risky topics and requests for a person are escalated, "
        f"machine-written mail is ignored, and follow-ups join their ticket."
        + (
            f" The demo played the agent for message {approved}: approved, reply sent."
            if approved is not None
            else ""
        ),
        width=min(console.width, PROSE),
    )
    print_next_steps(console, directory)


def print_next_steps(console: Console, directory: Path) -> None:
    program = program_name()
    config = shown(directory / CONFIG_NAME)
    console.print("\n[bold]where to look next[/]")
    for label, text in (
        ("outbox", f"{shown(directory / 'mail' / 'outbox' / 'new')}/  (replies, escalations)"),
        ("drafts", f"{program} drafts list --config {config}"),
        ("escalations", f"{program} escalations list --config {config}"),
        ("status", f"{program} status --config {config}"),
        ("config", f"{config}  (edit, then: {program} demo --keep)"),
    ):
        console.print(f"  {label:<12} {text}", soft_wrap=True)


def program_name() -> str:
    """How to call helpdeskd again: its name when on PATH, else the path it was run from."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "helpdeskd":
        return "helpdeskd"
    on_path = shutil.which("helpdeskd")
    if on_path and Path(on_path).resolve() == argv0.resolve():
        return "helpdeskd"
    return shown(argv0)


def shown(path: Path) -> str:
    """A path as short as it can be said: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


COMMANDS: tuple[click.Command, ...] = (demo,)
