"""Manager controls of the Agent: the kill switch (the monthly spend cap is billing's, in
`billing.spend_cap`).

Services here are keyword-only and write their audit event in the same transaction, like
helpdesk.services. `pauses_in_force(workspace_id=..., channel=...)` (its first row through
`pause_reason`) is the Agent's decide step; while a pause is in force the run sends nothing on its
own and executes no write action (drafts continue). `agent_paused_reason` asks the same on its own.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ai.models import AgentPause
from audit.services import Actor, audit_record
from helpdesk.models import Channel, Workspace

# ------------------------------------------------------------------------ kill switch


def _clean_channel(channel: str | None) -> str:
    channel = channel or ""
    if channel and channel not in Channel.values:
        raise ValidationError({"channel": f"Unknown channel {channel!r}."})
    return channel


@transaction.atomic
def agent_pause(*, workspace: Workspace, channel: str | None = None, actor: Actor, reason: str) -> AgentPause:
    """Pause the Agent for the workspace (channel None) or one channel. Pausing a scope that is
    already paused returns the active pause unchanged (a double click is not a second event)."""
    channel = _clean_channel(channel)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the Agent is paused."})
    active = AgentPause.objects.filter(workspace=workspace, channel=channel, resumed_at__isnull=True).first()
    if active is not None:
        return active
    try:
        with transaction.atomic():
            pause = AgentPause.objects.create(
                workspace=workspace,
                channel=channel,
                reason=reason[:300],
                paused_by=actor.label,
                paused_by_user_id=actor.user_id,
                paused_at=timezone.now(),
            )
    except IntegrityError:
        # Two clicks at once: the unique active-pause constraint let one through.
        return AgentPause.objects.get(workspace=workspace, channel=channel, resumed_at__isnull=True)
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="agent.paused",
        data={"pause": pause.pk, "channel": channel or None, "reason": pause.reason},
    )
    return pause


@transaction.atomic
def agent_resume(
    *, workspace: Workspace, channel: str | None = None, actor: Actor, reason: str = ""
) -> AgentPause | None:
    """Resume the Agent on that scope; returns the pause it ended, or None if none was active.
    A conditional UPDATE: of two concurrent resumes one ends the pause and audits it."""
    channel = _clean_channel(channel)
    pause = (
        AgentPause.objects.select_for_update()
        .filter(workspace=workspace, channel=channel, resumed_at__isnull=True)
        .first()
    )
    if pause is None:
        return None
    pause.resumed_at = timezone.now()
    pause.resumed_by = actor.label
    pause.resume_reason = (reason or "").strip()[:300]
    pause.save(update_fields=["resumed_at", "resumed_by", "resume_reason"])
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="agent.resumed",
        data={"pause": pause.pk, "channel": channel or None, "reason": pause.resume_reason},
    )
    return pause


def pauses_in_force(*, workspace_id: int, channel: str) -> QuerySet[AgentPause]:
    """The pauses in force on this channel, the deciding one first: a workspace-wide pause wins
    over a channel pause. While one is in force, no autosend and no write action; the draft is
    kept for a human (the Agent reads this with its other configuration before deciding)."""
    return (
        AgentPause.objects.filter(workspace_id=workspace_id, resumed_at__isnull=True)
        .filter(Q(channel="") | Q(channel=channel))
        .order_by("channel", "paused_at")
    )


def agent_paused_reason(*, workspace: Workspace | int, channel: str) -> str | None:
    """Why the Agent may not act on its own on this channel now, or None."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return pause_reason(pauses_in_force(workspace_id=workspace_id, channel=channel).first())


def pause_reason(pause: AgentPause | None) -> str | None:
    """The reason given for the deciding pause of `pauses_in_force` (None: not paused)."""
    if pause is None:
        return None
    scope = f"on {pause.get_channel_display()}" if pause.channel else "for the workspace"
    return f"agent paused {scope} by {pause.paused_by}: {pause.reason}"[:300]


def active_pauses(workspace_id: int) -> list[AgentPause]:
    return list(AgentPause.objects.filter(workspace_id=workspace_id, resumed_at__isnull=True).order_by("channel"))
