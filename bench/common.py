"""What every benchmark script shares: progress lines, memory readings, a fresh database."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def say(message: str) -> None:
    print(message, flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(pgdata: Path) -> None:
    """Stop and remove a previous run's embedded Postgres so every run starts from nothing."""
    if pgdata.exists():
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(pgdata)], cwd=ROOT, check=False)
        shutil.rmtree(pgdata)
