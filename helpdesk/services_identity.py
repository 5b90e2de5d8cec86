"""Customer identity per ticket: recording a proof, deciding "is this customer verified", and
the magic link that lets a customer who wrote without proof confirm it.

The one question the AI's tools ask is `ticket_identity_verified` (or the Agent reads
`verifications_of` with its settings, in the same statement): is there a proof, for this
ticket, that its customer is who wrote. Proofs come from the channel the message arrived on
(a signed widget identity, a portal link, an e-mail the trusted relay authenticated, a
customer-scoped API key, a trusted import) or from a magic link clicked later. A typed-in
address proves nothing.

Same habits as helpdesk/services.py: keyword-only, one transaction, the audit event in that
transaction (after the ticket's row lock), side effects after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk import hooks
from helpdesk.channels.identity import magic_link_claims, magic_link_token
from helpdesk.models import Channel, Message, MessageKind, Ticket
from helpdesk.models.identity import CustomerVerification, MagicLink, MagicLinkStatus, VerificationMethod

MAGIC_LINK_TTL = timedelta(hours=24)
# Every tool refusal for a missing proof starts with this (the Agent recognises it by it).
IDENTITY_NOT_VERIFIED = "identity not verified"
# What would have proven the customer on each channel, for the refusal reason and the inbox.
MISSING_PROOF = {
    Channel.EMAIL: "the e-mail has no DMARC or aligned DKIM/SPF pass from the trusted mail relay "
    "(a From: address proves nothing)",
    Channel.WEB: "the contact form's address was typed in",
    Channel.CHAT: "the chat visitor typed their address (no signed widget identity)",
    Channel.API: "the API key is not scoped to this customer",
}


def verifications_of(ticket: Ticket) -> QuerySet[CustomerVerification]:
    """The proofs that count on this ticket: its current customer's, oldest first."""
    return CustomerVerification.objects.filter(ticket_id=ticket.pk, customer_id=ticket.customer_id).order_by(
        "verified_at", "pk"
    )


def ticket_identity_verified(ticket: Ticket) -> bool:
    """May the AI's order and account tools act for this ticket's customer? (One query.)"""
    return verifications_of(ticket).exists()


def identity_refusal(ticket: Ticket) -> str:
    """Why a tool waits: what proof is missing, and what the customer is asked to do."""
    missing = MISSING_PROOF.get(Channel(ticket.channel), "no proof of the customer's identity")
    return f"{IDENTITY_NOT_VERIFIED}: {missing}; it waits for the link e-mailed to the address on file"


def _lock(ticket: Ticket) -> Ticket:
    # The ticket's row lock before any audit row (the lock order of every helpdesk service).
    return (
        Ticket.objects.select_for_update(no_key=True, of=("self",))
        .select_related("workspace", "customer")
        .get(pk=ticket.pk)
    )


@transaction.atomic
def identity_verify(
    *, ticket: Ticket, method: str, actor: Actor, evidence: dict[str, Any] | None = None
) -> CustomerVerification:
    """Record that the ticket's customer is proven by `method`; once per method (a repeat
    returns the first proof and records nothing)."""
    ticket = _lock(ticket)
    verification, created = CustomerVerification.objects.get_or_create(
        ticket=ticket,
        customer_id=ticket.customer_id,
        method=VerificationMethod(method),
        defaults={"workspace_id": ticket.workspace_id, "evidence": evidence or {}},
    )
    if created:
        audit_record(
            workspace=ticket.workspace,
            ticket=ticket,
            actor=actor,
            kind="identity.verified",
            data={
                "method": verification.method,
                "customer": ticket.customer.email,
                "evidence": verification.evidence,
            },
        )
    return verification


# ------------------------------------------------------------------ what the inbox shows


@dataclass(frozen=True)
class IdentityState:
    method: str  # the first proof's method, "" while unverified
    evidence: dict[str, Any]
    link_sent_at: datetime | None  # a magic link waits to be clicked

    @property
    def verified(self) -> bool:
        return bool(self.method)

    @property
    def label(self) -> str:
        if not self.method:
            return "Not verified — link sent" if self.link_sent_at else "Not verified"
        if self.method == VerificationMethod.EMAIL_AUTH:
            return f"Identity verified by {self.evidence.get('passed', 'DKIM/DMARC').upper()}"
        return f"Identity verified by {VerificationMethod(self.method).label}"


def identity_state(ticket: Ticket) -> IdentityState:
    """The ticket's proof (or the pending magic link), in one query."""
    proof = verifications_of(ticket)[:1]
    pending = MagicLink.objects.filter(
        ticket_id=OuterRef("pk"), status=MagicLinkStatus.PENDING, expires_at__gt=timezone.now()
    ).values("created_at")[:1]
    row = (
        Ticket.objects.filter(pk=ticket.pk)
        .annotate(
            proof_method=Subquery(proof.values("method")),
            proof_evidence=Subquery(proof.values("evidence")),
            link_sent_at=Subquery(pending),
        )
        .values("proof_method", "proof_evidence", "link_sent_at")
        .first()
    ) or {}
    return IdentityState(
        method=row.get("proof_method") or "",
        evidence=row.get("proof_evidence") or {},
        link_sent_at=row.get("link_sent_at"),
    )


