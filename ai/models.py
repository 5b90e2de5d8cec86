"""The knowledge index: per-workspace embedding settings, embedding spaces and passages.

An `EmbeddingSpace` is one (provider, model, dimensions) snapshot of a workspace's index.
Search always reads the workspace's single ACTIVE space; switching provider or model
builds a new space in the background and flips only when it is complete.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Now
from pgvector.django import VectorField

from ai.providers.base import ProviderConfig
from helpdesk.models import Article, Channel, Message, Ticket, TicketType, Workspace

# The dimension of the offline model; the HNSW index covers vectors of this size.
INDEXED_DIMENSIONS = 384


class EmbeddingProviderName(models.TextChoices):
    LOCAL = "local", "Local (offline all-MiniLM-L6-v2)"
    OPENAI = "openai", "OpenAI-compatible endpoint"


class KnowledgeSettings(models.Model):
    """How a workspace embeds its help center. No row means the offline local model."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="knowledge_settings")
    embedding_provider = models.CharField(
        max_length=16, choices=EmbeddingProviderName.choices, default=EmbeddingProviderName.LOCAL
    )
    base_url = models.URLField(blank=True, help_text="OpenAI-compatible base URL, e.g. http://localhost:11434/v1")
    model = models.CharField(max_length=200, blank=True)
    dimensions = models.PositiveIntegerField(null=True, blank=True, help_text="Vector size the model returns.")
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable that holds the API key (not the key)."
    )
    timeout_seconds = models.FloatField(default=30.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "knowledge settings"
        verbose_name_plural = "knowledge settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(timeout_seconds__gt=0), name="knowledge_timeout_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace}: {self.embedding_provider} {self.model}".strip()

    def provider_config(self) -> ProviderConfig:
        if self.embedding_provider == EmbeddingProviderName.LOCAL:
            return ProviderConfig()
        return ProviderConfig(
            provider=self.embedding_provider,
            model=self.model,
            dimensions=self.dimensions or 0,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            timeout=self.timeout_seconds,
        )


class SpaceStatus(models.TextChoices):
    BUILDING = "building", "Building"
    ACTIVE = "active", "Active (serving search)"
    RETIRED = "retired", "Retired"
    FAILED = "failed", "Failed"


