"""`manage.py run_demo`, the body of `make run`: database, demo data, a worker and the web server.

It migrates, seeds the demo workspace on an empty database, then runs `qcluster` and
`runserver` as child processes until Ctrl-C or SIGTERM. On the way out it stops both
children and, when the database is the embedded one, the embedded Postgres too, so nothing
is left running. A second run reuses the data under var/.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from helpdesk.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS
from helpdesk.models import Workspace

STOP_TIMEOUT = 10.0


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


class Command(BaseCommand):
    help = "Run the demo: migrate, seed the demo workspace if the database is empty, start a worker and the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Address for runserver (default 127.0.0.1:8000)")

    def handle(self, *args: Any, **options: Any) -> None:
        addr: str = options["addr"]
        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        failed = ""
        try:
            call_command("migrate", interactive=False, verbosity=0)
            if not Workspace.objects.exists():
                self.stdout.write("Empty database: creating the demo workspace…")
                call_command("seed_demo", stdout=self.stdout)
            # The children open their own connections; ours would only hold the server open.
            connections.close_all()
            manage = str(Path(settings.BASE_DIR) / "manage.py")
            for name, argv in (
                ("qcluster", [sys.executable, manage, "qcluster"]),
                ("runserver", [sys.executable, manage, "runserver", addr, "--noreload"]),
            ):
                # A session of its own: stopping a child also stops whatever it forked
                # (qcluster's workers), and a terminal's Ctrl-C reaches only us.
                children.append((name, subprocess.Popen(argv, env=os.environ.copy(), start_new_session=True)))  # noqa: S603 (our own argv)
            self._banner(addr)
            failed = self._wait(children)
        except _Stop as stop:
            self.stdout.write(f"\n{stop}: stopping…")
        finally:
            # A second Ctrl-C must not interrupt the cleanup half-way.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            self._stop_children(children)
            self._stop_database()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed:
            raise CommandError(f"{failed} exited unexpectedly; stopped the rest.")
        self.stdout.write("Stopped.")

    def _banner(self, addr: str) -> None:
        base = f"http://{addr}"
        logins = "\n".join(f"    {email:<22} ({role})" for email, role, *_ in DEMO_USERS)
        self.stdout.write(
            f"\nSupport Oasis demo is running.\n"
            f"  Inbox:       {base}/inbox/\n"
            f"  Back office: {base}/admin/\n"
            f"  Help center: {base}/help/{DEMO_SLUG}/\n"
            f"  Shop page with the chat widget: {base}/chat/demo/{DEMO_SLUG}/ "
            f"(signed in: ?customer=hannah.kim@example.com)\n"
            f"  Approvals (manager): {base}/approvals/   Invoices (finance): {base}/admin/billing/invoice/\n"
            f"  Logins (password {DEMO_PASSWORD!r}; demo only):\n{logins}\n"
            f"Press Ctrl-C to stop.\n"
        )

    def _wait(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> str:
        while True:
            for name, process in children:
                code = process.poll()
                if code is not None:
                    self.stderr.write(f"{name} exited with status {code}.")
                    return name
            time.sleep(0.5)

    def _stop_children(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        # SIGTERM to the leader only: qcluster shuts its own workers down in order, and
        # signalling them directly makes its sentinel wait for workers it cannot reap.
        for _, process in children:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_TIMEOUT:.0f}s; killing it.")
                self._signal_group(process, signal.SIGKILL)
                process.wait()
            # Leftovers of the group (a worker that outlived its parent) go too.
            self._signal_group(process, signal.SIGKILL)

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def _stop_database(self) -> None:
        database = settings.DATABASES["default"]
        if database.get("ENGINE") != "oasis.pgembedded":
            return
        connections.close_all()
        from oasis import embedded_pg

        options: Any = database["OPTIONS"]
        embedded_pg.stop(Path(options["pgdata"]))
        self.stdout.write("Embedded Postgres stopped.")
