"""OAuth2 lifecycle against a local authorization server: rotated refresh tokens are kept and
used after a restart, the first token comes from `oauth login` (device code, loopback + PKCE),
and a refused or dying token raises the source alert naming the command."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from connectors.accounts import OAuth2Settings
from connectors.base import ConnectorError
from connectors.oauth2 import StoredToken, TokenSource, load_stored, save_stored
from connectors.oauth_login import device_login, loopback_login
from daemon.app import build_services
from daemon.cli import main
from daemon.metrics import REGISTRY
from daemon.oauth_tokens import token_problems
from daemon.source_alerts import check_alerts
from daemon.store.engine import session_scope
from daemon.tables import Cursor
from tests.conftest import make_settings
from tests.oauth.authserver import AuthServer


@pytest.fixture
def server() -> Iterator[AuthServer]:
    srv = AuthServer()
    yield srv
    srv.close()


def oauth_cfg(server: AuthServer, tmp_path: Path, **extra: object) -> OAuth2Settings:
    return OAuth2Settings(
        token_url=f"{server.url}/token",
        device_authorization_url=f"{server.url}/devicecode",
        authorization_url=f"{server.url}/authorize",
        client_id="helpdeskd",
        scope="offline_access mail",
        refresh_token_env="TEST_REFRESH",
        token_file=tmp_path / "oauth" / "m365.json",
        **extra,
    )


def seed(server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> str:
    token = str(server.state.issue()["refresh_token"])
    monkeypatch.setenv("TEST_REFRESH", token)
    return token


def test_rotated_refresh_token_is_stored_and_used_after_restart(
    server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = seed(server, monkeypatch)
    cfg = oauth_cfg(server, tmp_path)
    assert TokenSource(cfg, name="m365").token()
    stored = load_stored(cfg.token_file)
    assert stored is not None and stored.refresh_token != first
    assert stored.refresh_token in server.state.refresh_tokens  # the rotated one, still valid
    assert cfg.token_file is not None and cfg.token_file.stat().st_mode & 0o777 == 0o600
    assert cfg.token_file.parent.stat().st_mode & 0o777 == 0o700
    for _restart in range(3):  # the seed is dead now: only the stored token can work
        assert TokenSource(cfg, name="m365").token()
    refreshes = [g for g in server.state.grants if g["grant_type"] == "refresh_token"]
    assert refreshes[0]["refresh_token"] == first
    assert first not in [g["refresh_token"] for g in refreshes[1:]]
    assert refreshes[-1]["scope"] == "offline_access mail"


def test_token_sources_of_one_mailbox_refresh_one_after_the_other(
    server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll, the IDLE thread and the Sent copy each hold a TokenSource for one token file:
    refreshing at once, none may send a refresh token another one just spent."""
    seed(server, monkeypatch)
    cfg = oauth_cfg(server, tmp_path)
    start = threading.Barrier(8)
    errors: list[Exception] = []

    def refresh() -> None:
        start.wait()
        try:
            TokenSource(cfg, name="m365").token()
        except ConnectorError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    spent = [g["refresh_token"] for g in server.state.grants if g["grant_type"] == "refresh_token"]
    assert len(spent) == len(set(spent)) == 8  # each rotated token used once
    stored = load_stored(cfg.token_file)
    assert stored is not None and stored.refresh_token in server.state.refresh_tokens
    assert cfg.token_file is not None
    assert [p.name for p in cfg.token_file.parent.iterdir()] == [cfg.token_file.name]


