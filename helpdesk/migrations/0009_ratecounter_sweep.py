"""Sweep old rate-limit counters hourly (helpdesk.schedules) instead of from a random request."""

from django.db import migrations

from oasis.schedules import schedules_migration


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0008_importers")]

    operations = [schedules_migration("helpdesk.schedules")]
