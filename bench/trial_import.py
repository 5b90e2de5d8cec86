"""Guided-trial benchmark: a first-time user with a 500-article Zendesk help center and 2,000 tickets.

Everything is generated on the fly (nothing big is committed): the help center is served by a
local Zendesk-shaped HTTP server (its articles API, sections and categories, 100 articles a page),
the tickets are a Zendesk export with the agents' replies. A fresh workspace starts a trial the way
the guided page does (the help center by URL, the tickets file, a sample of the tickets to run) in
its own embedded Postgres (var/bench-trial-pg); the clock runs from the start of the trial to the
moment the reviewer's 20 drafts are done (the review opens then; the rest of the sample keeps
running for the rates). The last line is JSON: articles, tickets, seconds_to_first_20_drafts,
crawl_pages_per_s, and the stages' times. BENCH_ARTICLES, BENCH_TICKETS and BENCH_SAMPLE change
the sizes (500, 2000, 200).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-trial-pg")))
os.environ.setdefault("OASIS_TESTING", "1")
os.environ["OASIS_Q_SYNC"] = "1"
os.environ.setdefault("OASIS_CRAWL_DELAY", "0")  # our own local server: no need to be polite to it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, say  # noqa: E402

N_ARTICLES = int(os.environ.get("BENCH_ARTICLES", "500"))
N_TICKETS = int(os.environ.get("BENCH_TICKETS", "2000"))
SAMPLE = int(os.environ.get("BENCH_SAMPLE", "200"))
OUT = ROOT / "var" / "bench-trial"

TOPICS = [
    ("Returns", "return", "You can return unused items within {n} days after delivery for a full refund."),
    ("Shipping", "delivery", "Standard delivery takes {n} business days; express delivery arrives the next day."),
    ("Payments", "payment", "We accept cards and PayPal; a refund reaches your card within {n} business days."),
    ("Accounts", "password", "Use the Forgot password link; the reset link is valid for {n} hours."),
    ("Sizing", "size", "Our {thing} runs true to size; between sizes, choose the larger one."),
    ("Care", "wash", "Machine wash the {thing} cold and hang it to dry; do not tumble dry."),
    ("Warranty", "warranty", "The {thing} has a {n}-year warranty against defects in materials."),
    ("Stores", "store", "Our stores open at {n} am on weekdays and close at 8 pm."),
]
THINGS = ["rain jacket", "hiking boot", "wool sweater", "trail tent", "down vest", "ski glove", "day pack", "fleece"]


def article_body(rng: random.Random, topic: tuple[str, str, str], thing: str, n: int) -> str:
    _, word, fact = topic
    parts = [f"<p>{fact.format(n=n, thing=thing)} This applies to every {thing} we sell.</p>"]
    for heading in ("Before you start", "Step by step", "Good to know"):
        sentences = " ".join(
            f"Customers often ask about {word} for the {rng.choice(THINGS)}; our team answers within one business day."
            for _ in range(3)
        )
        parts.append(f"<h2>{heading}</h2><p>{sentences} {fact.format(n=n + 1, thing=thing)}</p>")
    return "".join(parts)


def help_center(rng: random.Random, base: str) -> dict[str, Any]:
    categories = [{"id": 1, "name": "Orders"}, {"id": 2, "name": "Products"}]
    sections = [{"id": 10 + i, "name": t[0], "category_id": 1 if i < 4 else 2} for i, t in enumerate(TOPICS)]
    articles = []
    for i in range(N_ARTICLES):
        topic = TOPICS[i % len(TOPICS)]
        thing = THINGS[(i // len(TOPICS)) % len(THINGS)]
        articles.append(
            {
                "id": 1000 + i,
                "title": f"{topic[0]}: the {thing} ({i + 1})",
                "body": article_body(rng, topic, thing, 3 + i % 27),
                "html_url": f"{base}/hc/en-us/articles/{1000 + i}",
                "section_id": 10 + i % len(TOPICS),
                "draft": False,
            }
        )
    return {"categories": categories, "sections": sections, "articles": articles}


QUESTIONS = [
    ("How many days do I have to return my {thing}?", "You have 30 days to return it."),
    ("When will my {thing} be delivered?", "Standard delivery takes 3 to 5 business days."),
    ("I forgot my password and cannot sign in.", "Use the Forgot password link on the sign-in page."),
    ("Does the {thing} run true to size?", "It runs true to size."),
    ("Can I machine wash the {thing}?", "Yes, cold, and hang it to dry."),
    ("Is there a warranty on the {thing}?", "Yes, two years."),
    ("When does your store open?", "At 9 am on weekdays."),
    ("My lawyer will contact you about the broken {thing}.", "I have passed this to our manager."),
]


def tickets(rng: random.Random) -> dict[str, Any]:
    users = [{"id": i, "email": f"customer{i}@bench.test", "name": f"Customer {i}"} for i in range(1, 501)]
    rows = []
    for i in range(N_TICKETS):
        question, answer = rng.choice(QUESTIONS)
        thing = rng.choice(THINGS)
        requester = 1 + i % len(users)
        day = f"2026-02-{1 + i % 28:02d}T{8 + i % 10:02d}:00:00Z"
        rows.append(
            {
                "id": 50000 + i,
                "subject": question.format(thing=thing)[:60],
                "status": "solved",
                "created_at": day,
                "requester_id": requester,
                "via": {"channel": rng.choice(["email", "web", "chat"])},
                "comments": [
                    {"author_id": requester, "body": question.format(thing=thing), "public": True, "created_at": day},
                    {
                        "author_id": 9999,
                        "body": answer,
                        "public": True,
                        "created_at": day.replace(":00:00Z", ":30:00Z"),
                    },
                ],
            }
        )
    return {"tickets": rows, "users": users}


def serve(site: Any, data: dict[str, Any]) -> None:
    from helpdesk.tests.site_server import as_json

    routes: dict[str, Any] = {
        "/api/v2/help_center/locales.json": as_json({"locales": ["en-us"], "default_locale": "en-us"}),
        "/api/v2/help_center/en-us/sections.json?per_page=100": as_json(
            {"sections": data["sections"], "next_page": None}
        ),
        "/api/v2/help_center/en-us/categories.json?per_page=100": as_json(
            {"categories": data["categories"], "next_page": None}
        ),
    }
    pages = [data["articles"][i : i + 100] for i in range(0, len(data["articles"]), 100)]
    for n, page in enumerate(pages, start=1):
        path = "/api/v2/help_center/en-us/articles.json?" + ("per_page=100" if n == 1 else f"page={n}&per_page=100")
        nxt = f"{site.url}/api/v2/help_center/en-us/articles.json?page={n + 1}&per_page=100" if n < len(pages) else None
        routes[path] = as_json({"articles": page, "next_page": nxt, "count": len(data["articles"])})
    site.routes.update(routes)


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    from ai.models import ToolPermission, TrialRun
    from ai.trial.runner import TrialParams, trial_create, trial_execute
    from ai.views_trial import review_state
    from audit.services import Actor
    from helpdesk.models import HelpCenterSync
    from helpdesk.services import workspace_create

    call_command("migrate", verbosity=0)
    from helpdesk.tests.site_server import Site

    rng = random.Random(19)
    site = Site({})
    serve(site, help_center(rng, site.url))
    OUT.mkdir(parents=True, exist_ok=True)
    export = OUT / "zendesk-tickets.json"
    export.write_text(json.dumps(tickets(rng)))
    say(f"generated: {N_ARTICLES} articles served at {site.url}, {N_TICKETS} tickets in {export}")

    workspace = workspace_create(name="First-time shop", slug="first-time", actor=Actor.system("bench"))
    ToolPermission.objects.filter(workspace=workspace).update(enabled=True)
    params = TrialParams(
        helpcenter="",
        helpcenter_url=f"{site.url}/hc/en-us",
        helpcenter_kind="zendesk",
        tickets=str(export),
        sample=SAMPLE,
    )
    trial = trial_create(workspace=workspace, params=params)
    started = time.perf_counter()
    worker = threading.Thread(target=trial_execute, kwargs={"trial_id": trial.pk})
    worker.start()
    stages: dict[str, float] = {}
    first_20: float | None = None
    last_stage = ""
    while worker.is_alive():
        time.sleep(0.5)
        row = TrialRun.objects.get(pk=trial.pk)
        stage = row.stage.split(":")[0]
        if stage != last_stage:
            stages[stage] = round(time.perf_counter() - started, 1)
            say(f"{stages[stage]:7.1f} s  {row.stage}")
            last_stage = stage
        if first_20 is None and row.total:
            done, size = review_state(row)
            if size and done >= size:
                first_20 = time.perf_counter() - started
                say(f"{first_20:7.1f} s  the first {size} drafts are ready for review")
    worker.join()
    total = time.perf_counter() - started
    trial.refresh_from_db()
    site.stop()
    sync = HelpCenterSync.objects.filter(source__workspace=trial.sandbox).first()
    crawl_seconds = (sync.finished_at - sync.created_at).total_seconds() if sync and sync.finished_at else None
    summary = trial.report.get("summary", {})
    subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
    print(
        json.dumps(
            {
                "articles": (summary.get("helpcenter") or {}).get("created", 0),
                "tickets": summary.get("tickets_in_file", 0),
                "tickets_run": summary.get("tickets", 0),
                "seconds_to_first_20_drafts": round(first_20, 1) if first_20 is not None else None,
                "crawl_pages_per_s": round(N_ARTICLES / crawl_seconds, 1) if crawl_seconds else None,
                "seconds_total": round(total, 1),
                "stages_started_at_s": stages,
                "status": trial.status,
                "error": trial.error,
                "would_autosend_rate": summary.get("would_autosend_rate"),
            }
        )
    )


if __name__ == "__main__":
    main()