class EmbeddingSpace(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="embedding_spaces")
    provider = models.CharField(max_length=16, choices=EmbeddingProviderName.choices)
    model = models.CharField(max_length=200)
    dimensions = models.PositiveIntegerField()
    base_url = models.URLField(blank=True)
    api_key_env = models.CharField(max_length=100, blank=True)
    timeout_seconds = models.FloatField(default=30.0)
    status = models.CharField(max_length=16, choices=SpaceStatus.choices, default=SpaceStatus.BUILDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Search reads exactly one space per workspace.
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(status="active"), name="space_one_active_per_workspace"
            ),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(status="building"), name="space_one_building_per_workspace"
            ),
            models.CheckConstraint(
                condition=models.Q(dimensions__gt=0, dimensions__lte=16000), name="space_dimensions_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} {self.provider}/{self.model} ({self.dimensions}d, {self.status})"

    def provider_config(self) -> ProviderConfig:
        return ProviderConfig(
            provider=self.provider,
            model=self.model,
            dimensions=self.dimensions,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            timeout=self.timeout_seconds,
        )

    def same_config(self, config: ProviderConfig, *, dimensions: int, model: str) -> bool:
        return (self.provider, self.model, self.dimensions, self.base_url, self.api_key_env) == (
            config.provider,
            model,
            dimensions,
            config.base_url,
            config.api_key_env,
        )


class Passage(models.Model):
    """A slice of one article (a section, or part of a long one) with its embedding."""

    space = models.ForeignKey(EmbeddingSpace, on_delete=models.CASCADE, related_name="passages")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="passages")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveIntegerField()
    heading_path = models.CharField(max_length=1000, help_text="Article title > heading > subheading.")
    anchor = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    dims = models.PositiveSmallIntegerField()
    # Untyped so one table holds every space; the HNSW index covers the 384-d cast (migration 0002).
    embedding = VectorField()
    search_vector = models.GeneratedField(
        expression=SearchVector("heading_path", weight="A", config="english")
        + SearchVector("text", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
        editable=False,
    )

    class Meta:
        ordering = ["article_id", "position"]
        indexes = [
            models.Index(fields=["space", "article"], name="passage_space_article"),
            GinIndex(fields=["search_vector"], name="passage_search"),
        ]

    def __str__(self) -> str:
        return self.heading_path


# ------------------------------------------------------------------------------ the Agent


class Decision(models.TextChoices):
    AUTOSEND = "autosend", "Autosend"
    DRAFT = "draft", "Draft for a human"
    ESCALATE = "escalate", "Escalate to a human"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"


class AISettings(models.Model):
    """A workspace's Agent settings. No row means the defaults (offline local provider)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="ai_settings")
    chat_provider = models.CharField(max_length=16, choices=EmbeddingProviderName.choices, default="local")
    chat_base_url = models.URLField(blank=True)
    chat_model = models.CharField(max_length=200, blank=True)
    chat_api_key_env = models.CharField(max_length=100, blank=True, help_text="Env var holding the key.")
    time_budget_seconds = models.FloatField(default=30.0)
    default_threshold = models.FloatField(default=0.85)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "AI settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_threshold__gte=0, default_threshold__lte=1), name="ai_threshold_range"
            ),
            models.CheckConstraint(condition=models.Q(time_budget_seconds__gt=0), name="ai_budget_positive"),
        ]

    def __str__(self) -> str:
        return f"AI settings of {self.workspace}"


class RefundTiming(models.TextChoices):
    ON_REQUEST = "on_request", "On request"
    AFTER_RETURN = "after_return", "Once the return has arrived"


class ShopPolicy(models.Model):
    """The shop's written policy, which the tools enforce and the planner checks against each
    order: the return window, the SKUs never refundable, how far ahead appointments go. No row
    means the defaults (ai.tools.policy.DEFAULT_POLICY)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="shop_policy")
    return_window_days = models.PositiveIntegerField(
        default=30, help_text="Days after delivery in which an item may be returned for a refund."
    )
    non_refundable_sku_prefixes = models.CharField(
        max_length=200,
        default="GIFT",
        blank=True,
        help_text="Comma-separated SKU prefixes never refunded or replaced (gift cards). Final-sale items never are.",
    )
    appointment_horizon_days = models.PositiveIntegerField(
        default=90, help_text="How far ahead the AI may book an appointment."
    )
    refund_timing = models.CharField(
        max_length=16,
        choices=RefundTiming.choices,
        default=RefundTiming.ON_REQUEST,
        help_text="Once the return has arrived: the AI opens the return and the refund is paid when the item is back.",
    )
    return_fee = models.DecimalField(
        "return-label fee",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text="Deducted from a refund for a return (never for an item that arrived damaged or wrong). 0: free.",
    )
    return_fee_free_countries = models.CharField(
        "countries that return for free",
        max_length=200,
        blank=True,
        help_text="Comma-separated, as the last part of your orders' shipping addresses reads (e.g. "
        "“Germany, Austria”); blank: the fee applies to every return. An order whose address names no "
        "country goes to a person.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "shop policy"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(return_window_days__lte=3650, appointment_horizon_days__lte=3650),
                name="shop_policy_sane_days",
            ),
            models.CheckConstraint(condition=models.Q(return_fee__gte=0), name="shop_policy_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Shop policy of {self.workspace}"

    def prefixes(self) -> tuple[str, ...]:
        return tuple(p.strip().upper() for p in self.non_refundable_sku_prefixes.split(",") if p.strip())

    def free_countries(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.return_fee_free_countries.split(",") if c.strip())


class ConfidenceRule(models.Model):
    """Autosend threshold for (channel, ticket type); the most specific rule wins."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="confidence_rules")
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, blank=True)
    autosend_threshold = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "channel", "ticket_type"], name="confidence_rule_unique"),
            models.CheckConstraint(
                condition=models.Q(autosend_threshold__gte=0, autosend_threshold__lte=1),
                name="confidence_rule_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel or 'any channel'} / {self.ticket_type or 'any type'} >= {self.autosend_threshold}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (handed to a human)"
    SUPERSEDED = "superseded", "Superseded by a newer message"


class AgentRun(models.Model):
    """One AI run for one inbound customer message (idempotent per message), or a Copilot draft."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="agent_runs")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="agent_runs")
    trigger_message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="agent_runs"
    )
    kind = models.CharField(max_length=16, default="agent", help_text="agent | copilot | trial")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    ticket_type = models.CharField(max_length=32, blank=True)
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=16, blank=True)
    triage = models.JSONField(default=dict, blank=True, help_text="Scores, sensitive-data findings.")
    redacted_input = models.TextField(blank=True)
    passages = models.JSONField(default=list, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    draft = models.TextField(blank=True)
    citations = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True, help_text="Calibrated, in [0, 1].")
    raw_confidence = models.FloatField(null=True, blank=True)
    confidence_parts = models.JSONField(default=dict, blank=True)
    decision = models.CharField(max_length=24, choices=Decision.choices, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    rule = models.JSONField(default=dict, blank=True, help_text="The rule that decided.")
    provider = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    reply_message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="sent_by_run"
    )
    error = models.TextField(blank=True)
    # Set on the one re-run a customer's late proof of identity (a magic link clicked) starts on
    # their latest message; one-to-one, so a proof never starts two.
    verification = models.OneToOneField(
        "helpdesk.CustomerVerification",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="agent_rerun",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed it: its time budget counts from here."
    )
    deferred_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set while it waits for one of its workspace's run slots (ai/agent/slots.py).",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One Agent run per inbound message (besides the one re-run after a late proof of
            # identity): a retried task finds the row and never sends twice.
            models.UniqueConstraint(
                fields=["trigger_message"],
                condition=models.Q(kind="agent", verification__isnull=True),
                name="agent_run_once_per_message",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "-created_at"], name="agent_run_ticket_time"),
            # The sweeper reads the unfinished runs only (ai/agent/sweep.py).
            models.Index(
                fields=["status", "created_at"],
                name="agent_run_pending",
                condition=models.Q(status__in=["queued", "running"]),
            ),
            # A run leaving a slot hands it to the oldest run waiting in its workspace.
            models.Index(
                fields=["workspace", "created_at"],
                name="agent_run_waiting",
                condition=models.Q(status="queued", deferred_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} on ticket {self.ticket_id}: {self.decision or self.status}"


class FeedbackVerdict(models.TextChoices):
    SENT_UNCHANGED = "sent_unchanged", "Sent unchanged"
    EDITED = "edited", "Edited, then sent"
    DISCARDED = "discarded", "Discarded"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class DraftFeedback(models.Model):
    """What a human did with an AI draft: the label the calibration map is fitted on."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=FeedbackVerdict.choices)
    reason = models.CharField(max_length=32, blank=True, help_text="wrong | unhelpful | tone | made_things_up")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.verdict} on run {self.run_id}"


class CalibrationMap(models.Model):
    """Isotonic-style map raw confidence -> observed acceptance rate, refitted on a schedule."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="calibration_maps")
    points = models.JSONField(help_text="[[raw, calibrated], ...] ascending in raw")
    reliability = models.JSONField(default=list, help_text="Bins: [{lo, hi, mean_confidence, accuracy, n}]")
    ece = models.FloatField(help_text="Expected calibration error of the fitted map on its data.")
    samples = models.PositiveIntegerField()
    fitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fitted_at"]

    def __str__(self) -> str:
        return f"Calibration of {self.workspace} ({self.samples} samples, ECE {self.ece:.3f})"


# ------------------------------------------------------------ bounded tools and approvals


class ToolPermission(models.Model):
    """The allow-list: a tool the AI may call in this workspace, with its money limit."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tool_permissions")
    tool = models.CharField(max_length=64)
    enabled = models.BooleanField(default=False)
    max_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["tool"]
        constraints = [models.UniqueConstraint(fields=["workspace", "tool"], name="tool_permission_unique")]

    def __str__(self) -> str:
        return f"{self.tool} ({'enabled' if self.enabled else 'disabled'})"


class HttpAction(models.Model):
    """An admin-defined tool that calls the merchant's own API."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="http_actions")
    name = models.SlugField(max_length=64)
    description = models.CharField(max_length=500)
    kind = models.CharField(max_length=8, default="write", help_text="read | write")
    method = models.CharField(max_length=8, default="POST")
    url_template = models.CharField(max_length=500)
    args_schema = models.JSONField(default=dict)
    amount_arg = models.CharField(max_length=64, blank=True)
    timeout_seconds = models.FloatField(default=10.0)
    secret = models.CharField(max_length=200, blank=True, help_text="HMAC-SHA256 signing secret.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="http_action_unique_name")]

    def __str__(self) -> str:
        return self.name


class ApprovalRule(models.Model):
    """When it matches, the AI drafts but does not commit: a manager approves first."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="approval_rules")
    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, blank=True)
    tool = models.CharField(max_length=64, blank=True)
    amount_over = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        what = self.tool.replace("_", " ") if self.tool else "every AI action and reply"
        parts = [what]
        if self.amount_over is not None:
            parts.append(f"over {self.amount_over}")
        if self.ticket_type:
            parts.append(f"on {self.get_ticket_type_display().lower()} tickets")
        if self.channel:
            parts.append(f"by {self.get_channel_display().lower()}")
        return " ".join(parts) + " needs a manager's approval"


class ActionStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    WAITING_RETURN = "waiting_return", "Approved, waiting for the return"


class ActionRequest(models.Model):
    """A tool call waiting for (or past) a human decision; executed at most once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="action_requests")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="action_requests")
    run = models.ForeignKey(AgentRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_requests")
    tool = models.CharField(max_length=64)
    args = models.JSONField(default=dict)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    reply_draft = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ActionStatus.choices, default=ActionStatus.PENDING)
    rule = models.JSONField(default=dict, blank=True)
    requested_by = models.CharField(max_length=255)
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["workspace", "status", "created_at"], name="action_queue")]

    def __str__(self) -> str:
        return f"{self.tool} on ticket {self.ticket_id} ({self.status})"


