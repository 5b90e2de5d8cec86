"""The back office: the Django admin over the helpdesk's models.

Two rules hold for every page here:
- scope: a superuser sees everything; any other staff user sees only the objects of the
  workspaces they are a member of (`WorkspaceScopedAdmin`), and gets their rights from
  their membership role, not from Django's per-model permissions;
- one way to change state: anything that changes a ticket, a membership, a token or a
  workspace calls the service that also writes the audit event. What has no service
  (messages, orders, customers) is read-only here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey, QuerySet
from django.forms import BaseInlineFormSet, ModelChoiceField, ModelForm
from django.http import HttpRequest

from audit.services import Actor
from helpdesk import services
from helpdesk.access import MANAGER_ROLES
from helpdesk.api_tokens import api_token_revoke
from helpdesk.models import (
    ApiToken,
    Article,
    Channel,
    Customer,
    HelpCenterSource,
    HelpCenterSync,
    Membership,
    Message,
    Order,
    OrderItem,
    OrderStatusWord,
    Role,
    ShopMovement,
    Ticket,
    Workspace,
)
from helpdesk.order_status import order_status_word_delete, order_status_word_save


def member_roles(request: HttpRequest) -> dict[int, str]:
    """{workspace id: role} of the request's user, read once per request."""
    cached: dict[int, str] | None = getattr(request, "_oasis_admin_roles", None)
    if cached is None:
        user = request.user
        cached = (
            dict(Membership.objects.filter(user_id=user.pk).values_list("workspace_id", "role"))
            if user.is_authenticated
            else {}
        )
        request._oasis_admin_roles = cached  # type: ignore[attr-defined]
    return cached


def _superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


