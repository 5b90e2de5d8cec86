from __future__ import annotations

from django.apps import AppConfig


class AIConfig(AppConfig):
    name = "ai"
    verbose_name = "AI"

    def ready(self) -> None:
        # Tools: default allow-list and approval rule for every new workspace.
        from ai.tools.defaults import tool_defaults_create
        from helpdesk import hooks

        hooks.workspace_created.connect(tool_defaults_create)
        # Agent: one run per inbound customer message, enqueued after commit.
        from ai.agent.pipeline import agent_run_enqueue

        hooks.customer_message.connect(agent_run_enqueue)
        # The one reading of "asks for a person", for the chat handoff as for the Agent.
        from ai.agent.asks import asks_for_human

        hooks.register_human_ask_detector(asks_for_human)

        # Identity: a customer's late proof (a magic link clicked) starts one re-run of the Agent.
        from ai.agent.identity import agent_rerun_on_verification

        hooks.customer_verified.connect(agent_rerun_on_verification)
        # The demo shows every feature: Agent mode, all tools, 90 days of history.
        from ai.demo import demo_prepare

        hooks.demo_seeded.connect(demo_prepare)
        # The helpdesk's pages: the Copilot sidebar, the approvals box and the live poll in the
        # inbox; the hybrid search behind the help center and the contact form.
        from ai.search import search
        from ai.views_copilot import register_inbox

        register_inbox()
        hooks.register_article_search(search)
        # The trust page reads the audit trail with the AI's eyes; it lives under /audit/.
        from ai.views_trust import audit_urlpatterns
        from audit import hooks as audit_hooks

        audit_hooks.register_urls(audit_urlpatterns)
        # Its runs as cards on a ticket's audit timeline, and the audit review's AI filters.
        from ai.admin_audit import EVENT_FILTERS, EVENT_GROUPS
        from ai.timeline_card import RUN_CARDS

        audit_hooks.register_card_builder(RUN_CARDS)
        audit_hooks.register_event_groups(EVENT_GROUPS)
        audit_hooks.register_event_filters(EVENT_FILTERS)
        # The knowledge index follows the help center's articles.
        from ai.services import articles_changed, articles_reindex

        hooks.articles_changed.connect(articles_changed)
        hooks.articles_reindex.connect(articles_reindex)
        # Stale runs: every worker process sweeps when it starts (a crashed cluster coming back).
        from django_q.signals import post_spawn

        from ai.agent.sweep import runs_sweep_at_worker_start

        post_spawn.connect(runs_sweep_at_worker_start, dispatch_uid="ai.runs_sweep_at_worker_start")
