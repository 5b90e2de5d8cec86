"""The demo workspace: Oasis Outfitters, a fictional outdoor-clothing shop.

The data files use the DESIGN.md import formats (help center Markdown, orders JSON, tickets
JSON Lines) so they double as examples of those formats. Dates in them are relative to the
`as_of` moment written in orders.json; `seed_demo` moves every date forward by whole days so
the demo always looks recent ("delivered 12 days ago" stays 12 days ago).
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
HELPCENTER_DIR = DEMO_DIR / "helpcenter"
ORDERS_FILE = DEMO_DIR / "orders.json"
TICKETS_FILE = DEMO_DIR / "tickets.jsonl"

DEMO_SLUG = "demo"
DEMO_NAME = "Oasis Outfitters"
# Demo-only credentials, printed by `make run` and documented in the README. Never deploy them.
DEMO_PASSWORD = "oasis-demo"  # noqa: S105
DEMO_USERS = (
    # email, role, is_staff, is_superuser
    ("agent@demo.oasis", "agent", False, False),
    ("manager@demo.oasis", "manager", True, False),
    ("finance@demo.oasis", "finance", True, False),
    ("admin@demo.oasis", "admin", True, True),
)
