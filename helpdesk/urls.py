from __future__ import annotations

from django.urls import path

from helpdesk import views, views_copilot

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
    path("inbox/tickets/<int:ticket_id>/poll/", views_copilot.ticket_poll, name="ticket_poll"),
    path("inbox/tickets/<int:ticket_id>/copilot/", views_copilot.copilot, name="ticket_copilot"),
    path(
        "inbox/tickets/<int:ticket_id>/copilot/regenerate/",
        views_copilot.copilot_regenerate,
        name="ticket_copilot_regenerate",
    ),
    path("inbox/tickets/<int:ticket_id>/copilot/send/", views_copilot.copilot_send, name="ticket_copilot_send"),
    path(
        "inbox/tickets/<int:ticket_id>/copilot/discard/", views_copilot.copilot_discard, name="ticket_copilot_discard"
    ),
    path("inbox/tickets/<int:ticket_id>/copilot/tool/", views_copilot.copilot_tool_run, name="ticket_copilot_tool"),
]
