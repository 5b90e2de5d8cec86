"""`manage.py seed_demo`: create the Oasis Outfitters demo workspace (once; a no-op afterwards)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from helpdesk.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS
from helpdesk.demo.loader import seed_demo


class Command(BaseCommand):
    help = "Create the demo workspace with its help center, orders, tickets and users (does nothing if it exists)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo()
        if not result.created:
            self.stdout.write(f"The {DEMO_SLUG!r} workspace already exists; nothing to do.")
            return
        self.stdout.write(
            f"Created the {DEMO_SLUG!r} workspace: {result.articles} articles, {result.orders} orders, "
            f"{result.tickets} tickets, {result.users} users."
        )
        logins = ", ".join(email for email, *_ in DEMO_USERS)
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}, demo only): {logins}")
