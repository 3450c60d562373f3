"""Mail commands: `parse` (the parse contract, for people and for other tools)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from daemon.mail.message import parse_bytes


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per file, one per line, in order (the parse contract).",
)
def parse(files: tuple[Path, ...], as_json: bool) -> None:
    """Parse mail files however broken they are (exit 2 only when a file cannot be read)."""
    status = 0
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            click.echo(f"{path}: cannot read: {exc.strerror or exc}", err=True)
            status = 2
            continue
        parsed = parse_bytes(raw)
        if as_json:
            click.echo(json.dumps(parsed.to_json(), ensure_ascii=False))
        else:
            print_human(path, parsed.to_json())
    sys.exit(status)


def print_human(path: Path, data: dict[str, object]) -> None:
    sender = data["from"]
    auto = data["auto"]
    assert isinstance(auto, dict)
    click.echo(f"== {path}")
    click.echo(f"from:     {sender}")
    click.echo(f"subject:  {data['subject']}")
    click.echo(f"date:     {data['date']}   language: {data['language']}")
    click.echo(f"auto:     {auto['kind'] or 'no'} {auto['reason']}")
    attachments = data["attachments"]
    assert isinstance(attachments, list)
    for a in attachments:
        pdf = f", {len(a['text'])} chars of PDF text" if a.get("text") else ""
        click.echo(f"attached: {a['filename']} ({a['content_type']}, {a['size']} bytes{pdf})")
    forwarded = data.get("forwarded") or []
    assert isinstance(forwarded, list)
    for f in forwarded:
        sender = (f["from"] or {}).get("email") or (f["from"] or {}).get("name") or "?"
        click.echo(f"forwards: {f['kind']} from {sender} ({f['date']}): {f['subject']}")
    if data["defects"]:
        click.echo(f"defects:  {', '.join(data['defects'])}")  # type: ignore[arg-type]
    click.echo("--- reply text ---")
    click.echo(str(data["reply_text"]).strip())


COMMANDS = (parse,)
