"""A `manage.py qcluster` child process, for the tests, the benches and `make test-redis` that
need real workers (killed, restarted, several at once) against the database this process uses."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict[str, Any]) -> str:
    """DATABASE_URL for a child to reach the database of `settings_dict` (once connected: the
    embedded server's socket folder is known then), e.g. the test database."""
    user = quote(str(settings_dict.get("USER") or "postgres"), safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    host = quote(str(settings_dict.get("HOST") or ""), safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(str(settings_dict['NAME']), safe='')}"


def qcluster_start(*, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a cluster in a session of its own, so that it and the workers it forks stop together."""
    return subprocess.Popen(  # noqa: S603 (our own argv)
        [sys.executable, str(BASE_DIR / "manage.py"), "qcluster"],
        cwd=BASE_DIR,
        env={**os.environ, "OASIS_Q_SYNC": "0", **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def qcluster_stop(process: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 30.0) -> None:
    """kill: SIGKILL to the whole group at once (a crash). Else SIGTERM to the leader, which stops
    its workers in order (signalling them directly makes it wait for workers it cannot reap),
    then SIGKILL to whatever of the group is left."""
    if kill:
        _signal_group(process, signal.SIGKILL)
    elif process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
