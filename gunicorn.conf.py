"""Gunicorn settings for the web processes; gunicorn reads this file when started in this folder.

`DB_POOL_MAX_SIZE=12 gunicorn oasis.wsgi` then runs 4 processes of 80 threads: every open chat
widget keeps one long-poll waiting on a thread (it holds no database connection meanwhile).
"""

from __future__ import annotations

import os
import sys
from typing import Any

worker_class = "gthread"
workers = int(os.environ.get("OASIS_WEB_WORKERS", "4"))
threads = int(os.environ.get("OASIS_WEB_THREADS", "80"))
# Switch the GIL every 0.2 ms instead of Python's 5 ms. A web thread is I/O-bound: some twenty
# short database round trips per request, and after each it waits for the GIL again. With 5 ms,
# a thread busy building a response makes the others wait up to 5 ms at every one of them,
# while some of them hold row locks (the ticket-number lock on the workspace) that a burst of
# new chats queues on. Measured with `make bench-chat` (see bench/RESULTS.md).
GIL_SWITCH_S = float(os.environ.get("OASIS_GIL_SWITCH_S", "0.0002"))


def post_fork(server: Any, worker: Any) -> None:
    sys.setswitchinterval(GIL_SWITCH_S)
