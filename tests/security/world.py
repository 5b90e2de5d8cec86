"""Two workspaces for the security sweeps: A holds one object of every kind, B holds the people.

Every user-visible text of A comes from `text(label)`: the tenancy sweep passes a canary (so a
page of B that shows any of it is a leak), the stored-XSS sweep passes hostile markup (so a page
that renders any of it unescaped runs it). Objects are written through the services where one
exists and with the ORM where the row is only data (runs, trials, invoices, settings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from ai.models import (
    ActionRequest,
    AgentRun,
    AISettings,
    AlertSettings,
    AlertState,
    ApprovalRule,
    CalibrationMap,
    ConfidenceRule,
    DraftFeedback,
    EmbeddingSpace,
    HttpAction,
    KnowledgeSettings,
    Passage,
    ReportDay,
    ReportDayCount,
    ReportRollupState,
    RunStatus,
    ShopPolicy,
    ToolPermission,
    TrialItem,
    TrialMark,
    TrialRun,
    TrialStatus,
)
from ai.providers.local import DIMENSIONS as LOCAL_DIMENSIONS
from ai.providers.local import MODEL_NAME as LOCAL_MODEL
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import Actor, audit_record
from billing.models import Invoice, InvoiceLine, Outcome
from billing.services import plan_for
from conftest import make_user
from helpdesk.api_tokens import api_token_create
from helpdesk.channels.identity import magic_link_token, portal_token, widget_secret
from helpdesk.models import (
    Article,
    ArticleStatus,
    Attachment,
    AuthorKind,
    BusinessHours,
    ChatMessageKey,
    ChatSession,
    CustomerFeedback,
    HelpCenterSource,
    HelpCenterSync,
    MagicLink,
    Membership,
    MessageKind,
    Order,
    OrderItem,
    OrderStatusWord,
    Role,
    ShopMovement,
    ShopMovementKind,
    Ticket,
    VerificationMethod,
    Workspace,
)
from helpdesk.services import (
    membership_add,
    ticket_add_note,
    ticket_create,
    ticket_reply,
    workspace_create,
    workspace_update,
)
from helpdesk.services_channels import chat_session_start
from helpdesk.services_identity import identity_verify, magic_link_send
from helpdesk.shop_ledger import confirmation_for, movement_record

Text = Callable[[str], str]
SYSTEM = Actor.system("security-sweep")

# The people of workspace B: every role, all staff (the back office is swept too), a staff
# user with no workspace at all, and nobody (anonymous).
B_ROLES = ("agent", "manager", "finance", "admin", "staff", "anonymous")


@dataclass
class Tenant:
    workspace: Workspace
    objects: dict[type[models.Model], models.Model] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    ticket: Ticket | None = None
    chat_token: str = ""
    portal_token: str = ""
    magic_link_token: str = ""
    draft_article: Article | None = None

    def obj(self, model: type[models.Model]) -> Any:
        return self.objects[model]


def _keep(tenant: Tenant, *rows: models.Model) -> None:
    for row in rows:
        tenant.objects.setdefault(type(row), row)


def _staff(email: str, *, superuser: bool = False) -> User:
    user: User = make_user(email)
    user.is_staff = True
    user.is_superuser = superuser
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _hostile_markdown(text: Text, label: str) -> str:
    # A body that also tries the Markdown ways in: a javascript: link and raw HTML.
    return f"{text(label)}\n\n[{text(label + '-link')}](javascript:alert('{label}'))\n\n<b>{text(label + '-html')}</b>"


def _customer_ticket(*, workspace: Workspace, channel: str, email: str, text: Text) -> Ticket:
    return ticket_create(
        workspace=workspace,
        channel=channel,
        customer_email=email,
        customer_name=text(f"{channel}-name"),
        subject=text(f"{channel}-subject"),
        body=text(f"{channel}-message"),
    )


def _magic_link(ticket: Ticket) -> tuple[MagicLink, str]:
    """A pending magic link for the ticket's customer, and the token its e-mail carries."""
    link = magic_link_send(ticket=ticket, actor=SYSTEM)
    assert link is not None
    return link, magic_link_token(link_id=link.pk, nonce=link.nonce)


