from __future__ import annotations

from django.urls import path

from helpdesk import hooks, views

app_name = "helpdesk"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/workspace/", views.switch_workspace, name="switch_workspace"),
    path("inbox/tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("inbox/tickets/<int:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("inbox/tickets/<int:ticket_id>/note/", views.ticket_note, name="ticket_note"),
    path("inbox/tickets/<int:ticket_id>/assign/", views.ticket_assign, name="ticket_assign"),
    path("inbox/tickets/<int:ticket_id>/type/", views.ticket_set_type, name="ticket_set_type"),
    path("inbox/tickets/<int:ticket_id>/resolve/", views.ticket_resolve, name="ticket_resolve"),
    path("inbox/tickets/<int:ticket_id>/reopen/", views.ticket_reopen, name="ticket_reopen"),
    path("inbox/tickets/<int:ticket_id>/close/", views.ticket_close, name="ticket_close"),
    # The Copilot sidebar and the page's live poll, registered by the AI app (ai/views_copilot.py).
    *hooks.inbox_urls(),
]
