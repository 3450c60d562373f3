"""Exit codes a service manager can act on: 78 for a configuration, 70 for a crash.

No systemd runs as PID 1 in the test container (`systemctl is-system-running`: offline) and
`systemd-run --user` has no user manager, so the restart behaviour is checked against the
unit file: it restarts on every failure except the configuration code the CLI really exits
with (both measured here on a real `helpdeskd` process).
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "helpdeskd.service"
ROOT = str(Path(__file__).resolve().parents[2])
CARD = "4111111111111111"

CRASHING_RUN = f"""
import daemon.cycle as cycle  # `run` imports run_cycle from here when it runs (lazy CLI)
def boom(services):
    raise RuntimeError("customer alice.smith@example.org paid with {CARD}")
cycle.run_cycle = boom
from daemon.cli import main
main()
"""


def helpdeskd(
    tmp_path: Path, *args: str, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("JOURNAL_STREAM", None)
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    config = tmp_path / "helpdeskd.toml"
    if not config.exists():
        config.write_text(
            'state_dir = "state"\n[[sources]]\nkind = "maildir"\nname = "inbox"\n'
            'path = "mail/inbox"\n[outbox]\nkind = "maildir"\npath = "mail/outbox"\n'
        )
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "daemon.cli"]
    return subprocess.run(
        [*cmd, *args, "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def unit_service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNIT)
    return parser["Service"]


def test_a_configuration_error_exits_78_and_is_not_restarted(tmp_path: Path) -> None:
    (tmp_path / "helpdeskd.toml").write_text("[pipeline]\nworkers = 0\n")
    for command in ("run", "check-config", "status"):
        result = helpdeskd(tmp_path, command)
        assert result.returncode == 78, (command, result.stderr)
        assert "pipeline.workers" in result.stderr
    service = unit_service()
    assert service["RestartPreventExitStatus"].split() == ["78"]
    assert service["Restart"] == "on-failure"


def test_a_secret_missing_when_services_are_built_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "helpdeskd.toml").write_text(
        'state_dir = "state"\n[llm]\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "HELPDESKD_TEST_UNSET_KEY"\n[models.triage]\nmodel = "m"\n'
    )
    result = helpdeskd(tmp_path, "run", "--once")
    assert result.returncode == 78, result.stderr
    assert "llm.api_key_env" in result.stderr and "Traceback" not in result.stderr


def test_a_crash_exits_70_is_restarted_and_logs_its_traceback_masked(tmp_path: Path) -> None:
    result = helpdeskd(tmp_path, "run", "--once", code=CRASHING_RUN)
    assert result.returncode == 70, result.stderr
    assert "CRITICAL helpdeskd: run crashed" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: customer a***@example.org paid with [card]" in result.stderr
    assert CARD not in result.stderr and "alice.smith" not in result.stderr
    assert "70" not in unit_service()["RestartPreventExitStatus"].split()


def test_usage_errors_keep_click_s_code(tmp_path: Path) -> None:
    assert helpdeskd(tmp_path, "run", "--no-such-flag").returncode == 2
