"""Background work of the helpdesk (django-q2). Tasks take ids, load, and act."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from helpdesk.email_out import build_reply_email
from helpdesk.models import Message
from helpdesk.models_identity import MagicLink, MagicLinkStatus
from helpdesk.services_identity import build_magic_link_email

logger = logging.getLogger(__name__)


def enqueue_reply_email(message_id: int) -> None:
    async_task("helpdesk.tasks.send_reply_email", message_id, task_name=f"reply-email-{message_id}")


def send_reply_email(message_id: int) -> bool:
    """Send one reply by email at most once; a failure raises so django-q2 retries it."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("ticket__workspace", "ticket__customer")
            .get(pk=message_id)
        )
        if message.email_sent_at is not None:
            return False
        build_reply_email(message).send(fail_silently=False)
        message.email_sent_at = timezone.now()
        message.save(update_fields=["email_sent_at"])
    logger.info("reply %s emailed to ticket %s", message_id, message.ticket_id)
    return True


def send_magic_link_email(link_id: int) -> bool:
    """Send one magic link by email at most once; a failure raises so django-q2 retries it."""
    with transaction.atomic():
        link = (
            MagicLink.objects.select_for_update(of=("self",))
            .select_related("ticket__workspace", "customer")
            .get(pk=link_id)
        )
        if link.email_sent_at is not None or link.status != MagicLinkStatus.PENDING:
            return False
        build_magic_link_email(link).send(fail_silently=False)
        link.email_sent_at = timezone.now()
        link.save(update_fields=["email_sent_at"])
    logger.info("magic link %s emailed for ticket %s", link_id, link.ticket_id)
    return True
