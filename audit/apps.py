from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Write "user.login" into the chain of each workspace the user belongs to.

    Django's own auth event is the one place a signal is the right hook: logins happen in
    Django's views (the staff login and the admin's), not in a service of ours.
    """
    from django.db import transaction

    from audit.services import Actor, audit_record
    from helpdesk.models import Membership

    memberships = list(Membership.objects.filter(user_id=user.pk).select_related("workspace").order_by("workspace_id"))
    if not memberships:
        return
    meta = getattr(request, "META", {}) if request is not None else {}
    data = {
        "user": user.pk,
        "ip": meta.get("REMOTE_ADDR", ""),
        "user_agent": str(meta.get("HTTP_USER_AGENT", ""))[:200],
    }
    with transaction.atomic():
        for membership in memberships:
            audit_record(
                workspace=membership.workspace,
                actor=Actor.for_user(user),
                kind="user.login",
                data={**data, "role": membership.role},
            )


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(record_login, dispatch_uid="audit.record_login")
