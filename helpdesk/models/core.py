from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorField
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    MANAGER = "manager", "Manager"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Admin"


class WorkspaceMode(models.TextChoices):
    COPILOT = "copilot", "Copilot only: the AI drafts, people send"
    AGENT = "agent", "Agent mode: the AI answers on its own above the threshold"


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    mode = models.CharField(max_length=16, choices=WorkspaceMode.choices, default=WorkspaceMode.COPILOT)
    currency = models.CharField(max_length=3, default="USD")
    support_email = models.EmailField(blank=True, help_text="From/Reply-To address of outbound replies.")
    inbound_secret = models.CharField(
        max_length=64,
        default=_new_secret,
        help_text="Shared secret the inbound email webhook must present.",
    )
    mail_relay_authserv_id = models.CharField(
        "trusted mail relay (authserv-id)",
        max_length=255,
        blank=True,
        help_text="The authserv-id your inbound mail relay writes in its Authentication-Results header "
        "(e.g. mx.example.com). Only that header proves a sender (DMARC or aligned DKIM/SPF pass); "
        "blank: no e-mail counts as authenticated.",
    )
    source_link_channels = models.CharField(
        "sources as links in replies",
        max_length=64,
        default="email,web,api",
        blank=True,
        help_text="Channels whose AI-drafted replies end with links to the help-center articles they quote; "
        "on the others the reply carries no sources. Citation markers such as [1] never reach a customer.",
    )
    unknown_order_status = models.CharField(
        "order status words not mapped",
        max_length=16,
        choices=[("person", "A person decides"), ("not_shipped", "Treat them as not yet shipped")],
        default="person",
        blank=True,  # blank reads as the default: a person decides
        help_text="What an order status word of your shop that is not in “Order status words” means for the AI.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def links_sources_on(self, channel: str) -> bool:
        return channel in {c.strip() for c in self.source_link_channels.split(",")}

    @property
    def reply_address(self) -> str:
        return self.support_email or f"{self.slug}@{settings.OASIS_EMAIL_DOMAIN}"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"

    @property
    def can_manage(self) -> bool:
        from helpdesk.access import MANAGER_ROLES  # access reads these models: imported when asked

        return self.role in MANAGER_ROLES


class Customer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="customers")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), "workspace", name="customer_unique_email"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    WEB = "web", "Web form"
    API = "api", "API"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending (waiting on customer)"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class TicketType(models.TextChoices):
    """The default taxonomy of DESIGN.md; the second group always needs a human."""

    ORDER_STATUS = "order_status", "Order status"
    REFUND = "refund", "Refund"
    REPLACEMENT = "replacement", "Replacement"
    PASSWORD_RESET = "password_reset", "Password reset"
    PRODUCT_QUESTION = "product_question", "Product question"
    ACCOUNT_CHANGE = "account_change", "Account change"
    SCHEDULING = "scheduling", "Scheduling"
    OTHER = "other", "Other"
    TROUBLESHOOTING = "troubleshooting", "Troubleshooting"
    POLICY_EXCEPTION = "policy_exception", "Policy exception"
    SENSITIVE_DATA = "sensitive_data", "Sensitive data"
    LEGAL = "legal", "Legal"
    COMPLAINT = "complaint", "Complaint"


HUMAN_NEEDED_TYPES = frozenset(
    {
        TicketType.TROUBLESHOOTING,
        TicketType.POLICY_EXCEPTION,
        TicketType.SENSITIVE_DATA,
        TicketType.LEGAL,
        TicketType.COMPLAINT,
    }
)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketQuerySet(models.QuerySet["Ticket"]):
    def for_workspace(self, workspace: Workspace | int) -> TicketQuerySet:
        return self.filter(workspace=workspace)

    def open(self) -> TicketQuerySet:
        return self.exclude(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])

    def search(self, text: str) -> TicketQuerySet:
        """Tickets whose subject or any message matches `text` (websearch syntax: "quotes", -not).

        Both tsvector columns are GIN-indexed.
        """
        query = SearchQuery(text, config="simple", search_type="websearch")
        in_messages = Message.objects.filter(ticket_id=OuterRef("pk"), search_vector=query)
        return self.filter(Q(search_vector=query) | Exists(in_messages))


