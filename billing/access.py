"""Who may see invoices: finance and admin members of the invoice's workspace (and superusers).

Anything else is indistinguishable from a missing invoice: 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from billing.models import Invoice
from helpdesk.access import FINANCE_ROLES
from helpdesk.models import Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def finance_workspace_ids(user: User | AnonymousUser) -> list[int] | None:
    """Workspaces whose invoices the user may see; None means all (a superuser)."""
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    return list(Membership.objects.filter(user=user, role__in=FINANCE_ROLES).values_list("workspace_id", flat=True))


def can_see_invoices(user: User | AnonymousUser) -> bool:
    ids = finance_workspace_ids(user)
    return ids is None or bool(ids)


def invoice_for_user(*, user: User | AnonymousUser, invoice_id: int | str) -> Invoice:
    try:
        pk = int(invoice_id)
    except (TypeError, ValueError):
        raise Http404 from None
    ids = finance_workspace_ids(user)
    invoices = Invoice.objects.select_related("workspace").filter(pk=pk)
    if ids is not None:
        invoices = invoices.filter(workspace_id__in=ids)
    invoice = invoices.first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice
