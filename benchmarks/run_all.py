"""Run every benchmark in this folder, one after the other, each in its own process.

Usage: python benchmarks/run_all.py [--quick]   (--quick is passed on to each benchmark)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name == "run_all.py" or script.name.startswith("_"):
            continue
        print(f"\n=== {script.name} ===", flush=True)
        result = subprocess.run([sys.executable, str(script), *sys.argv[1:]], check=False)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
