"""examples/alerts.yml: valid rules (`promtool check rules`) that fire on the series they are
for (`promtool test rules tests/ops/alerts_test.yml`), on metric names the daemon exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from daemon.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "examples" / "alerts.yml"
TESTS = Path(__file__).with_name("alerts_test.yml")
STORE_GAUGES = {  # read from the store at scrape time (StoreCollector), not in REGISTRY alone
    "helpdeskd_outbox_rows",
    "helpdeskd_outbox_oldest_age_seconds",
    "helpdeskd_quarantined_messages",
    "helpdeskd_llm_spend_today",
    "helpdeskd_llm_daily_cap",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool not installed (apt-get install prometheus; tests/peers/provision.sh)")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_each_alert_fires_on_its_series() -> None:
    result = promtool("test", "rules", str(TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_name_only_metrics_helpdeskd_exports() -> None:
    exported = {
        name for c in REGISTRY._collector_to_names for name in REGISTRY._collector_to_names[c]
    }
    named = set(re.findall(r"\bhelpdeskd_[a-z_]+", RULES.read_text())) - {"helpdeskd_"}
    missing = named - exported - STORE_GAUGES
    assert not missing, missing
