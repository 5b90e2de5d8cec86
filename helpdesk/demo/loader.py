"""Builds the demo workspace from the files next to this module, through the services."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from audit.services import Actor, audit_record
from helpdesk import hooks, services
from helpdesk.demo import (
    DEMO_NAME,
    DEMO_PASSWORD,
    DEMO_SLUG,
    DEMO_USERS,
    HELPCENTER_DIR,
    ORDERS_FILE,
    TICKETS_FILE,
)
from helpdesk.models import Article, ArticleStatus, Ticket, VerificationMethod, Workspace
from helpdesk.services_identity import identity_verify
from helpdesk.shop import orders_load

SEED_ACTOR = Actor.system("seed_demo")


@dataclass(frozen=True)
class SeedResult:
    created: bool
    articles: int = 0
    orders: int = 0
    tickets: int = 0
    users: int = 0


def date_shift(as_of: str, *, now: dt.datetime | None = None) -> dt.timedelta:
    """Whole days from the data's `as_of` to today, never moving a date into the future."""
    anchor = parse_datetime(as_of)
    if anchor is None:
        raise ValueError(f"as_of {as_of!r} is not an ISO 8601 datetime")
    return dt.timedelta(days=((now or timezone.now()) - anchor).days)


def _shifted(value: str | None, shift: dt.timedelta) -> str | None:
    if not value:
        return value
    parsed = parse_datetime(value)
    if parsed is None:
        return value  # left for orders_load to report
    return (parsed + shift).isoformat()


def orders_data(shift: dt.timedelta | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ORDERS_FILE.read_text(encoding="utf-8"))
    shift = shift if shift is not None else date_shift(data["as_of"])
    for order in data["orders"]:
        for key in ("placed_at", "shipped_at", "delivered_at"):
            order[key] = _shifted(order.get(key), shift)
    return data


def tickets_data() -> list[dict[str, Any]]:
    lines = TICKETS_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def articles_data(path: Path = HELPCENTER_DIR) -> list[dict[str, str]]:
    articles = []
    for file in sorted(path.glob("*.md")):
        post = frontmatter.load(str(file))
        articles.append(
            {
                "slug": slugify(file.stem),
                "title": str(post.get("title") or file.stem.replace("-", " ").capitalize()),
                "url": str(post.get("url") or ""),
                "body": post.content.strip() + "\n",
            }
        )
    return articles


def _import_articles(*, workspace: Workspace, actor: Actor) -> None:
    # The help-center importer (the trial's importer too) is preferred when it is installed;
    # the fallback keeps the demo working on its own.
    try:
        module = importlib.import_module("helpdesk.helpcenter_import")
    except ImportError:
        module = None
    importer = getattr(module, "import_helpcenter", None)
    if importer is not None:
        importer(workspace=workspace, path=HELPCENTER_DIR, actor=actor)
        return
    created = 0
    with transaction.atomic():
        for article in articles_data():
            _, was_created = Article.objects.update_or_create(
                workspace=workspace,
                slug=article["slug"],
                defaults={
                    "title": article["title"],
                    "url": article["url"],
                    "body": article["body"],
                    "status": ArticleStatus.PUBLISHED,
                    "source": "demo",
                },
            )
            created += was_created
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="helpcenter.imported",
            data={"source": "demo", "created": created, "path": HELPCENTER_DIR.name},
        )


def _users(*, workspace: Workspace) -> dict[str, Any]:
    user_model = get_user_model()
    users = {}
    for email, role, is_staff, is_superuser in DEMO_USERS:
        user = user_model.objects.filter(username=email).first()
        if user is None:
            user = user_model.objects.create_user(username=email, email=email, password=DEMO_PASSWORD)
        user.is_staff = is_staff
        user.is_superuser = is_superuser
        user.save(update_fields=["is_staff", "is_superuser"])
        services.membership_add(workspace=workspace, user=user, role=role, actor=SEED_ACTOR)
        users[role] = user
    return users


