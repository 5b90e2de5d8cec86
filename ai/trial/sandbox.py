"""A trial's sandbox: a workspace of its own, so a trial never touches the live workspace.

The sandbox gets a copy of what decides the AI's behaviour in the workspace the trial was started
from (Agent and knowledge settings, thresholds, approval rules, the allow-list, the shop policy and
what its order status words mean)
and nothing else: the trial's help center, customers, orders and tickets are imported into it, so
an article with the same slug as a live one, or a customer with the same e-mail, stays apart. It
has no members (no one works in it; its tickets never reach an inbox) and no HTTP actions (a trial
never calls a merchant's API). Deleting a trial deletes its sandbox as a whole, its audit chain
included; the live workspace's chain records that it happened and the sandbox chain's last hash.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.db.models import Model

from ai.models import AISettings, ApprovalRule, ConfidenceRule, KnowledgeSettings, ShopPolicy, ToolPermission, TrialRun
from audit.discard import audit_discard_workspace
from audit.services import Actor, audit_record
from helpdesk.models import Customer, Message, OrderStatusWord, Ticket, Workspace
from helpdesk.services import workspace_create, workspace_update

ACTOR = Actor.system("trial")
SKIPPED_FIELDS = ("id", "workspace", "updated_at", "created_at")


def _copy_row(row: Model, workspace: Workspace) -> None:
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.name not in SKIPPED_FIELDS}
    type(row)._default_manager.create(workspace=workspace, **values)


@transaction.atomic
def trial_sandbox_create(*, trial: TrialRun) -> Workspace:
    """The trial's own workspace, with the live workspace's AI configuration copied in."""
    live = trial.workspace
    sandbox = workspace_create(
        name=f"{live.name} · trial {trial.pk}"[:200],
        slug=f"trial-{trial.pk}-{secrets.token_hex(3)}",
        actor=ACTOR,
        currency=live.currency,
    )
    # The new workspace's defaults (allow-list, approval rule) give way to the live ones.
    ApprovalRule.objects.filter(workspace=sandbox).delete()
    ToolPermission.objects.filter(workspace=sandbox).delete()
    copied: dict[str, int] = {}
    # What the shop's order status words mean is part of its policy: the trial reads them too.
    sandbox = workspace_update(
        workspace=sandbox, actor=ACTOR, changes={"unknown_order_status": live.unknown_order_status}
    )
    models = (AISettings, KnowledgeSettings, ShopPolicy, ConfidenceRule, ApprovalRule, ToolPermission, OrderStatusWord)
    for model in models:
        rows = list(model._default_manager.filter(workspace=live))
        for row in rows:
            _copy_row(row, sandbox)
        copied[model._meta.model_name or model.__name__] = len(rows)
    TrialRun.objects.filter(pk=trial.pk).update(sandbox=sandbox)
    trial.sandbox = sandbox
    audit_record(
        workspace=live,
        actor=ACTOR,
        kind="trial.sandbox_created",
        data={"trial": trial.pk, "sandbox": sandbox.slug, "copied": copied},
    )
    return sandbox


@transaction.atomic
def trial_delete(*, trial: TrialRun, actor: Actor) -> dict[str, Any]:
    """Delete a trial and its sandbox as a whole (tickets, customers, articles, orders, runs, the
    sandbox's audit chain). The live workspace is untouched but for the audit row saying so."""
    sandbox = trial.sandbox
    summary: dict[str, Any] = {"trial": trial.pk, "sandbox": sandbox.slug if sandbox else None}
    if sandbox is not None:
        summary["sandbox_chain"] = audit_discard_workspace(workspace_id=sandbox.pk)
        # Messages, tickets and customers protect what they belong to from a cascade (a sandbox
        # never has outcomes or invoices: nothing is sent or billed in a trial): they go first.
        Message.objects.filter(ticket__workspace=sandbox).delete()
        Ticket.objects.filter(workspace=sandbox).delete()
        Customer.objects.filter(workspace=sandbox).delete()
        sandbox.delete()
    trial.delete()
    audit_record(workspace=trial.workspace, actor=actor, kind="trial.deleted", data=summary)
    return summary