@transaction.atomic
def build_full_tenant(*, slug: str, text: Text, domain: str, superuser: bool = False) -> Tenant:
    """A workspace with one object of every kind; its admin member is a superuser if asked."""
    workspace = workspace_create(name=text("workspace"), slug=slug, actor=SYSTEM)
    tenant = Tenant(workspace=workspace)
    _keep(tenant, workspace)
    admin_user = _staff(f"owner@{domain}", superuser=superuser)
    admin_user.first_name = text("user-first-name")[:150]
    admin_user.save(update_fields=["first_name"])
    agent_user = _staff(f"agent@{domain}")
    membership_add(workspace=workspace, user=admin_user, role=Role.ADMIN, actor=SYSTEM)
    membership_add(workspace=workspace, user=agent_user, role=Role.AGENT, actor=SYSTEM)
    tenant.users = {"admin": admin_user, "agent": agent_user}
    _keep(tenant, admin_user, Membership.objects.get(workspace=workspace, user=admin_user))

    ticket = _customer_ticket(workspace=workspace, channel="email", email=f"carla@{domain}", text=text)
    Ticket.objects.filter(pk=ticket.pk).update(
        external_id=text("external-id")[:200],
        ai_reason=text("ticket-ai-reason")[:300],
        ai_decision="draft",
        ai_confidence=0.42,
        ticket_type="refund",
    )
    ticket.refresh_from_db()
    tenant.ticket = ticket
    _keep(tenant, ticket, ticket.customer)
    reply = ticket_reply(ticket=ticket, body=text("agent-reply"), actor=Actor.for_user(agent_user))
    ticket_add_note(ticket=ticket, body=text("internal-note"), actor=Actor.for_user(agent_user))
    ai_reply = ticket_reply(ticket=ticket, body=text("ai-reply"), actor=Actor.ai("local"), author_kind=AuthorKind.AI)
    _keep(tenant, ticket.messages.get(kind=MessageKind.CUSTOMER), reply)
    Attachment.objects.create(
        ticket=ticket,
        message=ticket.messages.get(kind=MessageKind.CUSTOMER),
        filename=text("attachment")[:200],
        content_type="text/plain",
        size=5,
        data=b"hello",
    )
    CustomerFeedback.objects.create(ticket=ticket, message=ai_reply, solved=False, source="portal")
    tenant.portal_token = portal_token(ticket.pk)

    article = Article.objects.create(
        workspace=workspace,
        title=text("article-title"),
        slug="returns",
        url=f"https://help.{domain}/returns",
        body=_hostile_markdown(text, "article-body"),
        source="admin",
    )
    tenant.draft_article = Article.objects.create(
        workspace=workspace,
        title=text("draft-article-title"),
        slug="unreleased",
        body=text("draft-article-body"),
        status=ArticleStatus.DRAFT,
        source="admin",
    )
    _keep(tenant, article)
    source = HelpCenterSource.objects.create(workspace=workspace, url=f"https://help.{domain}/", locale="en-us")
    sync = HelpCenterSync.objects.create(
        source=source,
        status="done",
        progress=1,
        total=1,
        error=text("sync-error"),
        report={"skipped": [{"url": f"https://help.{domain}/x", "reason": text("sync-skipped")}], "failed": []},
    )
    word = OrderStatusWord.objects.create(
        workspace=workspace, word=text("status-word")[:64], key="on_hold", status="processing"
    )
    _keep(tenant, source, sync, word)
    space = EmbeddingSpace.objects.create(
        workspace=workspace, provider="local", model=LOCAL_MODEL, dimensions=LOCAL_DIMENSIONS, status="active"
    )
    passage = Passage.objects.create(
        space=space,
        workspace=workspace,
        article=article,
        position=0,
        heading_path=f"{text('passage-heading')} > Returns",
        anchor="returns",
        text=text("passage-text"),
        content_hash="0" * 64,
        dims=LOCAL_DIMENSIONS,
        embedding=[1.0] * LOCAL_DIMENSIONS,
    )
    _keep(tenant, space, passage)

    order = Order.objects.create(
        workspace=workspace,
        number="A1001",
        customer_email=f"carla@{domain}",
        status="delivered",
        placed_at=timezone.now() - dt.timedelta(days=10),
        delivered_at=timezone.now() - dt.timedelta(days=5),
        carrier=text("carrier")[:64],
        tracking_number=text("tracking")[:128],
        total=Decimal("150.00"),
        shipping_address=text("shipping-address"),
    )
    OrderItem.objects.create(order=order, sku="SKU-1", name=text("item-name")[:200], price=Decimal("150.00"))
    _keep(tenant, order)
    # The shop's ledger (shown on the order's admin page): a refund the AI made, named by its model.
    key = f"{slug}-refund-1"
    movement_record(
        workspace=workspace,
        kind=ShopMovementKind.REFUND,
        key=key,
        data={"confirmation": confirmation_for(ShopMovementKind.REFUND, key), "note": text("shop-movement")},
        actor=Actor.ai(text("ai-model")[:200]),
        ticket=ticket,
        order=order,
        refund=Decimal("20.00"),
    )
    _keep(tenant, ShopMovement.objects.get(workspace=workspace, key=key))

    # Customer identity: the e-mail's sender authenticated by the trusted relay (whose verdict
    # quotes what the sender's mail said), and below, a magic link for the chat visitor.
    workspace = workspace_update(
        workspace=workspace, actor=SYSTEM, changes={"mail_relay_authserv_id": text("mail-relay")[:255]}
    )
    tenant.workspace = tenant.objects[Workspace] = workspace
    verification = identity_verify(
        ticket=ticket,
        method=VerificationMethod.EMAIL_AUTH,
        actor=SYSTEM,
        evidence={
            "authserv_id": workspace.mail_relay_authserv_id,
            "passed": "dkim",
            "results": [{"method": "dkim", "result": "pass", "header.d": text("dkim-domain")}],
        },
    )
    _keep(tenant, verification)

    token, tenant.api_keys["admin"] = api_token_create(
        workspace=workspace, user=admin_user, name=text("api-token")[:100], actor=SYSTEM
    )
    _keep(tenant, token)
    api_token_create(
        workspace=workspace,
        user=admin_user,
        name=text("customer-api-token")[:100],
        actor=SYSTEM,
        customer_email=f"carla@{domain}",
    )

    settings_rows = [
        KnowledgeSettings.objects.get_or_create(workspace=workspace)[0],
        AISettings.objects.get_or_create(workspace=workspace)[0],
        AlertSettings.objects.get_or_create(workspace=workspace)[0],
        ShopPolicy.objects.get_or_create(workspace=workspace)[0],
        ConfidenceRule.objects.create(workspace=workspace, channel="email", autosend_threshold=0.9),
        CalibrationMap.objects.create(workspace=workspace, points=[[0, 0], [1, 1]], ece=0.01, samples=10),
        ToolPermission.objects.filter(workspace=workspace).order_by("pk").first()
        or ToolPermission.objects.create(workspace=workspace, tool="lookup_order", enabled=True),
        HttpAction.objects.create(
            workspace=workspace,
            name="crm-note",
            description=text("http-action-description")[:500],
            url_template="https://crm.example.test/notes",
            secret="s3cret",
        ),
        ApprovalRule.objects.filter(workspace=workspace).order_by("pk").first()
        or ApprovalRule.objects.create(workspace=workspace, tool="issue_refund", amount_over=Decimal("100")),
        AlertState.objects.create(workspace=workspace, kind="approvals_waiting", details={"note": text("alert")}),
        BusinessHours.objects.create(workspace=workspace, channel="chat", hours={"0": [["09:00", "17:00"]]}),
    ]
    _keep(tenant, *settings_rows)

    run = AgentRun.objects.create(
        workspace=workspace,
        ticket=ticket,
        trigger_message=ticket.messages.get(kind=MessageKind.CUSTOMER),
        kind="agent",
        status=RunStatus.DONE,
        ticket_type="refund",
        language="en",
        triage={"copilot": {"summary": {"text": text("copilot-summary")}}},
        redacted_input=text("redacted-input"),
        passages=[{"n": 1, "heading": text("run-passage-heading"), "title": text("run-passage-title")}],
        tool_calls=[{"tool": "issue_refund", "args": {"order_number": "A1001", "amount": "150.00"}, "status": ""}],
        draft=text("ai-draft"),
        citations=[{"n": 1, "title": text("citation-title"), "url": "javascript:alert('citation')"}],
        confidence=0.42,
        confidence_parts={"retrieval": 0.5, "groundedness": 0.4},
        decision="draft",
        reason=text("ai-run-reason")[:300],
        provider="local",
        model="oasis-local-1",
        finished_at=timezone.now(),
    )
    feedback = DraftFeedback.objects.create(run=run, user=agent_user, verdict="discarded", reason="wrong")
    action = ActionRequest.objects.create(
        workspace=workspace,
        ticket=ticket,
        run=run,
        tool="issue_refund",
        args={"order_number": "A1001", "amount": "150.00", "why": text("action-args")},
        amount=Decimal("150.00"),
        reply_draft=text("action-reply-draft"),
        rule={"amount_over": "100.00"},
        requested_by=text("action-requested-by")[:255],
        note=text("action-note"),
    )
    _keep(tenant, run, feedback, action)
    from ai.controls import agent_pause

    _keep(tenant, agent_pause(workspace=workspace, channel="chat", actor=SYSTEM, reason=text("pause-reason")[:300]))

    trial = TrialRun.objects.create(
        workspace=workspace,
        status=TrialStatus.DONE,
        progress=1,
        total=1,
        params={"tickets": text("trial-param")},
        report={
            "summary": {"tickets": 1, "would_autosend_rate": 0.0, "note": text("trial-summary")},
            "tickets": [
                {
                    "external_id": "T-1",
                    "ticket_type": "refund",
                    "language": "en",
                    "confidence": 0.42,
                    "decision": "draft",
                    "reply": text("trial-reply"),
                    "citations": [{"title": text("trial-citation"), "url": "javascript:alert('trial')"}],
                    "actions": [{"tool": "issue_refund", "args": {"why": text("trial-args")}, "status": "simulated"}],
                    "reason": text("trial-reason"),
                }
            ],
        },
        created_by=admin_user,
        finished_at=timezone.now(),
    )
    TrialItem.objects.create(trial=trial, ticket=ticket, run=run, external_id="T-1", position=0)
    TrialMark.objects.create(trial=trial, external_id="T-1", mark="good", marked_by=admin_user)
    _keep(tenant, trial)

    today = timezone.now().date()
    ReportDay.objects.create(workspace=workspace, day=today, channel="email", ticket_type="refund")
    ReportDayCount.objects.create(
        workspace=workspace, day=today, channel="email", ticket_type="refund", metric="handoff", key="x", n=1
    )
    ReportRollupState.objects.create(
        workspace=workspace, rolled_from=today, rolled_until=today, refreshed_at=timezone.now()
    )

    plan = plan_for(workspace)
    now = timezone.now()
    outcome = Outcome.objects.create(
        workspace=workspace,
        ticket=ticket,
        status="billed",
        evidence={"note": text("outcome-evidence")},
        ai_replied_at=now,
        window_ends_at=now,
        resolved_at=now,
        price=Decimal("0.50"),
        currency="USD",
    )
    invoice = Invoice.objects.create(
        workspace=workspace, number=1, period=today.replace(day=1), currency="USD", issued_at=now
    )
    InvoiceLine.objects.create(
        invoice=invoice, outcome=outcome, ticket_number=ticket.number, resolved_at=now, amount="0.50", currency="USD"
    )
    _keep(tenant, plan, outcome, invoice)

    audit_record(
        workspace=workspace, ticket=ticket, actor=Actor.ai("local"), kind="ai.drafted", data={"draft": text("audit")}
    )
    _keep(tenant, AuditCheckpoint.objects.create(workspace=workspace, seq=0, hash="0" * 64, created_at=now))

    started = chat_session_start(workspace=workspace, email=f"visitor@{domain}", name=text("chat-name"))
    chat_ticket = _customer_ticket(workspace=workspace, channel="chat", email=f"visitor@{domain}", text=text)
    ChatSession.objects.filter(pk=started.session.pk).update(ticket=chat_ticket)
    ChatMessageKey.objects.create(
        session=started.session, client_id="c-1", message=chat_ticket.messages.get(kind=MessageKind.CUSTOMER)
    )
    tenant.chat_token = started.token
    _keep(tenant, started.session)
    widget_secret(workspace)
    # The visitor typed their address: the tools wait for the link e-mailed to it.
    link, tenant.magic_link_token = _magic_link(chat_ticket)
    _keep(tenant, link)

    # Rows of the back office that belong to no workspace (superusers only).
    _keep(
        tenant,
        Group.objects.create(name=f"{slug} reviewers"),
        Schedule.objects.create(name=f"{slug} nightly", func="math.floor", args="1"),
        OrmQ.objects.create(key=f"{slug}-queue", payload="x", lock=now),
    )
    for success in (True, False):
        Task.objects.create(
            id=f"{slug}-task-{success}",
            name=f"{slug}-{success}",
            func="math.floor",
            started=now,
            stopped=now,
            success=success,
        )
    # The admin's models for Success and Failure are proxies of Task: one row serves each.
    from django_q.models import Failure, Success

    tenant.objects[Success] = Success.objects.get(pk=f"{slug}-task-True")
    tenant.objects[Failure] = Failure.objects.get(pk=f"{slug}-task-False")
    # Read back so the events queued for the commit are written (the sweep counts them).
    assert AuditEvent.objects.filter(workspace=workspace).exists()
    _keep(tenant, AuditEvent.objects.filter(workspace=workspace).order_by("seq").first())
    return tenant