# ----------------------------------------------------------------------- manager controls


class AgentPause(models.Model):
    """The kill switch: while a row is active (not resumed) the Agent sends nothing on its own
    and runs no write action for the workspace (blank channel) or for one channel."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="agent_pauses")
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True, help_text="Blank: every channel.")
    reason = models.CharField(max_length=300)
    paused_by = models.CharField(max_length=255, help_text="Who paused: the audit actor label.")
    paused_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    paused_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_by = models.CharField(max_length=255, blank=True)
    resume_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-paused_at"]
        constraints = [
            # One active pause per scope: a second click finds the first one.
            models.UniqueConstraint(
                fields=["workspace", "channel"],
                condition=models.Q(resumed_at__isnull=True),
                name="agent_pause_one_active_per_scope",
            ),
        ]

    def __str__(self) -> str:
        scope = self.get_channel_display() if self.channel else "all channels"
        state = "resumed" if self.resumed_at else "active"
        return f"Agent paused on {scope} ({state}): {self.reason}"

    @property
    def active(self) -> bool:
        return self.resumed_at is None


class AlertSettings(models.Model):
    """Thresholds of the manager alerts. No row means the defaults."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="alert_settings")
    enabled = models.BooleanField(default=True)
    approval_wait_minutes = models.PositiveIntegerField(default=120)
    escalation_jump_factor = models.FloatField(default=2.0)
    escalation_min_count = models.PositiveIntegerField(default=5)
    provider_failures_per_hour = models.PositiveIntegerField(default=3)

    class Meta:
        verbose_name = verbose_name_plural = "alert settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(escalation_jump_factor__gt=1), name="alert_jump_factor_gt_one"),
            models.CheckConstraint(condition=models.Q(approval_wait_minutes__gt=0), name="alert_wait_positive"),
        ]

    def __str__(self) -> str:
        return f"Alert settings of {self.workspace}"


