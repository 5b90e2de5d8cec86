from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import handlers
        from helpdesk import hooks

        hooks.customer_message.connect(handlers.customer_message_committed)
        hooks.public_reply.connect(handlers.public_reply_committed)
        hooks.ticket_reopened.connect(handlers.ticket_reopened)
        hooks.customer_feedback.connect(handlers.customer_feedback_given)
