"""Anchor the chain heads outside the database every few minutes (audit.anchor, a django-q2 schedule)."""

from django.db import migrations

from oasis.schedules import schedules_migration


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_checkpoint_and_prune"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [schedules_migration("audit.schedules")]
