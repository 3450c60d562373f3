"""`helpdeskd oauth login SOURCE`: authorise an XOAUTH2 mailbox once, from the terminal."""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path

import click

from connectors.accounts import ServerAccount
from connectors.base import ConnectorError
from daemon.cli.common import config_option, load
from daemon.config import Settings


@click.group()
def oauth() -> None:
    """OAuth2 (XOAUTH2) mailboxes: obtain the first refresh token."""


def account_named(settings: Settings, name: str) -> ServerAccount | None:
    accounts: dict[str, ServerAccount] = {
        s.name: s for s in settings.sources if isinstance(s, ServerAccount)
    }
    if isinstance(settings.outbox, ServerAccount):
        accounts["outbox"] = settings.outbox
    return accounts.get(name)


@oauth.command("login")
@config_option
@click.argument("source")
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
def oauth_login(config_path: Path | None, source: str, no_browser: bool) -> None:
    """Authorise SOURCE (an IMAP source's name, or `outbox`) per its oauth.flow and store the
    refresh token in its oauth.token_file."""
    from connectors.oauth_login import device_login, loopback_login

    account = account_named(load(config_path), source)
    if account is None or account.auth != "xoauth2" or not account.oauth.token_url:
        click.echo(f"{source}: not an account with auth = xoauth2 and oauth.token_url", err=True)
        sys.exit(1)
    cfg = account.oauth
    try:
        if cfg.flow == "device":
            device_login(cfg, click.echo, account.timeout)
        else:
            opener = click.echo if no_browser else open_browser
            loopback_login(cfg, opener, account.timeout)
    except ConnectorError as exc:
        click.echo(f"{source}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{source}: refresh token stored in {cfg.token_file}")


def open_browser(url: str) -> None:
    click.echo(f"opening {url}")
    webbrowser.open(url)


COMMANDS = (oauth,)