@transaction.atomic
def build_people_tenant(*, slug: str, domain: str) -> Tenant:
    """Workspace B: a member of every role (staff, not superusers), their API keys, a ticket (with
    its magic link) and a chat."""
    workspace = workspace_create(name=f"Bravo {slug}", slug=slug, actor=SYSTEM)
    tenant = Tenant(workspace=workspace)
    for role in (Role.AGENT, Role.MANAGER, Role.FINANCE, Role.ADMIN):
        user = _staff(f"{role}@{domain}")
        membership_add(workspace=workspace, user=user, role=role, actor=SYSTEM)
        tenant.users[str(role)] = user
        tenant.api_keys[str(role)] = api_token_create(workspace=workspace, user=user, name=role, actor=SYSTEM)[1]
    tenant.users["staff"] = _staff(f"staff@{domain}")
    tenant.ticket = ticket_create(
        workspace=workspace,
        channel="email",
        customer_email=f"bob@{domain}",
        subject="B's own ticket",
        body="Where is my order B2001?",
    )
    started = chat_session_start(workspace=workspace, email=f"visitor@{domain}", name="B visitor")
    tenant.chat_token = started.token
    tenant.portal_token = portal_token(tenant.ticket.pk)
    _link, tenant.magic_link_token = _magic_link(tenant.ticket)
    return tenant


