"""The shop ledger: money and other shop movements in their own table, with idempotency keys.

Until this migration the built-in shop read its refunds and retries back from the `shop.*` audit
events, so pruning the audit log let an order be refunded again. The ledger is backfilled once
from the `shop.*` events still in the database: this is the one place that reads the audit log
to build it. Events already pruned live only in the audit archives and are not backfilled.

An order whose backfilled refunds exceed its total (it was refunded twice before this ledger
existed) keeps every refund in the ledger but gets `refunded_total` = its total, so nothing more
can be refunded; the migration lists such orders.
"""

from collections import defaultdict
from decimal import Decimal, InvalidOperation

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVEMENT_KINDS = {
    "shop.refund_issued": "refund",
    "shop.replacement_created": "replacement",
    "shop.address_updated": "address_change",
    "shop.order_cancelled": "cancellation",
    "shop.password_reset_sent": "password_reset",
    "shop.email_change_requested": "email_change",
    "shop.appointment_booked": "appointment",
}
CENT = Decimal("0.01")


def _amount(value):
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def backfill_ledger(apps, schema_editor):
    """One ledger row per `shop.*` audit event, in chain order; refunded totals from the refunds."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    Order = apps.get_model("helpdesk", "Order")
    ShopMovement = apps.get_model("helpdesk", "ShopMovement")
    orders = {(o.workspace_id, o.number): o for o in Order.objects.all()}
    used = set(ShopMovement.objects.values_list("workspace_id", "key"))
    refunded = defaultdict(Decimal)
    rows = []
    events = AuditEvent.objects.filter(kind__in=MOVEMENT_KINDS).order_by("workspace_id", "seq")
    for event in events.iterator(chunk_size=2000):
        data = event.data if isinstance(event.data, dict) else {}
        kind = MOVEMENT_KINDS[event.kind]
        order = orders.get((event.workspace_id, data.get("order")))
        amount = _amount(data.get("amount")) if kind == "refund" else None
        if kind == "refund" and (amount is None or order is None):
            continue  # nothing a refunded total could be raised by
        key = str(data.get("key") or f"audit-{event.seq}")[:100]
        if (event.workspace_id, key) in used:
            # The same key ran twice (its first event had been pruned): both moved money, keep both.
            key = f"{key}:audit-{event.seq}"
        used.add((event.workspace_id, key))
        if amount is not None:
            refunded[order.pk] += amount
        rows.append(
            ShopMovement(
                workspace_id=event.workspace_id,
                order=order,
                ticket_id=event.ticket_id,
                kind=kind,
                key=key,
                amount=amount,
                currency=order.currency if order is not None else "",
                confirmation=str(data.get("confirmation", ""))[:64],
                actor=event.actor,
                result=data,
                created_at=event.created_at,
            )
        )
    ShopMovement.objects.bulk_create(rows, batch_size=2000)
    by_pk = {o.pk: o for o in orders.values()}
    for pk, total in refunded.items():
        order = by_pk[pk]
        if total > order.total:
            print(
                f"\n  order {order.number} (workspace {order.workspace_id}): refunds of {total} exceed its total of {order.total}; no more can be refunded"
            )
        Order.objects.filter(pk=pk).update(refunded_total=min(total, order.total))


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0005_customer_identity"),
        ("audit", "0003_checkpoint_and_prune"),
    ]

    operations = [
        migrations.CreateModel(
            name="ShopMovement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("refund", "Refund"),
                            ("replacement", "Replacement"),
                            ("address_change", "Shipping address change"),
                            ("cancellation", "Cancellation"),
                            ("password_reset", "Password reset"),
                            ("email_change", "E-mail change request"),
                            ("appointment", "Appointment"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "key",
                    models.CharField(help_text="Idempotency key: one movement per key and workspace.", max_length=128),
                ),
                ("amount", models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ("currency", models.CharField(blank=True, max_length=3)),
                ("confirmation", models.CharField(blank=True, max_length=64)),
                ("actor", models.CharField(max_length=255)),
                ("result", models.JSONField(default=dict, help_text="What the call returned; a retry gets it again.")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["workspace_id", "created_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="order",
            name="refunded_total",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                help_text="Sum of the refunds in the shop ledger (ShopMovement), raised in the refund's transaction.",
                max_digits=12,
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(("refunded_total__gte", Decimal("0")), ("refunded_total__lte", models.F("total"))),
                name="order_refunded_within_total",
            ),
        ),
        migrations.AddField(
            model_name="shopmovement",
            name="order",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="movements",
                to="helpdesk.order",
            ),
        ),
        migrations.AddField(
            model_name="shopmovement",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="shop_movements",
                to="helpdesk.ticket",
            ),
        ),
        migrations.AddField(
            model_name="shopmovement",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="shop_movements", to="helpdesk.workspace"
            ),
        ),
        migrations.AddIndex(
            model_name="shopmovement",
            index=models.Index(fields=["order", "created_at"], name="shopmovement_order_time"),
        ),
        migrations.AddConstraint(
            model_name="shopmovement",
            constraint=models.UniqueConstraint(fields=("workspace", "key"), name="shopmovement_unique_key"),
        ),
        migrations.AddConstraint(
            model_name="shopmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("amount__gt", Decimal("0")), ("kind", "refund")),
                    models.Q(models.Q(("kind", "refund"), _negated=True), ("amount__isnull", True)),
                    _connector="OR",
                ),
                name="shopmovement_refund_amount",
            ),
        ),
        migrations.RunPython(backfill_ledger, migrations.RunPython.noop),
    ]
