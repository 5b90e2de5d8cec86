"""The back office's home in the product's words: sections for the three roles that use it
(support, manager, finance), pages named as the inbox names them, and the internal tables
(embedding spaces, calibration maps, the task queue…) in a last section only superusers see."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse

# (section, what it is for, the roles it is for, [(app_label, model, name shown)]).
SECTIONS: tuple[tuple[str, str, frozenset[str], tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Support",
        "Tickets, customers, their orders and the help center.",
        frozenset({"agent", "manager", "admin"}),
        (
            ("helpdesk", "ticket", "Tickets"),
            ("helpdesk", "customer", "Customers"),
            ("helpdesk", "order", "Orders"),
            ("helpdesk", "article", "Help-center articles"),
            ("helpdesk", "message", "Messages"),
        ),
    ),
    (
        "Manager: approvals, AI rules and controls",
        "What the AI may do on its own, what waits for you, and what happened.",
        frozenset({"manager", "admin"}),
        (
            ("ai", "actionrequest", "Approvals"),
            ("ai", "aisettings", "AI settings: mode and default threshold"),
            ("ai", "confidencerule", "Autosend thresholds"),
            ("ai", "approvalrule", "Approval rules"),
            ("ai", "toolpermission", "Tool allow-list"),
            ("ai", "shoppolicy", "Shop policy"),
            ("ai", "httpaction", "HTTP actions"),
            ("ai", "agentpause", "Kill switch: pauses"),
            ("ai", "alertsettings", "Alerts"),
            ("ai", "agentrun", "AI runs"),
            ("ai", "knowledgesettings", "Knowledge settings"),
            ("audit", "auditevent", "Audit log"),
            ("helpdesk", "workspace", "Workspace and team"),
            ("helpdesk", "apitoken", "API tokens"),
        ),
    ),
    (
        "Finance",
        "Invoices per outcome, the outcomes behind them, and the plan.",
        frozenset({"finance", "admin"}),
        (
            ("billing", "invoice", "Invoices"),
            ("billing", "outcome", "Outcomes (billable AI resolutions)"),
            ("billing", "plan", "Plan and prices"),
        ),
    ),
)
INTERNAL = "Internal tables (superusers)"


class OasisAdminSite(admin.AdminSite):
    site_header = "Support Oasis back office"
    site_title = "Support Oasis"
    index_title = "Back office"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The admin's sign-in under the same limits as /accounts/login/: staff passwords are worth
        the most."""
        from helpdesk.views_auth import login_throttled

        limited = login_throttled(request) if request.method == "POST" else None
        return limited or super().login(request, extra_context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        if app_label is not None:
            return super().get_app_list(request, app_label)
        apps = self._build_app_dict(request)
        found: dict[tuple[str, str], dict[str, Any]] = {
            (label, model["object_name"].lower()): model for label, app in apps.items() for model in app["models"]
        }
        roles = _roles(request)
        sections = []
        for title, about, for_roles, entries in SECTIONS:
            if not (request.user.is_superuser or roles & for_roles):
                continue  # each role sees its own part (the pages stay reachable by their rights)
            models = []
            for label, name, shown in entries:
                model = found.pop((label, name), None)
                if model is not None:
                    models.append({**model, "name": shown})
            if models:
                sections.append(_section(title, about, models))
        leftovers = sorted(found.values(), key=lambda m: str(m["name"]))
        if leftovers and request.user.is_superuser:
            sections.append(_section(INTERNAL, "Indexes, caches, the task queue and accounts.", leftovers))
        return sections


def _roles(request: HttpRequest) -> set[str]:
    from helpdesk.admin import member_roles

    return set(member_roles(request).values())


def _section(title: str, about: str, models: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": title,
        "app_label": title.split(":")[0].lower().replace(" ", "-"),
        "app_url": models[0]["admin_url"] or "#",
        "has_module_perms": True,
        "models": models,
        "description": about,
    }


class OasisAdminConfig(AdminConfig):
    default_site = "oasis.admin_site.OasisAdminSite"
