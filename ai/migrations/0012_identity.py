"""The one Agent re-run a customer's late proof of identity starts (AgentRun.verification): the
once-per-message constraint leaves it out, its one-to-one key allows one per proof."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0011_report_rollup"),
        ("helpdesk", "0005_customer_identity"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="agentrun",
            name="agent_run_once_per_message",
        ),
        migrations.AddField(
            model_name="agentrun",
            name="verification",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="agent_rerun",
                to="helpdesk.customerverification",
            ),
        ),
        migrations.AddConstraint(
            model_name="agentrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "agent"), ("verification__isnull", True)),
                fields=("trigger_message",),
                name="agent_run_once_per_message",
            ),
        ),
    ]
