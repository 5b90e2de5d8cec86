"""Agent benchmark: generated tickets through the local pipeline, inbound to decision.

Its own embedded Postgres (var/bench-agent-pg via OASIS_PGDATA, wiped at the start), a small
help center and shop, the Agent switched on. Each ticket goes in through
`helpdesk.services.ticket_create`; the after-commit hook runs the Agent inline
(OASIS_Q_SYNC=1), so the time of that call is inbound -> decision. The last line is JSON
{"tickets_per_s", "p95_s", ...}. BENCH_TICKETS sets the count (default 1000).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-agent-pg")))
os.environ.setdefault("OASIS_TESTING", "1")
os.environ["OASIS_Q_SYNC"] = "1"  # the run happens inside the inbound call: inbound -> decision
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, say  # noqa: E402

N = int(os.environ.get("BENCH_TICKETS", "1000"))

ARTICLES = {
    "returns.md": "---\ntitle: Returns and refunds\nurl: https://shop.test/help/returns\n---\n"
    "## Return window\n\nYou can return items within 30 days after delivery for a full refund.\n"
    "Refunds go back to the original payment method within 5 business days after we receive the item.\n\n"
    "## Final sale\n\nGift cards and final-sale items are never refundable.\n",
    "shipping.md": "---\ntitle: Shipping and delivery\nurl: https://shop.test/help/shipping\n---\n"
    "## Delivery times\n\nStandard delivery takes 3 to 5 business days.\n"
    "Express delivery arrives the next business day.\n\n"
    "## Tracking\n\nEvery parcel gets a tracking number by email once it ships.\n\n"
    "## Address changes\n\nWe can change the shipping address until the order ships.\n",
    "account.md": "---\ntitle: Your account\nurl: https://shop.test/help/account\n---\n"
    "## Reset your password\n\nUse the Forgot password link on the sign-in page to get a reset link by email.\n\n"
    "## Change your email\n\nYou can change your email address under Account settings; we confirm it by email.\n",
    "sizing.md": "---\ntitle: Size guide\nurl: https://shop.test/help/sizes\n---\n"
    "## Jackets\n\nOur jackets run true to size. If you are between sizes, take the larger one.\n\n"
    "## Care\n\nMachine wash cold and hang to dry.\n",
    "damaged.md": "---\ntitle: Damaged or wrong items\nurl: https://shop.test/help/damaged\n---\n"
    "## Damaged items\n\nIf an item arrives damaged, send us a photo and we ship a replacement at no cost.\n\n"
    "## Wrong items\n\nIf you received the wrong item, we send the right one and a prepaid return label.\n",
}
TEMPLATES = [
    "Where is my order {order}? It hasn't arrived yet.",
    "Hi, can you tell me when order {order} will be delivered?",
    "I'd like a refund for order {order}, the jacket doesn't fit.",
    "How many days do I have to return something?",
    "The mug in order {order} arrived broken, can you send a new one?",
    "I forgot my password and can't sign in.",
    "Does the rain jacket run true to size?",
    "Can I wash the sweater in the machine?",
    "Please change the shipping address of order {order}.",
    "¿Dónde está mi pedido {order}? Todavía no ha llegado.",
    "Je voudrais être remboursé pour la commande {order}.",
    "Wo ist meine Bestellung {order}?",
    "I will call my lawyer if this is not fixed.",
    "I want to speak to a manager about order {order}.",
    "Please charge my card 4111 1111 1111 1111 for the new order.",
    "The app crashes every time I open the checkout page.",
]


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command

    from ai.models import AgentRun
    from audit.services import Actor
    from helpdesk.helpcenter_import import import_helpcenter
    from helpdesk.services import ticket_create, workspace_create, workspace_update
    from helpdesk.shop import orders_load

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    workspace = workspace_create(name="Bench Shop", slug="bench", actor=actor)
    workspace_update(workspace=workspace, actor=actor, changes={"mode": "agent"})
    with tempfile.TemporaryDirectory() as folder:
        for name, text in ARTICLES.items():
            (Path(folder) / name).write_text(text)
        import_helpcenter(workspace=workspace, path=Path(folder), actor=actor)
    rng = random.Random(77)
    customers = [f"customer{i}@bench.test" for i in range(200)]
    orders: list[dict[str, Any]] = []
    for i in range(400):
        status = rng.choice(["processing", "shipped", "delivered"])
        orders.append(
            {
                "number": f"B{10000 + i}",
                "customer_email": customers[i % len(customers)],
                "status": status,
                "placed_at": "2026-11-01T10:00:00Z",
                "shipped_at": "2026-11-03T10:00:00Z" if status != "processing" else None,
                "delivered_at": "2026-11-06T10:00:00Z" if status == "delivered" else None,
                "carrier": "UPS",
                "tracking_number": f"1Z{rng.randrange(10**9, 10**10)}",
                "currency": "USD",
                "total": f"{rng.randrange(20, 300)}.00",
                "items": [{"sku": "JKT", "name": "Rain jacket", "qty": 1, "price": "20.00", "final_sale": False}],
            }
        )
    orders_load(workspace=workspace, data={"orders": orders}, actor=actor)
    say(f"workspace ready: {len(ARTICLES)} articles, {len(orders)} orders; warming up the model")
    ticket_create(
        workspace=workspace,
        channel="email",
        customer_email="warm@bench.test",
        subject="",
        body="Hello, where is my order?",
    )

    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(N):
        order = orders[rng.randrange(len(orders))]
        body = rng.choice(TEMPLATES).format(order=order["number"])
        t0 = time.perf_counter()
        ticket_create(
            workspace=workspace,
            channel=rng.choice(["chat", "web", "api"]),  # email would also send SMTP
            customer_email=order["customer_email"],
            customer_name="Bench Customer",
            subject="",
            body=body,
        )
        latencies.append(time.perf_counter() - t0)
        if (i + 1) % 100 == 0:
            say(f"{i + 1} tickets, {(i + 1) / (time.perf_counter() - start):.1f}/s")
    elapsed = time.perf_counter() - start
    runs = AgentRun.objects.filter(workspace=workspace, kind="agent").exclude(ticket__customer__email="warm@bench.test")
    decisions = Counter(runs.values_list("decision", flat=True))
    failed = runs.filter(status="failed").count()
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    say(f"decisions: {dict(decisions)}; failed runs: {failed}")
    subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
    print(
        json.dumps(
            {
                "tickets": N,
                "tickets_per_s": round(N / elapsed, 2),
                "p50_s": round(p50, 3),
                "p95_s": round(p95, 3),
                "decisions": dict(decisions),
                "failed": failed,
            }
        )
    )


if __name__ == "__main__":
    main()
