"""The manager reports' daily rollup: the rollup tables, the triggers that mark a past
day dirty when one of its source rows changes (so the report reads that day live until the rollup
recomputes it: figures stay exact), and the rollup schedule."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

# A day is marked when a row of a day before today (UTC, by the clock when the row is written)
# changes: today is always read live, so changes to it need no mark. Bulk inserts and deletes
# are marked once per statement (transition tables); updates per row, only when a column the
# report reads changes. Marks are plain inserts: no row lock for concurrent writers to wait on.
TODAY = "(clock_timestamp() AT TIME ZONE 'UTC')::date"

TRIGGERS = [
    # Tickets: volume, tickets with runs and handoffs by creation day.
    f"""
CREATE FUNCTION ai_report_dirty_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT c.workspace_id, (c.created_at AT TIME ZONE 'UTC')::date FROM changed c
    WHERE (c.created_at AT TIME ZONE 'UTC')::date < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_ticket_ins AFTER INSERT ON helpdesk_ticket REFERENCING NEW TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_tickets()",
    "CREATE TRIGGER ai_report_ticket_del AFTER DELETE ON helpdesk_ticket REFERENCING OLD TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_tickets()",
    # A ticket's channel and type also attribute its runs, draft verdicts and outcome.
    f"""
CREATE FUNCTION ai_report_dirty_ticket_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today date := {TODAY};
    moved boolean := (OLD.channel, OLD.ticket_type, OLD.workspace_id) IS DISTINCT FROM
        (NEW.channel, NEW.ticket_type, NEW.workspace_id);
BEGIN
    IF (OLD.created_at AT TIME ZONE 'UTC')::date >= today AND (NEW.created_at AT TIME ZONE 'UTC')::date >= today
    THEN
        RETURN NULL;  -- a ticket of today: its runs, verdicts and outcome are of today too
    END IF;
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT x.ws, x.d FROM (
        SELECT OLD.workspace_id AS ws, (OLD.created_at AT TIME ZONE 'UTC')::date AS d
        UNION ALL SELECT NEW.workspace_id, (NEW.created_at AT TIME ZONE 'UTC')::date
        UNION ALL SELECT r.workspace_id, (r.created_at AT TIME ZONE 'UTC')::date
            FROM ai_agentrun r WHERE moved AND r.ticket_id = NEW.id
        UNION ALL SELECT r.workspace_id, (f.created_at AT TIME ZONE 'UTC')::date
            FROM ai_draftfeedback f JOIN ai_agentrun r ON r.id = f.run_id WHERE moved AND r.ticket_id = NEW.id
        UNION ALL SELECT o.workspace_id, (o.resolved_at AT TIME ZONE 'UTC')::date
            FROM billing_outcome o WHERE moved AND o.ticket_id = NEW.id AND o.resolved_at IS NOT NULL
    ) x WHERE x.d < today;
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_ticket_upd AFTER UPDATE OF workspace_id, created_at, channel, ticket_type,"
    " ai_decision, ai_reason ON helpdesk_ticket FOR EACH ROW WHEN ((OLD.workspace_id, OLD.created_at, OLD.channel,"
    " OLD.ticket_type, OLD.ai_decision, OLD.ai_reason) IS DISTINCT FROM (NEW.workspace_id, NEW.created_at,"
    " NEW.channel, NEW.ticket_type, NEW.ai_decision, NEW.ai_reason)) EXECUTE FUNCTION ai_report_dirty_ticket_row()",
    # Runs: runs and decisions by start day, and "tickets with runs" of the ticket's creation day.
    f"""