def tenant_lookups() -> dict[type[models.Model], str]:
    """Every model of the project's apps with the lookup from it to its workspace id.

    Derived from the foreign keys (at most two hops), so a new model is covered without
    editing this file; a model with no path to a workspace belongs to none (rate counters,
    caches).
    """
    from django.apps import apps

    lookups: dict[type[models.Model], str] = {}
    for model in apps.get_models():
        if model._meta.app_label not in ("helpdesk", "ai", "billing", "audit"):
            continue
        lookup = _lookup_to_workspace(model, depth=2)
        if lookup is not None:
            lookups[model] = lookup
    return lookups


def _lookup_to_workspace(model: type[models.Model], *, depth: int) -> str | None:
    if model is Workspace:
        return "pk"
    relations = [f for f in model._meta.get_fields() if isinstance(f, models.ForeignKey | models.OneToOneField)]
    for relation in relations:
        if relation.related_model is Workspace:
            return f"{relation.name}_id"
    if depth <= 1:
        return None
    for relation in relations:
        related = relation.related_model
        if isinstance(related, type) and issubclass(related, models.Model) and related is not model:
            inner = _lookup_to_workspace(related, depth=depth - 1)
            if inner is not None and inner != "pk":
                return f"{relation.name}__{inner}"
    return None


def snapshot(workspace: Workspace) -> dict[str, str]:
    """A digest of every row that belongs to the workspace, per model (and of its members'
    user rows), read in one query: the sweep takes one after every URL."""
    querysets: dict[str, models.QuerySet[Any]] = {
        model._meta.label: model._default_manager.filter(**{lookup: workspace.pk})
        for model, lookup in tenant_lookups().items()
    }
    querysets["auth.User"] = User.objects.filter(memberships__workspace=workspace)
    parts, params = [], []
    for label, queryset in querysets.items():
        meta = queryset.model._meta
        inner, inner_params = queryset.values("pk").query.sql_with_params()
        # Table and column names come from the models, values travel as parameters.
        pk = meta.pk.column
        digest = f"md5(coalesce(string_agg(t::text, '|' ORDER BY t.{pk}), ''))"
        parts.append(f'SELECT %s, {digest} FROM "{meta.db_table}" t WHERE t.{pk} IN ({inner})')  # noqa: S608
        params.extend([label, *inner_params])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return dict(cursor.fetchall())


def changed_models(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))
