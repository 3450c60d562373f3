"""A real Prometheus scrapes a running `helpdeskd run` (the OpenMetrics page it asks for first):
the target is up and a query returns the daemon's metrics."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.peers.common import Proc, free_port, wait_until
from tests.peers.prometheus import alive_and, prometheus_scraping

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.peers


def start_helpdeskd(tmp_path: Path, port: int) -> Proc:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    config = tmp_path / "helpdeskd.toml"
    config.write_text(
        'state_dir = "state"\n[[sources]]\nkind = "maildir"\nname = "inbox"\n'
        'path = "mail/inbox"\n[outbox]\nkind = "maildir"\npath = "mail/outbox"\n'
        f"[metrics]\nport = {port}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NOTIFY_SOCKET", None)
    return Proc.start(
        "helpdeskd",
        [sys.executable, "-m", "daemon.cli", "run", "--config", str(config)],
        log=tmp_path / "helpdeskd.log",
        env=env,
        cwd=tmp_path,
    )


def test_prometheus_scrapes_helpdeskd(tmp_path: Path) -> None:
    port = free_port()
    daemon = start_helpdeskd(tmp_path, port)
    try:
        with prometheus_scraping(f"127.0.0.1:{port}", tmp_path) as prometheus:
            targets = wait_until(
                lambda: alive_and(daemon, [t for t in prometheus.targets() if t["health"] == "up"]),
                "the helpdeskd target up",
                timeout=90,
                log=daemon.log,
            )
            assert targets[0]["labels"]["job"] == "helpdeskd"
            assert targets[0]["lastError"] == ""
            build = wait_until(
                lambda: prometheus.query("helpdeskd_build_info"), "helpdeskd_build_info"
            )
            assert build[0]["metric"]["version"]
            rows = prometheus.query("helpdeskd_messages or helpdeskd_escalations_open")
            assert rows and rows[0]["metric"]["__name__"].startswith("helpdeskd_")
    finally:
        code = daemon.stop()
    assert code == 0, (tmp_path / "helpdeskd.log").read_text()  # SIGTERM: a clean exit
