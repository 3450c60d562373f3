"""The systemd unit passes `systemd-analyze verify` and runs what the README says."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "helpdeskd.service"
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
