"""The nightly calibration refit of the Agent, as a django-q2 schedule."""

from django.db import migrations


def create_schedules(apps, schema_editor):
    from ai.schedules import setup_schedules

    setup_schedules(apps.get_model("django_q", "Schedule"))


def remove_schedules(apps, schema_editor):
    from ai.schedules import SCHEDULES

    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s["name"] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0003_agent_tools_approvals"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
