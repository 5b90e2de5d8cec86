from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0015_trial_sandbox"),
        ("helpdesk", "0007_back_office"),
    ]

    operations = [
        migrations.AddField(
            model_name="shoppolicy",
            name="refund_timing",
            field=models.CharField(
                choices=[("on_request", "On request"), ("after_return", "Once the return has arrived")],
                default="on_request",
                help_text="Once the return has arrived: the AI opens the return and the refund is paid when the item is back.",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="actionrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending approval"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("executed", "Executed"),
                    ("failed", "Failed"),
                    ("waiting_return", "Approved, waiting for the return"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
    ]
