"""Wake the widget's long-polls: a committed change a chat customer can see sends a NOTIFY.

The thread version a widget holds (helpdesk/channels/thread.py) moves with the ticket's
`updated_at`, a new feedback row, or the session getting its ticket; each of those notifies
`oasis_thread` with "t:<ticket id>" or "s:<session id>". NOTIFY is delivered on commit only, so
a waiter never wakes for a change it can't read yet. Chat tickets only: other channels have no
long-poll, and bulk updates of email tickets should not queue notifications.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION helpdesk_notify_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oasis_thread', 't:' || NEW.id);
    RETURN NULL;
END $$;
CREATE FUNCTION helpdesk_notify_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oasis_thread', 't:' || NEW.ticket_id);
    RETURN NULL;
END $$;
CREATE FUNCTION helpdesk_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oasis_thread', 's:' || NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER helpdesk_ticket_notify AFTER UPDATE ON helpdesk_ticket FOR EACH ROW
    WHEN (NEW.channel = 'chat' AND NEW.updated_at IS DISTINCT FROM OLD.updated_at)
    EXECUTE FUNCTION helpdesk_notify_ticket();
CREATE TRIGGER helpdesk_feedback_notify AFTER INSERT ON helpdesk_customerfeedback FOR EACH ROW
    EXECUTE FUNCTION helpdesk_notify_feedback();
CREATE TRIGGER helpdesk_session_notify AFTER UPDATE ON helpdesk_chatsession FOR EACH ROW
    WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id)
    EXECUTE FUNCTION helpdesk_notify_session();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS helpdesk_session_notify ON helpdesk_chatsession;
DROP TRIGGER IF EXISTS helpdesk_feedback_notify ON helpdesk_customerfeedback;
DROP TRIGGER IF EXISTS helpdesk_ticket_notify ON helpdesk_ticket;
DROP FUNCTION IF EXISTS helpdesk_notify_session();
DROP FUNCTION IF EXISTS helpdesk_notify_feedback();
DROP FUNCTION IF EXISTS helpdesk_notify_ticket();
"""


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0002_channels")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