CREATE FUNCTION ai_report_dirty_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT x.ws, x.d FROM (
        SELECT c.workspace_id AS ws, (c.created_at AT TIME ZONE 'UTC')::date AS d FROM changed c
        UNION ALL SELECT t.workspace_id, (t.created_at AT TIME ZONE 'UTC')::date
            FROM changed c JOIN helpdesk_ticket t ON t.id = c.ticket_id
    ) x WHERE x.d < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_run_ins AFTER INSERT ON ai_agentrun REFERENCING NEW TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_runs()",
    "CREATE TRIGGER ai_report_run_del AFTER DELETE ON ai_agentrun REFERENCING OLD TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_runs()",
    f"""
CREATE FUNCTION ai_report_dirty_run_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today date := {TODAY};
BEGIN
    IF (OLD.created_at AT TIME ZONE 'UTC')::date >= today AND (NEW.created_at AT TIME ZONE 'UTC')::date >= today
        AND (OLD.kind, OLD.ticket_id) IS NOT DISTINCT FROM (NEW.kind, NEW.ticket_id) THEN
        RETURN NULL;  -- today's run decided: today is read live
    END IF;
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT x.ws, x.d FROM (
        SELECT OLD.workspace_id AS ws, (OLD.created_at AT TIME ZONE 'UTC')::date AS d
        UNION ALL SELECT NEW.workspace_id, (NEW.created_at AT TIME ZONE 'UTC')::date
        UNION ALL SELECT t.workspace_id, (t.created_at AT TIME ZONE 'UTC')::date
            FROM helpdesk_ticket t WHERE t.id IN (OLD.ticket_id, NEW.ticket_id)
        UNION ALL SELECT NEW.workspace_id, (f.created_at AT TIME ZONE 'UTC')::date
            FROM ai_draftfeedback f WHERE f.run_id = NEW.id
    ) x WHERE x.d < today;
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_run_upd AFTER UPDATE OF workspace_id, ticket_id, kind, decision, created_at"
    " ON ai_agentrun FOR EACH ROW WHEN ((OLD.workspace_id, OLD.ticket_id, OLD.kind, OLD.decision, OLD.created_at)"
    " IS DISTINCT FROM (NEW.workspace_id, NEW.ticket_id, NEW.kind, NEW.decision, NEW.created_at))"
    " EXECUTE FUNCTION ai_report_dirty_run_row()",
    # Outcomes by resolution day.
    f"""
CREATE FUNCTION ai_report_dirty_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT c.workspace_id, (c.resolved_at AT TIME ZONE 'UTC')::date FROM changed c
    WHERE (c.resolved_at AT TIME ZONE 'UTC')::date < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_outcome_ins AFTER INSERT ON billing_outcome REFERENCING NEW TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_outcomes()",
    "CREATE TRIGGER ai_report_outcome_del AFTER DELETE ON billing_outcome REFERENCING OLD TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_outcomes()",
    f"""
CREATE FUNCTION ai_report_dirty_outcome_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT x.ws, x.d FROM (
        SELECT OLD.workspace_id AS ws, (OLD.resolved_at AT TIME ZONE 'UTC')::date AS d
        UNION ALL SELECT NEW.workspace_id, (NEW.resolved_at AT TIME ZONE 'UTC')::date
    ) x WHERE x.d < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_outcome_upd AFTER UPDATE OF workspace_id, ticket_id, status, resolved_at, price"
    " ON billing_outcome FOR EACH ROW WHEN ((OLD.workspace_id, OLD.ticket_id, OLD.status, OLD.resolved_at, OLD.price)"
    " IS DISTINCT FROM (NEW.workspace_id, NEW.ticket_id, NEW.status, NEW.resolved_at, NEW.price))"
    " EXECUTE FUNCTION ai_report_dirty_outcome_row()",
    # Draft verdicts by the day they were given.
    f"""
CREATE FUNCTION ai_report_dirty_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT r.workspace_id, (c.created_at AT TIME ZONE 'UTC')::date
    FROM changed c JOIN ai_agentrun r ON r.id = c.run_id
    WHERE (c.created_at AT TIME ZONE 'UTC')::date < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_feedback_ins AFTER INSERT ON ai_draftfeedback REFERENCING NEW TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_feedback()",
    "CREATE TRIGGER ai_report_feedback_del AFTER DELETE ON ai_draftfeedback REFERENCING OLD TABLE AS changed"
    " FOR EACH STATEMENT EXECUTE FUNCTION ai_report_dirty_feedback()",
    f"""
CREATE FUNCTION ai_report_dirty_feedback_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT DISTINCT r.workspace_id, x.d FROM (
        SELECT OLD.run_id AS run, (OLD.created_at AT TIME ZONE 'UTC')::date AS d
        UNION ALL SELECT NEW.run_id, (NEW.created_at AT TIME ZONE 'UTC')::date
    ) x JOIN ai_agentrun r ON r.id = x.run WHERE x.d < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_feedback_upd AFTER UPDATE OF run_id, verdict, reason, created_at ON ai_draftfeedback"
    " FOR EACH ROW WHEN ((OLD.run_id, OLD.verdict, OLD.reason, OLD.created_at) IS DISTINCT FROM"
    " (NEW.run_id, NEW.verdict, NEW.reason, NEW.created_at)) EXECUTE FUNCTION ai_report_dirty_feedback_row()",
    # A reopen can end the durability of the ticket's outcome: mark its resolution day.
    f"""
CREATE FUNCTION ai_report_dirty_reopen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ai_reportdirtyday (workspace_id, day)
    SELECT o.workspace_id, (o.resolved_at AT TIME ZONE 'UTC')::date FROM billing_outcome o
    WHERE o.ticket_id = NEW.ticket_id AND (o.resolved_at AT TIME ZONE 'UTC')::date < {TODAY};
    RETURN NULL;
