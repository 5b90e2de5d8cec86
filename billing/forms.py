from __future__ import annotations

from decimal import Decimal

from django import forms


class SignupForm(forms.Form):
    workspace_name = forms.CharField(max_length=200, label="Workspace name")
    email = forms.EmailField(label="Admin email")
    password = forms.CharField(widget=forms.PasswordInput, strip=False, max_length=256)


class CalculatorForm(forms.Form):
    """One month of support. Bounds are generous but finite: absurd numbers are field errors."""

    tickets = forms.IntegerField(label="Tickets per month", min_value=0, max_value=10_000_000)
    resolution_rate = forms.DecimalField(
        label="AI resolution rate (%)",
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
    )
    attempts_per_ticket = forms.DecimalField(
        label="AI attempts per ticket",
        min_value=Decimal("0"),
        max_value=Decimal("20"),
        max_digits=4,
        decimal_places=2,
    )
    seats = forms.IntegerField(label="Seats (agents)", min_value=0, max_value=100_000)
    seat_price = forms.DecimalField(
        label="Price per seat per month",
        min_value=Decimal("0"),
        max_value=Decimal("100000"),
        max_digits=8,
        decimal_places=2,
    )