class Ticket(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="tickets")
    number = models.PositiveIntegerField(help_text="Sequential per workspace, shown to customers.")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    subject = models.CharField(max_length=300)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=24, choices=TicketStatus.choices, default=TicketStatus.NEW)
    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, default=TicketType.OTHER)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    external_id = models.CharField(max_length=200, blank=True)
    # Filled by the AI pipeline (later issues); kept on the ticket so the inbox can filter cheaply.
    ai_decision = models.CharField(max_length=24, blank=True)
    ai_confidence = models.FloatField(null=True, blank=True)
    ai_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    search_vector = models.GeneratedField(
        expression=SearchVector("subject", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
        editable=False,
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="ticket_unique_number"),
        ]
        indexes = [
            models.Index(fields=["workspace", "-last_message_at", "-id"], name="ticket_inbox_order"),
            models.Index(fields=["workspace", "status"], name="ticket_ws_status"),
            models.Index(fields=["workspace", "external_id"], name="ticket_ws_external"),
            GinIndex(fields=["search_vector"], name="ticket_search"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def needs_human(self) -> bool:
        return self.ticket_type in HUMAN_NEEDED_TYPES


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", "Customer message"
    REPLY = "reply", "Public reply"
    NOTE = "note", "Internal note"


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    AI = "ai", "AI"
    SYSTEM = "system", "System"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    author_kind = models.CharField(max_length=16, choices=AuthorKind.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(help_text="Plain text; always rendered escaped.")
    # RFC 822 threading: our own Message-ID for replies, the sender's for inbound mail.
    email_message_id = models.CharField(max_length=998, blank=True, db_index=True)
    email_sent_at = models.DateTimeField(null=True, blank=True, help_text="When the reply left by email.")
    created_at = models.DateTimeField(auto_now_add=True)
    search_vector = models.GeneratedField(
        expression=SearchVector("body", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
        editable=False,
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_time"),
            GinIndex(fields=["search_vector"], name="message_search"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Article(models.Model):
    """A help-center article; the knowledge index (ai app) splits it into passages."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200)
    url = models.URLField(max_length=500, blank=True)
    body = models.TextField(help_text="Markdown or HTML.")
    status = models.CharField(max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.PUBLISHED)
    source = models.CharField(max_length=64, blank=True, help_text="Where it came from: admin, markdown, zendesk…")
    external_id = models.CharField(max_length=200, blank=True)
    breadcrumb = models.CharField(max_length=300, blank=True, help_text="Category > Section, from the source.")
    # SHA-256 of the title and body as imported: a re-sync re-indexes only what changed.
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="article_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.title


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"


class Order(models.Model):
    """An order in the built-in shop connector (loaded from the DESIGN.md orders JSON)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=64)
    customer_email = models.EmailField()
    # The shop's own word, kept as it is (on_hold, partially_shipped…); the policy reads its
    # canonical OrderStatus through helpdesk.order_status.
    status = models.CharField(max_length=64)
    placed_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=128, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_address = models.TextField(blank=True)
    refunded_total = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text="Sum of the refunds in the shop ledger (ShopMovement), raised in the refund's transaction.",
    )

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="order_unique_number"),
            models.CheckConstraint(condition=models.Q(total__gte=Decimal("0")), name="order_total_nonneg"),
            # The last line of defence against refunding twice: whatever raced or retried, the
            # database refuses a refunded total above the order's.
            models.CheckConstraint(
                condition=models.Q(refunded_total__gte=Decimal("0"), refunded_total__lte=models.F("total")),
                name="order_refunded_within_total",
            ),
        ]
        indexes = [models.Index(Lower("customer_email"), "workspace", name="order_ws_email")]

    def __str__(self) -> str:
        return f"Order {self.number}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    size = models.CharField(max_length=32, blank=True)
    qty = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    final_sale = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.qty} x {self.name}"


class ApiToken(models.Model):
    """A workspace-scoped API key; only its SHA-256 is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # Blank: a staff key (the user's rights in the workspace). Set: a key that acts for this one
    # customer only (their tickets and messages), which verifies them on what it creates.
    customer_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
