"""The web processes' gunicorn settings load and apply the GIL switch interval."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def test_it_runs_threaded_workers_that_switch_the_gil_often():
    conf = runpy.run_path(str(CONF))
    assert conf["worker_class"] == "gthread" and conf["threads"] >= 64
    before = sys.getswitchinterval()
    try:
        conf["post_fork"](None, None)
        assert abs(sys.getswitchinterval() - conf["GIL_SWITCH_S"]) < 1e-6 and conf["GIL_SWITCH_S"] < before
    finally:
        sys.setswitchinterval(before)