class WorkspaceScopedMixin:
    """Scope querysets and rights to the user's workspaces.

    `workspace_lookup` is the path from the model to the workspace id. Viewing needs any
    membership; `edit_roles` (if not empty) may change objects of their workspace.
    """

    workspace_lookup = "workspace_id"
    edit_roles: tuple[str, ...] = ()

    def workspace_id_of(self, obj: Any) -> int | None:
        value: Any = obj
        for part in self.workspace_lookup.split("__"):
            value = getattr(value, part, None)
        return int(value) if value is not None else None

    def scope(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if _superuser(request):
            return queryset
        return queryset.filter(**{f"{self.workspace_lookup}__in": list(member_roles(request))})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope(request, super().get_queryset(request))  # type: ignore[misc]

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A plain "By workspace" filter lists every workspace's name; related-only lists those
        # of the rows this user may see, so a list_filter can name "workspace" without leaking.
        return [
            (name, admin.RelatedOnlyFieldListFilter) if name == "workspace" else name
            for name in super().get_list_filter(request)  # type: ignore[misc]
        ]

    def _role_for(self, request: HttpRequest, obj: Any) -> str | None:
        return member_roles(request).get(self.workspace_id_of(obj) or 0)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request) or (request.user.is_staff and bool(member_roles(request)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if _superuser(request):
            return True
        if not request.user.is_staff:
            return False
        return bool(member_roles(request)) if obj is None else self._role_for(request, obj) is not None

    def _may_edit(self, request: HttpRequest, obj: Any) -> bool:
        if not self.edit_roles:
            return False
        if _superuser(request):
            return True
        if not request.user.is_staff:
            return False
        if obj is None:
            return any(role in self.edit_roles for role in member_roles(request).values())
        return self._role_for(request, obj) in self.edit_roles

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # History is never deleted from the back office (tickets and messages are PROTECTed).
        return False

    def formfield_for_foreignkey(self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        # Someone who manages one workspace cannot point anything at another one.
        if db_field.related_model is Workspace and not _superuser(request):
            editable = [ws for ws, role in member_roles(request).items() if role in (self.edit_roles or MANAGER_ROLES)]
            kwargs["queryset"] = Workspace.objects.filter(pk__in=editable)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class ScopedAdmin(WorkspaceScopedMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    pass


class ScopedInline(WorkspaceScopedMixin, admin.TabularInline):  # type: ignore[type-arg]
    extra = 0


class ManagedSettingsAdmin(ScopedAdmin):
    """A workspace's settings: managers and admins of that workspace add and change them (the
    save goes through the model's service, which audits it); other members read.

    Deleting is opt-in (`deletable`): an admin that allows it also routes `delete_model` through
    a service that audits the delete, as the admin's own delete writes no audit row.
    """

    edit_roles = MANAGER_ROLES
    deletable = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, None)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and self._may_edit(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # "Delete selected" goes row by row through delete_model, so each delete is audited.
        for obj in queryset:
            self.delete_model(request, obj)


class InternalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Internal tables (indexes, fitted maps): listed for superusers only, read-only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ------------------------------------------------------------------------------ workspaces


class MembershipForm(ModelForm):  # type: ignore[type-arg]
    """A member is named by email: a manager never gets a list of every user of the site."""

    user_email = forms.EmailField(label="User (email)")

    class Meta:
        model = Membership
        fields = ("role",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["user_email"].initial = self.instance.user.email
            self.fields["user_email"].disabled = True

    def clean_user_email(self) -> str:
        if self.instance.pk:
            return str(self.instance.user.email)
        email = self.cleaned_data["user_email"]
        user = get_user_model().objects.filter(email__iexact=email).order_by("pk").first()
        if user is None:
            raise ValidationError("No user has this email; create the user first.")
        self.member = user
        return str(email)


class MembershipFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    actor: Actor

    def save_new(self, form: ModelForm, commit: bool = True) -> Membership:  # type: ignore[type-arg]
        return services.membership_add(
            workspace=self.instance,
            user=form.member,  # type: ignore[attr-defined]
            role=form.cleaned_data["role"],
            actor=self.actor,
        )

    def save_existing(self, form: ModelForm, obj: Membership, commit: bool = True) -> Membership:  # type: ignore[type-arg]
        return services.membership_add(
            workspace=self.instance, user=obj.user, role=form.cleaned_data["role"], actor=self.actor
        )


class MembershipInline(ScopedInline):
    model = Membership
    form = MembershipForm
    formset = MembershipFormSet
    workspace_lookup = "workspace_id"
    edit_roles = MANAGER_ROLES
    fields = ("user_email", "role", "created_at")
    readonly_fields = ("created_at",)
    # No membership_remove service yet: removing someone is a superuser's job on the user.
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # `obj` is the workspace for an inline.
        return self._may_edit(request, obj)

    def workspace_id_of(self, obj: Any) -> int | None:
        return obj.pk if isinstance(obj, Workspace) else super().workspace_id_of(obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = Actor.for_user(request.user)  # type: ignore[attr-defined]
        return formset


class WorkspaceForm(ModelForm):  # type: ignore[type-arg]
    source_link_channels = forms.MultipleChoiceField(
        label="Sources as links in replies",
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Workspace._meta.get_field("source_link_channels").help_text,
    )

    class Meta:
        model = Workspace
        fields = ("name", "slug", "currency", "support_email", "mail_relay_authserv_id", "source_link_channels")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "source_link_channels" in self.fields:
            self.initial["source_link_channels"] = [
                c for c in self.instance.source_link_channels.split(",") if c.strip()
            ]

    def clean_source_link_channels(self) -> str:
        return ",".join(self.cleaned_data.get("source_link_channels") or [])


@admin.register(Workspace)
class WorkspaceAdmin(ScopedAdmin):
    form = WorkspaceForm
    workspace_lookup = "id"
    edit_roles = MANAGER_ROLES
    list_display = ("name", "slug", "ai_mode", "currency", "support_email", "created_at")
    list_filter = ("mode",)
    search_fields = ("name", "slug")
    inlines = (MembershipInline,)
    readonly_fields = ("inbound_secret", "reply_address", "ai_mode", "created_at")

    @admin.display(description="AI mode")
    def ai_mode(self, obj: Workspace) -> str:
        # One place to change it: the AI settings, beside the thresholds it works with.
        return f"{obj.get_mode_display()}. Change it in AI settings."

    def workspace_id_of(self, obj: Any) -> int | None:
        return obj.pk if obj is not None else None

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "slug", "currency")
        return (
            "name",
            "slug",
            "ai_mode",
            "currency",
            "support_email",
            "reply_address",
            "inbound_secret",
            "mail_relay_authserv_id",
            "source_link_channels",
            "unknown_order_status",
            "created_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The slug is in every inbound address and URL: fixed once the workspace exists.
        return (*self.readonly_fields, "slug") if obj is not None else ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        actor = Actor.for_user(request.user)
        if not change:
            created = services.workspace_create(
                name=obj.name, slug=obj.slug, currency=obj.currency or "USD", actor=actor
            )
            obj.pk = created.pk
            obj.inbound_secret = created.inbound_secret
            obj.created_at = created.created_at
            return
        changes = {
            field: form.cleaned_data[field] for field in form.changed_data if field in services.WORKSPACE_SETTINGS
        }
        services.workspace_update(workspace=obj, actor=actor, changes=changes)


# ------------------------------------------------------------------------------- customers


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    list_display = ("email", "name", "workspace", "created_at")
    list_filter = ("workspace",)
    search_fields = ("email", "name")
    list_select_related = ("workspace",)
    readonly_fields = ("workspace", "email", "name", "created_at")


# --------------------------------------------------------------------------------- tickets


class MessageInline(ScopedInline):
    model = Message
    workspace_lookup = "ticket__workspace_id"
    fields = ("created_at", "kind", "author_kind", "author_user", "body", "email_sent_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def workspace_id_of(self, obj: Any) -> int | None:
        return obj.workspace_id if isinstance(obj, Ticket) else super().workspace_id_of(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # author_user is shown on every row: one join, not one query per message.
        return super().get_queryset(request).select_related("author_user")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketForm(ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Ticket
        fields = ("assignee",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("assignee")
        if isinstance(field, ModelChoiceField) and self.instance.pk:
            # Only members of the ticket's workspace can be assigned.
            field.queryset = field.queryset.filter(  # type: ignore[union-attr]
                memberships__workspace_id=self.instance.workspace_id
            ).distinct()


@admin.register(Ticket)
class TicketAdmin(ScopedAdmin):
    form = TicketForm
    edit_roles = tuple(Role.values)
    list_display = (
        "number",
        "subject",
        "workspace",
        "customer",
        "status",
        "ticket_type",
        "channel",
        "priority",
        "assignee",
        "ai_decision",
        "ai_confidence",
        "last_message_at",
    )
    list_display_links = ("number", "subject")
    list_filter = ("status", "ticket_type", "channel", "workspace", "priority")
    search_fields = ("subject", "customer__email", "=number")
    list_select_related = ("workspace", "customer", "assignee")
    date_hierarchy = "created_at"
    inlines = (MessageInline,)
    actions = ("resolve_selected", "reopen_selected", "close_selected")
    fields = (
        "workspace",
        "number",
        "subject",
        "customer",
        "channel",
        "status",
        "ticket_type",
        "priority",
        "assignee",
        "external_id",
        "ai_decision",
        "ai_confidence",
        "ai_reason",
        "created_at",
        "last_message_at",
        "resolved_at",
    )
    # Everything but the assignee is read-only: status and type change through the actions
    # (and the inbox), which call the services that write the audit trail.
    readonly_fields = tuple(f for f in fields if f != "assignee")

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        # Never obj.save(): the one editable field goes through its service. (The message
        # inline has no add or change rights, so its formset saves nothing.)
        if "assignee" in form.changed_data:
            services.ticket_assign(
                ticket=obj, assignee=form.cleaned_data["assignee"], actor=Actor.for_user(request.user)
            )

    def _apply(self, request: HttpRequest, queryset: QuerySet[Ticket], change: Any, verb: str) -> None:
        actor = Actor.for_user(request.user)
        done, refused = 0, []
        for ticket in queryset:
            if not self._may_edit(request, ticket):
                refused.append(f"#{ticket.number}: not allowed")
                continue
            try:
                change(ticket=ticket, actor=actor, reason="admin action")
            except ValidationError as exc:
                refused.append(f"#{ticket.number}: {' '.join(exc.messages)}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb} {done} ticket(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Skipped " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Resolve selected tickets", permissions=["change"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._apply(request, queryset, services.ticket_resolve, "Resolved")

    @admin.action(description="Reopen selected tickets", permissions=["change"])
    def reopen_selected(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._apply(request, queryset, services.ticket_reopen, "Reopened")

    @admin.action(description="Close selected tickets", permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._apply(request, queryset, services.ticket_close, "Closed")


@admin.register(Message)
class MessageAdmin(ScopedAdmin):
    workspace_lookup = "ticket__workspace_id"
    list_display = ("ticket", "kind", "author_kind", "author_user", "created_at", "email_sent_at")
    list_filter = ("kind", "author_kind")
    search_fields = ("body", "=ticket__number")
    list_select_related = ("ticket", "author_user")
    fields = ("ticket", "kind", "author_kind", "author_user", "body", "email_message_id", "email_sent_at", "created_at")
    readonly_fields = fields


# ---------------------------------------------------------------------------------- orders


class OrderInline(ScopedInline):
    """Read-only rows shown on their order's page."""

    workspace_lookup = "order__workspace_id"
    can_delete = False

    def workspace_id_of(self, obj: Any) -> int | None:
        return obj.workspace_id if isinstance(obj, Order) else super().workspace_id_of(obj)


class OrderItemInline(OrderInline):
    model = OrderItem
    fields = ("sku", "name", "size", "qty", "price", "final_sale")
    readonly_fields = fields


class ShopMovementInline(OrderInline):
    """What the shop already did on the order (refunds first of all), from the ledger."""

    model = ShopMovement
    fk_name = "order"
    verbose_name = "shop movement (refund, replacement, cancellation…)"
    verbose_name_plural = "shop movements: refunds and other changes, from the ledger"
    fields = ("created_at", "kind", "amount", "currency", "confirmation", "ticket", "actor")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("ticket")


@admin.register(Order)
class OrderAdmin(ScopedAdmin):
    """Orders belong to the shop connector; they change by loading the shop's data again."""

    list_display = (
        "number",
        "workspace",
        "customer_email",
        "status",
        "total",
        "refunded_total",
        "currency",
        "placed_at",
        "delivered_at",
    )
    list_filter = ("status", "workspace", "carrier")
    search_fields = ("=number", "customer_email", "tracking_number")
    list_select_related = ("workspace",)
    date_hierarchy = "placed_at"
    inlines = (OrderItemInline, ShopMovementInline)
    fields = (
        "workspace",
        "number",
        "customer_email",
        "status",
        "placed_at",
        "shipped_at",
        "delivered_at",
        "carrier",
        "tracking_number",
        "currency",
        "total",
        "refunded_total",
        "shipping_address",
    )
    readonly_fields = fields


@admin.register(OrderStatusWord)
class OrderStatusWordAdmin(ManagedSettingsAdmin):
    """What each of the shop's own status words means for the policy checks (the order keeps the
    word; a word mapped nowhere follows the workspace's "order status words not mapped")."""

    deletable = True
    list_display = ("word", "status", "workspace", "updated_at")
    list_filter = ("status", "workspace")
    search_fields = ("word",)
    fields = ("workspace", "word", "status")

    def save_model(self, request: HttpRequest, obj: OrderStatusWord, form: Any, change: bool) -> None:
        actor = Actor.for_user(request.user)
        if change and "word" in form.changed_data:
            # The old word is unmapped and the new one mapped: two audited changes, never a rename.
            order_status_word_delete(row=OrderStatusWord.objects.get(pk=obj.pk), actor=actor)
        saved = order_status_word_save(workspace=obj.workspace, word=obj.word, status=obj.status, actor=actor)
        obj.pk, obj.key = saved.pk, saved.key

    def delete_model(self, request: HttpRequest, obj: OrderStatusWord) -> None:
        order_status_word_delete(row=obj, actor=Actor.for_user(request.user))


# ------------------------------------------------------------------------------ API tokens


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    """Keys are issued with `manage.py create_api_token`; here they are reviewed and revoked."""

    edit_roles = MANAGER_ROLES
    # Never key_hash: a hash of a short-lived secret is still not for display.
    fields = (
        "name",
        "prefix_display",
        "workspace",
        "user",
        "customer_email",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_display = fields
    list_filter = ("workspace", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "user__email")
    list_select_related = ("workspace", "user")
    readonly_fields = fields
    actions = ("revoke_selected",)

    @admin.display(description="key prefix")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self._may_edit(request, None)

    @admin.action(description="Revoke selected API tokens", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = Actor.for_user(request.user)
        revoked = 0
        for token in queryset.select_related("workspace"):
            if self._may_edit(request, token) and token.revoked_at is None:
                api_token_revoke(token=token, actor=actor)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


# The help center's articles: their admin (import, re-index) lives beside the import code.
from helpdesk.admin_articles import ArticleAdmin  # noqa: E402

admin.site.register(Article, ArticleAdmin)

from helpdesk.admin_helpcenter import HelpCenterSourceAdmin, HelpCenterSyncAdmin  # noqa: E402

admin.site.register(HelpCenterSource, HelpCenterSourceAdmin)
admin.site.register(HelpCenterSync, HelpCenterSyncAdmin)