# What the team already did on a few tickets, so the inbox looks lived-in. Keyed by subject.
_REPLIES = {
    "Is the rain jacket actually waterproof?": (
        "agent",
        "Hi Hannah, yes: the Trailhead Rain Jacket is fully waterproof (20,000 mm, taped seams), "
        "so a week on the Olympic Peninsula is exactly what it is made for. Enjoy the trip!",
    ),
    "Still waiting on my refund": (
        "agent",
        "Hi Tom, your return for OO-10431 arrived and the refund was issued to your original card. "
        "Banks need 5-10 business days to show it on your statement.",
    ),
    "Do you ship to Canada?": (
        "agent",
        "Hi Noah, we do: UPS Standard to Canada takes 5-10 business days and costs $19.95. "
        "Duties may apply on arrival.",
    ),
    "Password reset link expired": (
        "agent",
        "Hi Samir, reset links are valid for 60 minutes and only the newest one works. "
        "Please request a new one and open it within the hour.",
    ),
    "Wholesale inquiry": (
        "manager",
        "Hi Noah, thanks for thinking of us! I have passed your request to our partnerships team "
        "(partners@oasis-outfitters.example); they will contact you this week.",
    ),
}
_RESOLVED = {
    "Is the rain jacket actually waterproof?",
    "Still waiting on my refund",
    "Do you ship to Canada?",
    "Password reset link expired",
    "Wholesale inquiry",
}
_NOTES = {
    "WORST customer service ever": (
        "manager",
        "Called Marcus back, apologised for the shipping delay on OO-10453. Watch for his other tickets.",
    ),
    "Demande RGPD - suppression de mes données": (
        "manager",
        "GDPR erasure request: forwarded to privacy@. Do not reply with anything but the acknowledgement.",
    ),
}
_ASSIGNED = {
    "Wrong item in my package": "agent",
    "boots damaged on arrival": "agent",
    "WORST customer service ever": "manager",
    "Chargeback and my lawyer": "manager",
}


def _make_lived_in(*, tickets: dict[str, Ticket], users: dict[str, Any], types: dict[str, str]) -> None:
    for subject, role in _ASSIGNED.items():
        services.ticket_assign(ticket=tickets[subject], assignee=users[role], actor=Actor.for_user(users["manager"]))
    for subject, (role, body) in _REPLIES.items():
        actor = Actor.for_user(users[role])
        # A human handled it, so the type is a human label (the triage can learn from it).
        services.ticket_set_type(ticket=tickets[subject], ticket_type=types[subject], actor=actor)
        services.ticket_reply(ticket=tickets[subject], body=body, actor=actor)
        if subject in _RESOLVED:
            services.ticket_resolve(ticket=tickets[subject], actor=actor, reason="answered")
    for subject, (role, body) in _NOTES.items():
        actor = Actor.for_user(users[role])
        services.ticket_set_type(ticket=tickets[subject], ticket_type=types[subject], actor=actor)
        services.ticket_add_note(ticket=tickets[subject], body=body, actor=actor)


def seed_demo() -> SeedResult:
    """Create the demo workspace once; when it already exists, change nothing."""
    if Workspace.objects.filter(slug=DEMO_SLUG).exists():
        return SeedResult(created=False)
    with transaction.atomic():
        # All or nothing: a half-built demo would block the next attempt.
        workspace = services.workspace_create(name=DEMO_NAME, slug=DEMO_SLUG, actor=SEED_ACTOR)
        users = _users(workspace=workspace)
        orders = orders_data()
        shift = date_shift(orders["as_of"])
        loaded = orders_load(workspace=workspace, data=orders, actor=SEED_ACTOR)
        _import_articles(workspace=workspace, actor=SEED_ACTOR)
        hooks.demo_seeded.fire(workspace)
        tickets: dict[str, Ticket] = {}
        types: dict[str, str] = {}
        for row in sorted(tickets_data(), key=lambda r: r["created_at"]):
            created_at = parse_datetime(row["created_at"])
            ticket = services.ticket_create(
                workspace=workspace,
                channel=row["channel"],
                customer_email=row["customer"]["email"],
                customer_name=row["customer"].get("name", ""),
                subject=row["subject"],
                body=row["body"],
                external_id=row["external_id"],
                created_at=created_at + shift if created_at else None,
                actor=None,
            )
            # The demo's tickets play an import of the shop's own helpdesk export: trusted.
            identity_verify(
                ticket=ticket,
                method=VerificationMethod.TRIAL_IMPORT,
                actor=SEED_ACTOR,
                evidence={"source": "demo seed", "external_id": row["external_id"]},
            )
            tickets[row["subject"]] = ticket
            types[row["subject"]] = row.get("expected_type", "other")
        _make_lived_in(tickets=tickets, users=users, types=types)
    return SeedResult(
        created=True,
        articles=Article.objects.filter(workspace=workspace).count(),
        orders=loaded.total,
        tickets=len(tickets),
        users=len(users),
    )