class AlertState(models.Model):
    """One row per (workspace, alert): `active` while the condition holds, so an alert is
    emailed once when the condition starts, not on every check."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alert_states")
    kind = models.CharField(max_length=32)
    active = models.BooleanField(default=False)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind"], name="alert_state_unique")]

    def __str__(self) -> str:
        return f"{self.kind} ({'active' if self.active else 'clear'})"


class GapVector(models.Model):
    """Embedding cache of escalated questions, keyed by a hash of the redacted text, so the
    knowledge-gaps report embeds each distinct question once."""

    text_hash = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    embedding = VectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["text_hash", "model"], name="gap_vector_unique")]

    def __str__(self) -> str:
        return f"{self.model}:{self.text_hash[:12]}"


# ---------------------------------------------------------------------------------- trial


class TrialStatus(models.TextChoices):
    SETUP = "setup", "Setting up"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class TrialRun(models.Model):
    """One shadow trial: a help center and a batch of tickets run through the Agent without
    sending, executing or billing anything; `report` is the DESIGN.md report JSON."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="trial_runs")
    # The trial's own workspace (ai.trial.sandbox): its help center, customers, orders and tickets.
    sandbox = models.ForeignKey(
        Workspace, on_delete=models.SET_NULL, null=True, blank=True, related_name="sandbox_of_trials"
    )
    status = models.CharField(max_length=16, choices=TrialStatus.choices, default=TrialStatus.QUEUED)
    progress = models.PositiveIntegerField(default=0, help_text="Tickets run so far.")
    total = models.PositiveIntegerField(default=0, help_text="Tickets to run.")
    # What the run is doing now, for the progress bar: "help center: 120 of 500 pages", "indexing"…
    stage = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Input paths, --now, --sample.")
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"trial {self.pk} of {self.workspace} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else 0


