"""The stale-run sweeper and per-workspace run slots: when a run was claimed (its time budget
counts from there), when it started waiting for a slot, the indexes the sweeper and the slot
hand-off read, and the sweeper's schedule (ai/agent/sweep.py, ai/agent/slots.py)."""

from django.db import migrations, models


def create_schedules(apps, schema_editor):
    from ai.schedules import setup_sweep_schedules

    setup_sweep_schedules(apps.get_model("django_q", "Schedule"))


def remove_schedules(apps, schema_editor):
    from ai.schedules import SWEEP_SCHEDULES

    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s["name"] for s in SWEEP_SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0012_identity"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="agentrun",
            name="started_at",
            field=models.DateTimeField(
                blank=True, help_text="When a worker claimed it: its time budget counts from here.", null=True
            ),
        ),
        migrations.AddField(
            model_name="agentrun",
            name="deferred_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Set while it waits for one of its workspace's run slots (ai/agent/slots.py).",
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="agentrun",
            index=models.Index(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=["status", "created_at"],
                name="agent_run_pending",
            ),
        ),
        migrations.AddIndex(
            model_name="agentrun",
            index=models.Index(
                condition=models.Q(("deferred_at__isnull", False), ("status", "queued")),
                fields=["workspace", "created_at"],
                name="agent_run_waiting",
            ),
        ),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
