from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from billing.schedules import setup_schedules


class Command(BaseCommand):
    help = "Create or update billing's django-q2 schedules (hourly finaliser, monthly invoices)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{setup_schedules()} billing schedules in place")
