"""Background work of the helpdesk (django-q2). Tasks take ids, load, and act."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from helpdesk.channels.email_out import build_reply_email
from helpdesk.models import Message
from helpdesk.models.identity import MagicLink, MagicLinkStatus
from helpdesk.services_identity import build_magic_link_email

logger = logging.getLogger(__name__)


def enqueue_reply_email(message_id: int) -> None:
    async_task("helpdesk.tasks.send_reply_email", message_id, task_name=f"reply-email-{message_id}")


M = TypeVar("M", Message, MagicLink)


def _email_once(
    rows: QuerySet[M], pk: int, build: Callable[[M], EmailMessage], *, wanted: Callable[[M], bool] | None = None
) -> M | None:
    """Send the row's e-mail at most once (the row lock and `email_sent_at` say whether it left);
    None when it left already or is no longer `wanted`. A failure raises, so django-q2 retries it."""
    with transaction.atomic():
        row = rows.select_for_update(of=("self",)).get(pk=pk)
        if row.email_sent_at is not None or (wanted is not None and not wanted(row)):
            return None
        build(row).send(fail_silently=False)
        row.email_sent_at = timezone.now()
        row.save(update_fields=["email_sent_at"])
    return row


def send_reply_email(message_id: int) -> bool:
    """Send one reply by email at most once."""
    rows = Message.objects.select_related("ticket__workspace", "ticket__customer")
    message = _email_once(rows, message_id, build_reply_email)
    if message is not None:
        logger.info("reply %s emailed to ticket %s", message_id, message.ticket_id)
    return message is not None


def send_magic_link_email(link_id: int) -> bool:
    """Send one magic link by email at most once, while it is still pending."""
    rows = MagicLink.objects.select_related("ticket__workspace", "customer")
    link = _email_once(rows, link_id, build_magic_link_email, wanted=lambda row: row.status == MagicLinkStatus.PENDING)
    if link is not None:
        logger.info("magic link %s emailed for ticket %s", link_id, link.ticket_id)
    return link is not None
