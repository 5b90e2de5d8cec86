"""Customer identity per channel, as data: the proofs (CustomerVerification), the magic links,
the widget identity token a chat session was started with (a token starts one session), the
customer a customer-scoped API key acts for, and the workspace's trusted mail relay."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import helpdesk.models.identity


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0004_thread_notify_visible"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="customer_email",
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name="chatsession",
            name="identity_token_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="workspace",
            name="mail_relay_authserv_id",
            field=models.CharField(
                blank=True,
                help_text="The authserv-id your inbound mail relay writes in its Authentication-Results header (e.g. mx.example.com). Only that header proves a sender (DMARC or aligned DKIM/SPF pass); blank: no e-mail counts as authenticated.",
                max_length=255,
                verbose_name="trusted mail relay (authserv-id)",
            ),
        ),
        migrations.CreateModel(
            name="CustomerVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("widget_token", "signed widget identity"),
                            ("portal", "portal link"),
                            ("magic_link", "magic link"),
                            ("email_auth", "DKIM/DMARC"),
                            ("api_token", "customer API key"),
                            ("trial_import", "trusted import"),
                        ],
                        max_length=16,
                    ),
                ),
                ("verified_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "evidence",
                    models.JSONField(blank=True, default=dict, help_text="What proved it (e.g. the relay's verdict)."),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="verifications",
                        to="helpdesk.customer",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="verifications", to="helpdesk.ticket"
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="customer_verifications",
                        to="helpdesk.workspace",
                    ),
                ),
            ],
            options={
                "ordering": ["verified_at", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("ticket", "customer", "method"), name="verification_once_per_method"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="MagicLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "sent_to",
                    models.EmailField(
                        help_text="The customer's address on file when the link was made.", max_length=254
                    ),
                ),
                ("nonce", models.CharField(default=helpdesk.models.identity._nonce, max_length=32)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("used", "Used"), ("expired", "Expired")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                ("email_sent_at", models.DateTimeField(blank=True, null=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="magic_links", to="helpdesk.customer"
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="magic_links", to="helpdesk.ticket"
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="magic_links", to="helpdesk.workspace"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("ticket",),
                        name="magiclink_one_pending_per_ticket",
                    )
                ],
            },
        ),
    ]
