"""Wake-ups for the widget's long-poll: one LISTEN connection per process.

Re-reading its thread version every 0.2 s per waiting widget would make a few hundred open
widgets most of the server's work. Instead each process keeps one connection listening
on `oasis_thread` (the triggers of migration helpdesk/0003 notify it on commit, with
"t:<ticket id>" or "s:<session id>") and a waiting request sleeps on an Event until a change
to its own thread, or its deadline. While the listener is down (Postgres restarting, first
start), `listening()` is false and waiters fall back to re-reading the version on a timer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connections

log = logging.getLogger(__name__)

CHANNEL = "oasis_thread"
# The listener looks up this often (so `stop()` is prompt) and checks its connection is
# alive every HEARTBEAT_S (a silently dropped connection would otherwise never wake anyone).
TICK_S = 1.0
HEARTBEAT_S = 30.0
RECONNECT_S = 1.0


def ticket_key(ticket_id: int) -> str:
    return f"t:{ticket_id}"


def session_key(session_id: int) -> str:
    return f"s:{session_id}"


class Wakeups:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()
        self._stop = threading.Event()

    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        """Start the listener thread once per process (again if it died); cheap when running."""
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="oasis-thread-wakeups", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=TICK_S + 5)

    @contextmanager
    def watch(self, *keys: str) -> Iterator[threading.Event]:
        """An Event set by the next committed change to any of `keys`, while in the block."""
        event = threading.Event()
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                for key in keys:
                    waiting = self._waiters.get(key)
                    if waiting is not None:
                        waiting.discard(event)
                        if not waiting:
                            del self._waiters[key]

    def _wake(self, key: str | None) -> None:
        with self._lock:
            events = [e for es in self._waiters.values() for e in es] if key is None else self._waiters.get(key, ())
            for event in events:
                event.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # any failure: wake everyone (they re-check) and reconnect
                if not self._stop.is_set():
                    log.warning("thread wake-ups: listener lost (%s); reconnecting", exc)
            finally:
                self._listening.clear()
                self._wake(None)
            self._stop.wait(RECONNECT_S)

    def _listen(self) -> None:
        # The settings the request connections use (the test database under pytest); a plain
        # psycopg connection, outside Django's per-thread handling and any pool.
        params = connections["default"].get_connection_params()
        params["application_name"] = "oasis-thread-wakeups"  # to find it in pg_stat_activity
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            # A change committed while no one listened would otherwise wait out its deadline.
            self._wake(None)
            checked = time.monotonic()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=TICK_S):
                    self._wake(note.payload)
                if time.monotonic() - checked > HEARTBEAT_S:
                    conn.execute("SELECT 1")  # raises if the server went away silently
                    checked = time.monotonic()


WAKEUPS = Wakeups()


def wait_for_change(changed: threading.Event, *, deadline: float, step: float) -> None:
    """Sleep until `changed` is set or the deadline; at most `step` while nobody listens."""
    left = deadline - time.monotonic()
    if left <= 0:
        return
    changed.wait(left if WAKEUPS.listening() else min(step, left))
    changed.clear()
