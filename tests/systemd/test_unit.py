"""The systemd unit passes `systemd-analyze verify` and runs what the README says."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "helpdeskd.service"
INSTALLED = "/opt/helpdeskd/.venv/bin/helpdeskd"


def read_unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def test_unit_runs_the_daemon_with_state_and_secrets() -> None:
    service = read_unit()["Service"]
    assert service["ExecStart"].endswith("helpdeskd run")
    assert service["Type"] in {"simple", "notify"}
    assert service["StateDirectory"] == "helpdeskd"
    assert service["CacheDirectory"] == "helpdeskd"  # the prepared language model
    assert service["DynamicUser"] == "yes"
    assert "helpdeskd.env" in service["EnvironmentFile"]
    assert service["Restart"] == "on-failure"


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed")
    binary = Path(sys.prefix) / "bin" / "helpdeskd"
    unit = tmp_path / "helpdeskd.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(binary)))
    result = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [
        line for line in (result.stdout + result.stderr).splitlines() if "helpdeskd.service" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    result = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for helpdeskd.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout


def test_hardening_keeps_what_the_daemon_needs() -> None:
    service = read_unit()["Service"]
    # IMAP, SMTP, the LLM over HTTPS, the metrics port; PostgreSQL's socket, journald, sd_notify
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "PrivateNetwork" not in service and "IPAddressDeny" not in service
    assert service["Type"] == "notify" and service["WatchdogSec"]
    assert service["MemoryDenyWriteExecute"] == "yes"


def test_documentation_names_what_the_wheel_installs() -> None:
    docs = read_unit()["Unit"]["Documentation"].split()
    local = [d.removeprefix("file://") for d in docs if d.startswith("file://")]
    assert local == ["/opt/helpdeskd/.venv/share/doc/helpdeskd/README.md"]
    shared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    mapping = shared["targets"]["wheel"]["shared-data"]
    installed = {f"/opt/helpdeskd/.venv/{target}": source for source, target in mapping.items()}
    assert (ROOT / installed[local[0]]).is_file()
    assert all(d.startswith(("file://", "man:")) for d in docs)


MDWE = """
import ctypes, sys
# PR_SET_MDWE (65), PR_MDWE_REFUSE_EXEC_GAIN: the kernel's form of MemoryDenyWriteExecute=yes
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(99)
from daemon.cli import main
main()
"""


def test_the_daemon_runs_without_writable_executable_memory(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes: a whole cycle (parse, orjson, SQLite, lxml, the index)
    under the kernel's equivalent rule (PR_SET_MDWE, Linux 6.3+)."""
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    (tmp_path / "mail" / "inbox" / "new" / "1.eml").write_bytes(
        b"From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: Where is my order\r\n"
        b"Message-ID: <mdwe@example.com>\r\n\r\nMy order 10001 has not arrived.\r\n"
    )
    config = tmp_path / "helpdeskd.toml"
    config.write_text(
        'state_dir = "state"\n[[sources]]\nkind = "maildir"\nname = "inbox"\n'
        'path = "mail/inbox"\n[outbox]\nkind = "maildir"\npath = "mail/outbox"\n'
    )
    result = subprocess.run(
        [sys.executable, "-c", MDWE, "run", "--once", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode == 99:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr
    assert "source inbox: 1 new (ok)" in result.stdout
    assert "processed 1 message(s)" in result.stdout