def test_a_new_configured_seed_wins_over_the_stored_token(
    server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(server, monkeypatch)
    cfg = oauth_cfg(server, tmp_path)
    TokenSource(cfg).token()
    server.state.refresh_tokens.clear()  # the operator revoked everything and set a new seed
    fresh = seed(server, monkeypatch)
    assert TokenSource(cfg).token()
    assert server.state.grants[-1]["refresh_token"] == fresh


def test_refused_refresh_names_the_login_command_and_alerts(
    server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_REFRESH", "revoked")
    settings = imap_settings(server, tmp_path)
    source = settings.sources[0]
    with pytest.raises(ConnectorError) as caught:
        TokenSource(source.oauth, name="m365").token()
    assert "re-authorise: helpdeskd oauth login m365" in str(caught.value)
    assert caught.value.permanent
    problems = token_problems(settings)
    assert "refused" in problems["m365"]
    services = build_services(settings)
    try:
        assert check_alerts(services) == ["m365"]
        with session_scope(services.engine) as session:
            cursor = session.get(Cursor, "m365")
            assert cursor is not None and cursor.last_error is not None
            assert cursor.last_error.startswith("ALERT")
            assert "re-authorise: helpdeskd oauth login m365" in cursor.last_error
    finally:
        services.close()
    gauge = REGISTRY.get_sample_value("helpdeskd_source_failing", {"source": "m365"})
    assert gauge == 1


def imap_settings(server: AuthServer, tmp_path: Path, **oauth: object) -> Any:
    return make_settings(
        tmp_path,
        sources=[
            {
                "kind": "imap",
                "name": "m365",
                "host": "127.0.0.1",
                "username": "support@example.com",
                "auth": "xoauth2",
                "oauth": {
                    "token_url": f"{server.url}/token",
                    "client_id": "helpdeskd",
                    "refresh_token_env": "TEST_REFRESH",
                    **oauth,
                },
            }
        ],
    )


def test_a_token_near_its_lifetime_alerts_and_sets_the_gauge(
    server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_REFRESH", "x")
    settings = imap_settings(server, tmp_path, refresh_token_days=90)
    token_file = settings.sources[0].oauth.token_file
    assert token_file == tmp_path / "state" / "oauth" / "m365.json"  # the default place
    now = time.time()
    save_stored(token_file, StoredToken("rt", now - 40 * 86400, ""))
    assert token_problems(settings, now) == {}
    expiry = REGISTRY.get_sample_value("helpdeskd_oauth_token_expiry_seconds", {"source": "m365"})
    assert expiry == pytest.approx(now + 50 * 86400, abs=5)  # a Unix time, as alerts.yml reads
    save_stored(token_file, StoredToken("rt", now - 85 * 86400, ""))
    problem = token_problems(settings, now)["m365"]
    assert "lifetime in 5.0 days" in problem
    assert problem.endswith("re-authorise: helpdeskd oauth login m365")


def test_device_code_login_waits_slows_down_and_stores_the_token(
    server: AuthServer, tmp_path: Path
) -> None:
    server.state.force_slow_down = 1
    cfg = oauth_cfg(server, tmp_path)
    shown: list[str] = []

    def approve_after_two_polls() -> None:
        while sum(g.get("grant_type", "").endswith("device_code") for g in server.state.grants) < 3:
            time.sleep(0.05)
        for code in server.state.device_codes:
            server.state.device_codes[code] = True

    threading.Thread(target=approve_after_two_polls, daemon=True).start()
    device_login(cfg, shown.append, slow_down_step=0.1)
    assert "ABCD-EFGH" in shown[0]
    polls = [g for g in server.state.grants if g.get("device_code")]
    assert len(polls) >= 3 and server.state.slow_downs >= 1
    stored = load_stored(cfg.token_file)
    assert stored is not None and stored.refresh_token in server.state.refresh_tokens
    assert stored.seed == "" and stored.failure == ""


def test_loopback_login_uses_pkce_and_stores_the_token(server: AuthServer, tmp_path: Path) -> None:
    cfg = oauth_cfg(server, tmp_path, flow="loopback")

    def browser(url: str) -> None:
        assert httpx.get(url, follow_redirects=True).status_code == 200

    loopback_login(cfg, browser, wait=10)
    exchange = server.state.grants[-1]
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"].startswith("http://127.0.0.1:")
    stored = load_stored(cfg.token_file)
    assert stored is not None and stored.refresh_token in server.state.refresh_tokens


def test_oauth_login_command_stores_the_first_token(server: AuthServer, tmp_path: Path) -> None:
    config = tmp_path / "helpdeskd.toml"
    config.write_text(
        f"""state_dir = "state"
[[sources]]
kind = "imap"
name = "m365"
host = "127.0.0.1"
username = "support@example.com"
auth = "xoauth2"
[sources.oauth]
flow = "device"
token_url = "{server.url}/token"
device_authorization_url = "{server.url}/devicecode"
client_id = "helpdeskd"
scope = "offline_access"
"""
    )
    threading.Thread(target=approve_when_asked, args=(server,), daemon=True).start()
    result = CliRunner().invoke(main, ["oauth", "login", "m365", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "ABCD-EFGH" in result.output
    stored = json.loads((tmp_path / "state" / "oauth" / "m365.json").read_text())
    assert stored["refresh_token"] in server.state.refresh_tokens
    missing = CliRunner().invoke(main, ["oauth", "login", "nope", "-c", str(config)])
    assert missing.exit_code == 1


def approve_when_asked(server: AuthServer) -> None:
    while not server.state.device_codes:
        time.sleep(0.05)
    for code in list(server.state.device_codes):
        server.state.device_codes[code] = True


def test_status_shows_a_dying_token_with_the_command(server: AuthServer, tmp_path: Path) -> None:
    config = tmp_path / "helpdeskd.toml"
    config.write_text(
        f"""state_dir = "state"
[[sources]]
kind = "imap"
name = "m365"
host = "127.0.0.1"
username = "support@example.com"
auth = "xoauth2"
[sources.oauth]
token_url = "{server.url}/token"
client_id = "helpdeskd"
refresh_token_days = 90
"""
    )
    token_file = tmp_path / "state" / "oauth" / "m365.json"
    save_stored(token_file, StoredToken("rt", time.time() - 88 * 86400))
    result = CliRunner().invoke(main, ["status", "-c", str(config), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (source,) = data["sources"]
    assert source["source"] == "m365" and source["error"].startswith("ALERT: OAuth2")
    assert "re-authorise: helpdeskd oauth login m365" in source["error"]
    (oauth,) = data["oauth"]
    assert oauth["expires_in_days"] == pytest.approx(2.0, abs=0.1)
    assert oauth["action"] == "re-authorise: helpdeskd oauth login m365"
    human = CliRunner(env={"COLUMNS": "300"}).invoke(main, ["status", "-c", str(config)])
    assert "oauth m365: refresh token 2.0 days left" in human.output
