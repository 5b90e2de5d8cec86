"""The Agent and customer identity: a run whose order or account tools wait for the customer's
proof never sends, asks for the proof, and runs once more when it arrives.

- `identity_wanted`: a tool was refused because the ticket's customer is not verified
  (helpdesk/services_identity.py decides that; the tools runner refuses with its reason);
- `with_identity_notice` / `identity_hold`: the draft says a confirmation link went to the
  address on file, and the decision is never an autosend (nothing that needed the tools was
  done); the run's rule carries `identity: pending`;
- the pipeline then e-mails the magic link (`magic_link_send`, in its decision transaction);
- `agent_rerun_on_verification`: when the link is clicked, one re-run of the Agent on the
  ticket's latest customer message, created in the click's transaction (exactly once: one
  per proof, by a one-to-one constraint) and only when that message's run waited for the proof.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction

from ai.agent.decide import Verdict
from ai.agent.slots import AGENT_TASK
from ai.models import AgentRun, Decision, RunStatus
from ai.providers.chat_base import ChatDraft
from helpdesk.models import CustomerVerification, Ticket
from helpdesk.services_identity import IDENTITY_NOT_VERIFIED, identity_refusal, latest_customer_message

PENDING_RULE = {"identity": "pending"}
NOTICE = (
    "Before I can look up or change anything on your orders or account, we need to confirm it's you: "
    "we've e-mailed a confirmation link to the address we have on file. Once you click it, "
    "I'll take care of your request."
)
RERUN_REASON = "superseded: the customer confirmed their identity (the Agent runs again)"


def identity_wanted(entries: list[dict[str, Any]]) -> bool:
    """Was a planned tool refused only because the customer is not verified?"""
    return any(
        e.get("status") == "refused" and str(e.get("reason", "")).startswith(IDENTITY_NOT_VERIFIED) for e in entries
    )


def with_identity_notice(draft: ChatDraft) -> ChatDraft:
    """The draft, with the notice before its sign-off (its last paragraph)."""
    head, sep, tail = draft.reply.rpartition("\n\n")
    reply = f"{head}\n\n{NOTICE}\n\n{tail}" if sep else f"{draft.reply}\n\n{NOTICE}"
    return dataclasses.replace(draft, reply=reply)


def identity_hold(verdict: Verdict, *, ticket: Ticket) -> Verdict:
    """No autosend (nor approval) for a run whose tools wait for the proof: a person sees the
    draft, and the re-run after the proof answers. An escalation stays one."""
    if verdict.decision == Decision.ESCALATE:
        return verdict
    return Verdict(Decision.DRAFT, identity_refusal(ticket), verdict.threshold, {**verdict.rule, **PENDING_RULE})


def _waited(run: AgentRun) -> bool:
    return run.status == RunStatus.DONE and (run.rule or {}).get("identity") == PENDING_RULE["identity"]


def agent_rerun_on_verification(verification: CustomerVerification) -> None:
    """Hook handler (`helpdesk.hooks.customer_verified`, inside the proof's transaction, which
    holds the ticket's row lock): the one re-run, queued, and its task after commit."""
    from ai.agent.pipeline import TRIAL_EXTERNAL_PREFIX

    ticket = verification.ticket
    message = latest_customer_message(ticket)
    if message is None or ticket.external_id.startswith(TRIAL_EXTERNAL_PREFIX):
        return
    original = (
        AgentRun.objects.select_for_update()
        .filter(trigger_message=message, kind="agent", verification__isnull=True)
        .only("pk", "status", "rule")
        .first()
    )
    if original is None or original.status == RunStatus.QUEUED:
        return  # it has not read the ticket's proofs yet: it runs verified
    if original.status == RunStatus.RUNNING:
        # It read the proofs before this one existed: it cannot act, and the re-run replaces it.
        AgentRun.objects.filter(pk=original.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.SUPERSEDED, reason=RERUN_REASON
        )
    elif not _waited(original):
        return  # the message asked for nothing the proof unlocks (or failed): no re-run
    run, created = AgentRun.objects.get_or_create(
        verification=verification,
        defaults={
            "workspace_id": ticket.workspace_id,
            "ticket_id": ticket.pk,
            "trigger_message": message,
            "kind": "agent",
        },
    )
    if created:
        from django_q.tasks import async_task

        transaction.on_commit(
            lambda: async_task(AGENT_TASK, message.pk, ticket.workspace_id, task_name=f"agent-rerun-{run.pk}")
        )
