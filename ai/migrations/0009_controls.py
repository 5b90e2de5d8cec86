"""Manager controls: kill switch, alert settings and state, the gap-embedding cache,
the alerts schedule, and the indexes the reports read (some on other apps' tables)."""

import django.db.models.deletion
import pgvector.django.vector
from django.conf import settings
from django.db import migrations, models

# The reports read a period of one workspace from each table; these keep that a range scan
# (bench/reports.py: 1,000,000 tickets). IF NOT EXISTS: harmless if an app adds its own later.
REPORT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ticket_ws_created ON helpdesk_ticket (workspace_id, created_at)"
    " INCLUDE (channel, ticket_type, ai_decision)",
    "CREATE INDEX IF NOT EXISTS agentrun_report ON ai_agentrun (workspace_id, created_at)"
    " INCLUDE (id, ticket_id, decision) WHERE kind = 'agent'",
    "CREATE INDEX IF NOT EXISTS agentrun_ws_created ON ai_agentrun (workspace_id, created_at) INCLUDE (id, ticket_id)",
    "CREATE INDEX IF NOT EXISTS ticket_handoff ON helpdesk_ticket (workspace_id, created_at)"
    " INCLUDE (id, ai_reason, channel, ticket_type) WHERE ai_decision IN ('escalate', 'draft') AND ai_reason <> ''",
    "CREATE INDEX IF NOT EXISTS agentrun_gap ON ai_agentrun (workspace_id, created_at DESC)"
    " WHERE kind = 'agent' AND reason = 'no matching article'",
    "CREATE INDEX IF NOT EXISTS draftfeedback_time ON ai_draftfeedback (created_at) INCLUDE (run_id, verdict, reason)",
    "CREATE INDEX IF NOT EXISTS actionrequest_ws_created ON ai_actionrequest (workspace_id, created_at)",
    "CREATE INDEX IF NOT EXISTS audit_ticket_reopened ON audit_auditevent (ticket_id, created_at)"
    " WHERE kind = 'ticket.reopened'",
    "CREATE INDEX IF NOT EXISTS outcome_ws_resolved ON billing_outcome (workspace_id, resolved_at)"
    " INCLUDE (ticket_id, status, price)",
]
DROP_REPORT_INDEXES = [
    f"DROP INDEX IF EXISTS {name}"
    for name in (
        "ticket_ws_created",
        "agentrun_report",
        "ticket_handoff",
        "agentrun_ws_created",
        "agentrun_gap",
        "draftfeedback_time",
        "actionrequest_ws_created",
        "audit_ticket_reopened",
        "outcome_ws_resolved",
    )
]


def create_schedules(apps, schema_editor):
    from ai.tasks_controls import setup_control_schedules

    setup_control_schedules(apps.get_model("django_q", "Schedule"))


def remove_schedules(apps, schema_editor):
    from ai.tasks_controls import CONTROL_SCHEDULES

    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s["name"] for s in CONTROL_SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0004_agent_schedules"),
        ("audit", "0001_initial"),
        ("billing", "0003_plan_spend_cap"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("helpdesk", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="GapVector",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text_hash", models.CharField(max_length=64)),
                ("model", models.CharField(max_length=200)),
                ("embedding", pgvector.django.vector.VectorField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("text_hash", "model"), name="gap_vector_unique")],
            },
        ),
        migrations.CreateModel(
            name="AgentPause",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "channel",
                    models.CharField(
                        blank=True,
                        choices=[("email", "Email"), ("chat", "Chat"), ("web", "Web form"), ("api", "API")],
                        help_text="Blank: every channel.",
                        max_length=16,
                    ),
                ),
                ("reason", models.CharField(max_length=300)),
                ("paused_by", models.CharField(help_text="Who paused: the audit actor label.", max_length=255)),
                ("paused_at", models.DateTimeField()),
                ("resumed_at", models.DateTimeField(blank=True, null=True)),
                ("resumed_by", models.CharField(blank=True, max_length=255)),
                ("resume_reason", models.CharField(blank=True, max_length=300)),
                (
                    "paused_by_user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="agent_pauses",
                        to="helpdesk.workspace",
                    ),
                ),
            ],
            options={
                "ordering": ["-paused_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("resumed_at__isnull", True)),
                        fields=("workspace", "channel"),
                        name="agent_pause_one_active_per_scope",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="AlertSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("enabled", models.BooleanField(default=True)),
                ("approval_wait_minutes", models.PositiveIntegerField(default=120)),
                ("escalation_jump_factor", models.FloatField(default=2.0)),
                ("escalation_min_count", models.PositiveIntegerField(default=5)),
                ("provider_failures_per_hour", models.PositiveIntegerField(default=3)),
                (
                    "workspace",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alert_settings",
                        to="helpdesk.workspace",
                    ),
                ),
            ],
            options={
                "verbose_name": "alert settings",
                "verbose_name_plural": "alert settings",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("escalation_jump_factor__gt", 1)), name="alert_jump_factor_gt_one"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("approval_wait_minutes__gt", 0)), name="alert_wait_positive"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="AlertState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=32)),
                ("active", models.BooleanField(default=False)),
                ("last_sent_at", models.DateTimeField(blank=True, null=True)),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alert_states",
                        to="helpdesk.workspace",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("workspace", "kind"), name="alert_state_unique")],
            },
        ),
        migrations.RunSQL(REPORT_INDEXES, DROP_REPORT_INDEXES),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
