"""The hourly outcome finaliser and the monthly invoices, as django-q2 schedules."""

from django.db import migrations


def create_schedules(apps, schema_editor):
    from billing.schedules import setup_schedules

    setup_schedules(apps.get_model("django_q", "Schedule"))


def remove_schedules(apps, schema_editor):
    from billing.schedules import SCHEDULES

    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s["name"] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