# ----------------------------------------------------------------------- magic links


@transaction.atomic
def magic_link_send(*, ticket: Ticket, actor: Actor) -> MagicLink | None:
    """E-mail the customer on file a link that verifies them for this ticket.

    Nothing when they are verified already, or while an earlier link is still pending (one
    pending link per ticket: a customer writing ten times gets one e-mail)."""
    ticket = _lock(ticket)
    if ticket_identity_verified(ticket):
        return None
    now = timezone.now()
    MagicLink.objects.filter(ticket=ticket, status=MagicLinkStatus.PENDING, expires_at__lte=now).update(
        status=MagicLinkStatus.EXPIRED
    )
    if MagicLink.objects.filter(ticket=ticket, status=MagicLinkStatus.PENDING).exists():
        return None
    link = MagicLink.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        customer_id=ticket.customer_id,
        sent_to=ticket.customer.email,
        created_at=now,
        expires_at=now + MAGIC_LINK_TTL,
    )
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="identity.link_sent",
        data={"link": link.pk, "to": link.sent_to, "expires_at": link.expires_at.isoformat()},
    )
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task("helpdesk.tasks.send_magic_link_email", link.pk, task_name=f"magic-link-{link.pk}")
    )
    return link


def magic_link_url(link: MagicLink) -> str:
    token = magic_link_token(link_id=link.pk, nonce=link.nonce)
    return f"{settings.SITE_URL}{reverse('portal:verify', args=[token])}"


def latest_customer_message(ticket: Ticket) -> Message | None:
    return Message.objects.filter(ticket_id=ticket.pk, kind=MessageKind.CUSTOMER).order_by("-created_at", "-pk").first()


def build_magic_link_email(link: MagicLink) -> EmailMessage:
    """The e-mail to the address on file. It quotes nothing the sender wrote (a stranger's words
    in our e-mail could carry their own links): the page behind the link shows the request."""
    ticket = link.ticket
    hours = int(MAGIC_LINK_TTL.total_seconds() // 3600)
    body = (
        f"Hello {link.customer.name or link.customer.email},\n\n"
        f"We received a request on ticket #{ticket.number} that needs us to look at or change your "
        "orders or account. If it is yours, open this link, check the request and confirm it's you "
        f"(the link works once, for {hours} hours):\n\n{magic_link_url(link)}\n\n"
        "If you did not write to us, ignore this e-mail: nothing will change on your account.\n\n"
        f"{ticket.workspace.name}"
    )
    return EmailMessage(
        subject=f"[#{ticket.number}] Please confirm it's you",
        body=body,
        from_email=f"{ticket.workspace.name} <{ticket.workspace.reply_address}>",
        to=[link.sent_to],
    )


class MagicLinkInvalid(Exception):
    """The link is unusable; `code` says why (invalid, used, expired) and `str()` tells the customer."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def magic_link_for_token(token: str) -> MagicLink:
    """The link a token names, still usable; else MagicLinkInvalid."""
    claims = magic_link_claims(token)
    link = (
        MagicLink.objects.select_related("ticket__workspace", "customer").filter(pk=claims[0], nonce=claims[1]).first()
        if claims
        else None
    )
    if link is None:
        raise MagicLinkInvalid("This link is not valid.", code="invalid")
    if link.status == MagicLinkStatus.USED:
        raise MagicLinkInvalid("This link was used already: it works once.", code="used")
    if link.status == MagicLinkStatus.EXPIRED or link.expires_at <= timezone.now():
        raise MagicLinkInvalid("This link has expired. Write to us again and we'll send a new one.", code="expired")
    return link


@transaction.atomic
def magic_link_confirm(*, token: str) -> CustomerVerification:
    """The customer clicked (and confirmed) their link: they are verified for the ticket.

    Single use by a conditional UPDATE: of two confirmations at once, one verifies and the
    other gets MagicLinkInvalid("used"). When this is the ticket's first proof, the
    `customer_verified` hook runs in this transaction (the Agent's re-run is created with it).
    """
    link = magic_link_for_token(token)
    ticket = _lock(link.ticket)
    now = timezone.now()
    claimed = MagicLink.objects.filter(pk=link.pk, status=MagicLinkStatus.PENDING, expires_at__gt=now).update(
        status=MagicLinkStatus.USED, used_at=now
    )
    if not claimed:
        magic_link_for_token(token)  # raises with the reason (used by now, or expired)
        raise MagicLinkInvalid("This link is not valid.", code="invalid")
    if link.customer_id != ticket.customer_id:
        # The ticket moved to another customer since: this link proves nothing about them.
        raise MagicLinkInvalid("This link is not valid.", code="invalid")
    first_proof = not ticket_identity_verified(ticket)
    verification = identity_verify(
        ticket=ticket,
        method=VerificationMethod.MAGIC_LINK,
        actor=Actor.for_customer(link.customer),
        evidence={"link": link.pk, "sent_to": link.sent_to},
    )
    if first_proof:
        hooks.customer_verified.fire(verification)
    return verification
