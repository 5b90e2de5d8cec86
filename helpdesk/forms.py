"""Forms of the staff inbox: they parse and validate input, nothing more.

State changes happen in `helpdesk.services`; a service's ValidationError is attached back
onto the form that carried the input so the page can show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from helpdesk.models import Channel, Membership, TicketStatus, TicketType


class PercentField(forms.DecimalField):
    """A fraction stored in [0, 1], typed and shown as a percent (85 for 0.85), as every page
    shows confidence; out of range, the error says so in words."""

    def __init__(self, **kwargs: Any) -> None:
        messages = {
            "min_value": "Enter a percent from 0 to 100, e.g. 85.",
            "max_value": "Enter a percent from 0 to 100, e.g. 85 (not 0.85 and not 850).",
            "invalid": "Enter a number of percent, e.g. 85.",
            "max_decimal_places": "Use at most two decimals, e.g. 87.5.",
        }
        super().__init__(min_value=0, max_value=100, decimal_places=2, max_digits=5, error_messages=messages, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, float):
            return f"{round(value * 100, 1):g}"
        return value

    def clean(self, value: Any) -> float | None:
        cleaned = super().clean(value)
        if cleaned is not None and 0 < cleaned < 1:
            # A fraction typed out of habit: 0.85 would mean less than one percent.
            shown = f"{float(cleaned) * 100:g}"
            raise ValidationError(f"Enter a percent: {shown} for {shown} %, not {cleaned}.")
        return None if cleaned is None else float(cleaned) / 100


AI_DECISIONS = [
    ("autosend", "Autosent"),
    ("draft", "Draft ready"),
    ("escalate", "Escalated"),
    ("awaiting_approval", "Awaiting approval"),
]

# Why a human threw a Copilot draft away: the labels calibration learns from.
DISCARD_REASONS = [
    ("wrong", "Wrong"),
    ("unhelpful", "Unhelpful"),
    ("tone", "Wrong tone"),
    ("made_things_up", "Made things up"),
]

ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"


def _member_choices(memberships: Sequence[Membership]) -> list[tuple[str, str]]:
    return [(str(m.user_id), m.user.get_full_name() or m.user.email or m.user.username) for m in memberships]


def _set_choices(form: forms.Form, name: str, choices: list[tuple[str, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


@dataclass(frozen=True)
class Cursor:
    """A keyset position in the inbox order: (last_message_at, id) of the last row shown."""

    last_message_at: datetime | None
    pk: int

    @classmethod
    def parse(cls, raw: str) -> Cursor:
        stamp, sep, pk = raw.partition("|")
        if not sep:
            raise ValueError("missing separator")
        when = datetime.fromisoformat(stamp) if stamp else None
        if when is not None and when.tzinfo is None:
            raise ValueError("naive timestamp")
        return cls(when, int(pk))

    def __str__(self) -> str:
        stamp = self.last_message_at.isoformat() if self.last_message_at else ""
        return f"{stamp}|{self.pk}"


class InboxFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search", strip=True)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *TicketStatus.choices])
    ticket_type = forms.ChoiceField(required=False, label="Type", choices=[("", "Any type"), *TicketType.choices])
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Channel.choices])
    assignee = forms.ChoiceField(required=False)
    ai_decision = forms.ChoiceField(required=False, label="AI state", choices=[("", "Any"), *AI_DECISIONS])
    confidence_min = forms.IntegerField(required=False, min_value=0, max_value=100, label="Min confidence %")
    confidence_max = forms.IntegerField(required=False, min_value=0, max_value=100, label="Max confidence %")
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, memberships: Sequence[Membership] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self,
            "assignee",
            [
                ("", "Anyone"),
                (ASSIGNEE_ME, "Me"),
                (ASSIGNEE_NONE, "Unassigned"),
                *_member_choices(memberships),
            ],
        )

    def clean_after(self) -> Cursor | None:
        raw: str = self.cleaned_data.get("after", "")
        if not raw:
            return None
        try:
            return Cursor.parse(raw)
        except ValueError:
            raise ValidationError("Not a valid page position.") from None


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "The message is empty."},
    )


class ReplyForm(MessageForm):
    """A reply; `copilot_run` is set when the text started as a Copilot draft (Insert)."""

    copilot_run = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class CopilotRunForm(forms.Form):
    run = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class DiscardForm(CopilotRunForm):
    reason = forms.ChoiceField(label="Why discard it?", choices=DISCARD_REASONS)


class ToolRunForm(CopilotRunForm):
    call = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assignee")

    def __init__(self, *args: Any, memberships: Sequence[Membership] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self,
            "assignee",
            [
                (ASSIGNEE_ME, "Me"),
                (ASSIGNEE_NONE, "Unassigned"),
                *_member_choices(memberships),
            ],
        )


class TicketTypeForm(forms.Form):
    ticket_type = forms.ChoiceField(label="Type", choices=TicketType.choices)


class StatusChangeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=300, strip=True)


class WorkspaceSwitchForm(forms.Form):
    workspace = forms.IntegerField(min_value=1)
