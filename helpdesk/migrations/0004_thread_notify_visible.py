"""Wake the widget's long-poll only for a ticket change the customer can see.

0003 notified on any change of a chat ticket's `updated_at`, so the Agent labelling a new
ticket's type (or staff assigning it) woke the customer's long-poll for a thread that looked
the same. The customer sees the public messages (each moves `last_message_at`), the status and
the AI's decision (the waiting notice, the hand-off); the thread version
(helpdesk/channels/thread.py) moves with the same columns.
"""

from django.db import migrations

FORWARD = """
DROP TRIGGER IF EXISTS helpdesk_ticket_notify ON helpdesk_ticket;
CREATE TRIGGER helpdesk_ticket_notify AFTER UPDATE ON helpdesk_ticket FOR EACH ROW
    WHEN (NEW.channel = 'chat' AND (NEW.last_message_at, NEW.status, NEW.ai_decision)
          IS DISTINCT FROM (OLD.last_message_at, OLD.status, OLD.ai_decision))
    EXECUTE FUNCTION helpdesk_notify_ticket();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS helpdesk_ticket_notify ON helpdesk_ticket;
CREATE TRIGGER helpdesk_ticket_notify AFTER UPDATE ON helpdesk_ticket FOR EACH ROW
    WHEN (NEW.channel = 'chat' AND NEW.updated_at IS DISTINCT FROM OLD.updated_at)
    EXECUTE FUNCTION helpdesk_notify_ticket();
"""


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0003_thread_notify")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