END $$""",  # noqa: S608 (constants only)
    "CREATE TRIGGER ai_report_reopen AFTER INSERT ON audit_auditevent FOR EACH ROW"
    " WHEN (NEW.kind = 'ticket.reopened') EXECUTE FUNCTION ai_report_dirty_reopen()",
]
DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS ai_report_ticket_ins ON helpdesk_ticket",
    "DROP TRIGGER IF EXISTS ai_report_ticket_del ON helpdesk_ticket",
    "DROP TRIGGER IF EXISTS ai_report_ticket_upd ON helpdesk_ticket",
    "DROP TRIGGER IF EXISTS ai_report_run_ins ON ai_agentrun",
    "DROP TRIGGER IF EXISTS ai_report_run_del ON ai_agentrun",
    "DROP TRIGGER IF EXISTS ai_report_run_upd ON ai_agentrun",
    "DROP TRIGGER IF EXISTS ai_report_outcome_ins ON billing_outcome",
    "DROP TRIGGER IF EXISTS ai_report_outcome_del ON billing_outcome",
    "DROP TRIGGER IF EXISTS ai_report_outcome_upd ON billing_outcome",
    "DROP TRIGGER IF EXISTS ai_report_feedback_ins ON ai_draftfeedback",
    "DROP TRIGGER IF EXISTS ai_report_feedback_del ON ai_draftfeedback",
    "DROP TRIGGER IF EXISTS ai_report_feedback_upd ON ai_draftfeedback",
    "DROP TRIGGER IF EXISTS ai_report_reopen ON audit_auditevent",
    *[
        f"DROP FUNCTION IF EXISTS {name}()"
        for name in (
            "ai_report_dirty_tickets",
            "ai_report_dirty_ticket_row",
            "ai_report_dirty_runs",
            "ai_report_dirty_run_row",
            "ai_report_dirty_outcomes",
            "ai_report_dirty_outcome_row",
            "ai_report_dirty_feedback",
            "ai_report_dirty_feedback_row",
            "ai_report_dirty_reopen",
        )
    ],
]


def create_schedules(apps, schema_editor):
    from ai.schedules import setup_rollup_schedules

    setup_rollup_schedules(apps.get_model("django_q", "Schedule"))


def remove_schedules(apps, schema_editor):
    from ai.schedules import ROLLUP_SCHEDULES

    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s["name"] for s in ROLLUP_SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0010_trial"),
        ("helpdesk", "0002_channels"),
        ("audit", "0001_initial"),
        ("billing", "0003_plan_spend_cap"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReportDirtyDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("marked_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "indexes": [models.Index(fields=["workspace_id", "day"], name="report_dirty_day")],
            },
        ),
        migrations.CreateModel(
            name="ReportRollupState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("rolled_from", models.DateField()),
                ("rolled_until", models.DateField(help_text="Exclusive: the first day not rolled up yet.")),
                ("refreshed_at", models.DateTimeField()),
                (
                    "workspace",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.workspace"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ReportDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("channel", models.CharField(max_length=16)),
                ("ticket_type", models.CharField(max_length=32)),
                ("tickets", models.PositiveIntegerField(db_default=0)),
                ("tickets_with_runs", models.PositiveIntegerField(db_default=0)),
                ("runs", models.PositiveIntegerField(db_default=0)),
                ("autosend", models.PositiveIntegerField(db_default=0)),
                ("draft", models.PositiveIntegerField(db_default=0)),
                ("escalate", models.PositiveIntegerField(db_default=0)),
                ("awaiting_approval", models.PositiveIntegerField(db_default=0)),
                ("outcomes", models.PositiveIntegerField(db_default=0)),
                ("durable", models.PositiveIntegerField(db_default=0)),
                ("charged", models.PositiveIntegerField(db_default=0)),
                ("cost", models.DecimalField(db_default=0, decimal_places=2, max_digits=14)),
                ("sent_unchanged", models.PositiveIntegerField(db_default=0)),
                ("edited", models.PositiveIntegerField(db_default=0)),
                ("discarded", models.PositiveIntegerField(db_default=0)),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.workspace"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workspace", "day", "channel", "ticket_type"), name="report_day_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ReportDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("channel", models.CharField(max_length=16)),
                ("ticket_type", models.CharField(max_length=32)),
                ("metric", models.CharField(help_text="handoff | discard", max_length=16)),
                ("key", models.CharField(max_length=300)),
                ("n", models.PositiveIntegerField()),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.workspace"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workspace", "day", "channel", "ticket_type", "metric", "key"),
                        name="report_day_count_unique",
                    )
                ],
            },
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
