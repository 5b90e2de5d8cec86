"""The PostgreSQL backend, plus work that runs just before a transaction commits.

`connection.before_commit(flush, item)` queues `item`; right before COMMIT, `flush` is called
once with every item it queued in this transaction, in order. Items queued inside a savepoint
that rolls back are dropped with it, like `transaction.on_commit` callbacks, and a rollback
drops them all. The audit log uses it to append a transaction's events to the workspace's
hash chain at the very end: the chain lock is then held for two round trips and the commit,
instead of from the first event to the end of the transaction (one workspace's writers all
queue on that lock).

Under a test case's wrapping transaction nothing commits: the queue is flushed when the
outermost block inside it ends, where the code under test would have committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.postgresql import base

Flush = Callable[[list[Any]], None]


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_commit_queue: list[tuple[set[str], Flush, Any]] = []

    def before_commit(self, flush: Flush, item: Any) -> None:
        if not self.in_atomic_block:
            raise RuntimeError("before_commit needs a transaction")
        self.before_commit_queue.append((set(self.savepoint_ids), flush, item))

    def run_before_commit(self, only: Flush | None = None) -> None:
        """Flush what is queued (`only`: that flush's items), now, in this transaction."""
        while any(only is None or f is only for _, f, _ in self.before_commit_queue):
            queued = self.before_commit_queue
            self.before_commit_queue = [q for q in queued if only is not None and q[1] is not only]
            batches: dict[Flush, list[Any]] = {}
            for _sids, flush, item in queued:
                if only is None or flush is only:
                    batches.setdefault(flush, []).append(item)
            for flush, items in batches.items():
                flush(items)

    def commit(self) -> None:
        # A failing flush raises here; Atomic then rolls the whole transaction back.
        self.run_before_commit()
        super().commit()

    def _savepoint_commit(self, sid: str) -> None:
        if self.atomic_blocks and all(getattr(block, "_from_testcase", False) for block in self.atomic_blocks):
            self.run_before_commit()  # the end of a "transaction" inside a test case's
        super()._savepoint_commit(sid)  # type: ignore[misc]

    def _savepoint_rollback(self, sid: str) -> None:
        super()._savepoint_rollback(sid)  # type: ignore[misc]
        self.before_commit_queue = [q for q in self.before_commit_queue if sid not in q[0]]

    def _rollback(self) -> None:
        self.before_commit_queue = []
        super()._rollback()  # type: ignore[misc]

    def _close(self) -> None:
        self.before_commit_queue = []
        super()._close()  # type: ignore[misc]
