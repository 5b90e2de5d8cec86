"""Train a workspace's triage classifier: seed examples + its own resolved, typed tickets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ai.agent.triage import train_workspace_model
from audit.redaction import redact_text
from audit.services import Actor, audit_record
from helpdesk.models import MessageKind, Ticket, TicketStatus, TicketType, Workspace

MAX_TICKETS = 5000


def workspace_examples(workspace: Workspace, limit: int = MAX_TICKETS) -> list[tuple[str, str]]:
    """(redacted first customer message, type) of resolved/closed tickets a human typed."""
    tickets = (
        Ticket.objects.filter(workspace=workspace, status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
        .exclude(ticket_type="")
        .order_by("-resolved_at", "-pk")[:limit]
    )
    examples = []
    for ticket in tickets:
        first = ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("created_at", "pk").first()
        if first is not None and ticket.ticket_type in TicketType.values:
            examples.append((redact_text(f"{ticket.subject}\n\n{first.body}")[:2000], ticket.ticket_type))
    return examples


class Command(BaseCommand):
    help = "Train the triage classifier of a workspace on the seed examples plus its resolved tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}.")
        examples = workspace_examples(workspace)
        path, total = train_workspace_model(workspace_id=workspace.pk, extra=examples)
        from django.db import transaction

        with transaction.atomic():
            audit_record(
                workspace=workspace,
                actor=Actor.system("train_triage"),
                kind="ai.triage_trained",
                data={"run": None, "workspace_examples": len(examples), "total_examples": total},
            )
        self.stdout.write(f"trained on {total} examples ({len(examples)} from the workspace's tickets): {path}")
