"""A throwaway Prometheus server that scrapes one target, for the metrics tests.

Decides how a test gets a real Prometheus: Debian's `prometheus` binary started on a free
loopback port with a temporary config (one job, `helpdeskd`, scraped every second) and its
TSDB in the test's scratch folder, stopped afterwards. Ready when `/-/ready` answers 200.
`query(expr)` and `targets()` read its HTTP API (`/api/v1/query`, `/api/v1/targets`).
Missing binary: the test skips naming the package and tests/peers/provision.sh.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers.common import Proc, elapsed, free_port, report, require_binary, wait_until


@dataclass(frozen=True)
class PrometheusServer:
    url: str

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:  # noqa: S310
            return json.load(response)["data"]

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.api("/api/v1/targets")["activeTargets"]
        return active

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("/api/v1/query", query=expr)["result"]
        return result


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def alive_and(proc: Proc, answer: Any) -> Any:
    """`answer`, after failing with the log when the process has exited (for `wait_until`)."""
    proc.check_alive()
    return answer


@contextmanager
def prometheus_scraping(target: str, root: Path) -> Iterator[PrometheusServer]:
    """Prometheus scraping `target` (host:port) every second, data under `root`."""
    binary = require_binary("prometheus", "prometheus")
    config = root / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: helpdeskd\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    t0 = time.monotonic()
    proc = Proc.start(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        log=root / "prometheus.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: alive_and(proc, ready(url)), "prometheus /-/ready", log=proc.log)
        report("prometheus", elapsed(t0))
        yield PrometheusServer(url)
    finally:
        proc.stop()