class TrialItem(models.Model):
    """One imported ticket of a trial and the shadow run on it."""

    trial = models.ForeignKey(TrialRun, on_delete=models.CASCADE, related_name="items")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="trial_items")
    run = models.ForeignKey(AgentRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_id = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    # What the shop's own agent answered (from the import), shown beside the draft.
    agent_reply = models.TextField(blank=True)
    # One of the drafts put in front of the reviewer: these run first, so the review opens early.
    in_review = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["trial", "external_id"], name="trial_item_unique")]

    def __str__(self) -> str:
        return f"{self.external_id} (trial {self.trial_id})"


class TrialMarkKind(models.TextChoices):
    GOOD = "good", "Good"
    NEEDS_EDIT = "needs_edit", "Needs edit"
    WRONG = "wrong", "Wrong"
    MADE_THINGS_UP = "made_things_up", "Made things up"


class TrialMark(models.Model):
    """A reviewer's verdict on one draft of a trial (the last mark wins)."""

    trial = models.ForeignKey(TrialRun, on_delete=models.CASCADE, related_name="marks")
    external_id = models.CharField(max_length=200)
    mark = models.CharField(max_length=16, choices=TrialMarkKind.choices)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trial", "external_id"], name="trial_mark_unique")]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.mark}"


# ----------------------------------------------------------------- manager reports rollup


class ReportDay(models.Model):
    """The additive figures of the manager reports for one UTC day of a workspace, per channel and
    ticket type. Kept by `ai.reports.rollup`; the report reads it for closed days that no source
    row has changed since (see ReportDirtyDay) and the live tables for the rest."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16)
    ticket_type = models.CharField(max_length=32)
    # Tickets created that day; those with an Agent run.
    tickets = models.PositiveIntegerField(db_default=0)
    tickets_with_runs = models.PositiveIntegerField(db_default=0)
    # Agent runs started that day, by decision.
    runs = models.PositiveIntegerField(db_default=0)
    autosend = models.PositiveIntegerField(db_default=0)
    draft = models.PositiveIntegerField(db_default=0)
    escalate = models.PositiveIntegerField(db_default=0)
    awaiting_approval = models.PositiveIntegerField(db_default=0)
    # Outcomes resolved that day: resolved, durable, charged, and the charged amount.
    outcomes = models.PositiveIntegerField(db_default=0)
    durable = models.PositiveIntegerField(db_default=0)
    charged = models.PositiveIntegerField(db_default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=2, db_default=0)
    # Draft verdicts given that day.
    sent_unchanged = models.PositiveIntegerField(db_default=0)
    edited = models.PositiveIntegerField(db_default=0)
    discarded = models.PositiveIntegerField(db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "channel", "ticket_type"], name="report_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel}/{self.ticket_type}: {self.tickets} tickets"


class ReportDayCount(models.Model):
    """Keyed counts of a rollup day: tickets per handoff category, discarded drafts per reason."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16)
    ticket_type = models.CharField(max_length=32)
    metric = models.CharField(max_length=16, help_text="handoff | discard")
    key = models.CharField(max_length=300)
    n = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "channel", "ticket_type", "metric", "key"], name="report_day_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.key}: {self.n}"


class ReportRollupState(models.Model):
    """Which days of a workspace the rollup holds: [rolled_from, rolled_until)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    rolled_from = models.DateField()
    rolled_until = models.DateField(help_text="Exclusive: the first day not rolled up yet.")
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"rollup of workspace {self.workspace_id}: {self.rolled_from} to {self.rolled_until}"


class ReportDirtyDay(models.Model):
    """A past day whose source rows changed after the day ended: written by database triggers
    (migration 0011) on tickets, runs, outcomes, draft feedback and reopen events; the report
    reads such a day live until the rollup recomputes it. Append-only (no upsert, so concurrent
    writers never wait on each other's mark); a refresh deletes only the marks it has seen."""

    # No foreign key: the triggers also fire while a workspace's rows are being deleted.
    workspace_id = models.BigIntegerField()
    day = models.DateField()
    marked_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"], name="report_dirty_day")]

    def __str__(self) -> str:
        return f"workspace {self.workspace_id}: {self.day} changed at {self.marked_at}"
