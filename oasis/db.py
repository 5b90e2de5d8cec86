"""Database helpers shared by the apps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

P = ParamSpec("P")
R = TypeVar("R")

DEADLOCK = "40P01"  # SQLSTATE deadlock_detected


def retry_on_deadlock(fn: Callable[P, R], *, attempts: int = 3) -> Callable[P, R]:
    """Run an atomic service again when Postgres aborted it to break a deadlock.

    Only for idempotent calls made outside any transaction: the aborted attempt left nothing
    behind, so running it again is the same request, not a second one.
    """

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, attempts + 1):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                sqlstate = getattr(exc.__cause__, "sqlstate", None)
                if sqlstate != DEADLOCK or attempt == attempts or transaction.get_connection().in_atomic_block:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    return wrapper
