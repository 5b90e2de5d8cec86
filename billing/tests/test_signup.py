from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import Outcome, Plan
from billing.tests.conftest import ai_reply, new_ticket
from helpdesk.models import Membership, Role, Workspace

GOOD = {"workspace_name": "Sunny Shoes", "email": "owner@sunny.test", "password": "a long Passphrase 42!"}


def test_it_signs_up_a_trial_workspace_and_logs_in(client, db):
    response = client.post("/signup/", GOOD)
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    user = get_user_model().objects.get(email="owner@sunny.test")
    workspace = Workspace.objects.get(name="Sunny Shoes")
    assert workspace.slug == "sunny-shoes"
    assert Membership.objects.get(user=user, workspace=workspace).role == Role.ADMIN
    plan = Plan.objects.get(workspace=workspace)
    assert plan.trial_ends_at is not None
    assert abs(plan.trial_ends_at - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    assert client.session["_auth_user_id"] == str(user.pk)
    # Outcomes during the trial are recorded at 0.00.
    ai_reply(new_ticket(workspace))
    assert Outcome.objects.get(workspace=workspace).price == Decimal("0.00")


def test_it_shows_the_form(client, db):
    response = client.get("/signup/")
    assert response.status_code == 200
    assert b"14-day free trial" in response.content


def test_it_rejects_weak_passwords_and_taken_emails(client, agent):
    response = client.post("/signup/", {**GOOD, "password": "12345678"})
    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    response = client.post("/signup/", {**GOOD, "email": agent.email})
    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["email"])
    response = client.post("/signup/", {**GOOD, "workspace_name": ""})
    assert response.status_code == 400
    assert not Workspace.objects.filter(name="Sunny Shoes").exists()
    assert not get_user_model().objects.filter(email="owner@sunny.test").exists()
