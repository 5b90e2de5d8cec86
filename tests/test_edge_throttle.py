"""Sign-in, sign-up, the contact form and chat starts are throttled per IP and per account; the
first refusal of a window is an audit event in the workspace concerned."""

from __future__ import annotations

import json

from audit.models import AuditEvent
from billing.models import Plan
from conftest import PASSWORD
from helpdesk.models import Ticket, Workspace
from helpdesk.models.channels import ChatSession
from helpdesk.tests.channels_support import api

LOGIN = "/accounts/login/"
WRONG = "not the password"


def sign_in(client, username, password=WRONG, ip="127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def events(kind):
    return list(AuditEvent.objects.filter(kind=kind).values_list("workspace__slug", "data"))


def test_it_evaluates_only_the_first_sign_ins_from_one_ip(client, db):
    # The finding: 214 wrong passwords in a minute from one IP were all checked.
    statuses = [sign_in(client, f"guess{i}@acme.test").status_code for i in range(214)]
    evaluated = sum(1 for s in statuses if s == 200)
    print(f"sign-ins evaluated out of 214 from one IP: {evaluated}")
    assert evaluated == 20 and statuses[20:] == [429] * 194


def test_the_back_offices_sign_in_is_throttled_the_same_way(client, db):
    statuses = [
        client.post("/admin/login/", {"username": f"guess{i}@acme.test", "password": WRONG}).status_code
        for i in range(25)
    ]
    assert statuses[:20] == [200] * 20 and statuses[20:] == [429] * 5


def test_it_throttles_one_account_across_ips_and_audits_it_once(client, agent, workspace, settings):
    settings.OASIS_RATE_LIMITS = {"login": {"ip": (100, 300), "account": (3, 300)}}
    for i in range(3):
        assert sign_in(client, agent.email, ip=f"10.0.0.{i}").status_code == 200
    refused = sign_in(client, agent.email, password=PASSWORD, ip="10.0.0.9")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"Too many requests" in refused.content
    assert "_auth_user_id" not in client.session  # even the right password is not checked
    for i in range(5):
        assert sign_in(client, agent.email, ip=f"10.0.1.{i}").status_code == 429
    assert events("auth.login_throttled") == [
        (workspace.slug, {"limit": "account", "ip": "10.0.0.9", "retry_after": refused_after(refused)})
    ]
    # Another account from the same addresses is not affected.
    assert sign_in(client, "someone.else@acme.test", ip="10.0.0.9").status_code == 200


def refused_after(response):
    return int(response["Retry-After"])


def test_it_still_signs_in_under_the_limit(client, agent):
    response = sign_in(client, agent.email, password=PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/inbox/"


def signup(client, email, ip="127.0.0.1"):
    form = {"workspace_name": f"Shop {email}", "email": email, "password": "a long enough passphrase 42"}
    return client.post("/signup/", form, REMOTE_ADDR=ip)


def test_it_throttles_sign_ups_per_ip(client, db):
    statuses = [signup(client, f"owner{i}@shop.test").status_code for i in range(10)]
    assert statuses == [302] * 5 + [429] * 5
    assert Workspace.objects.count() == Plan.objects.count() == 5


def test_it_throttles_sign_ups_per_address(client, db, settings):
    settings.OASIS_RATE_LIMITS = {"signup": {"ip": (100, 3600), "account": (1, 3600)}}
    assert signup(client, "owner@shop.test", ip="10.0.0.1").status_code == 302
    refused = signup(client, "OWNER@shop.test", ip="10.0.0.2")
    assert refused.status_code == 429 and b"Too many requests" in refused.content
    assert Workspace.objects.count() == 1


def contact(client, workspace, email, ip):
    form = {"name": "Carla", "email": email, "subject": "Where is my order", "message": "It has not arrived."}
    return client.post(f"/help/{workspace.slug}/contact/", form, REMOTE_ADDR=ip)


def test_it_throttles_the_contact_form_per_address_and_audits_it(client, workspace, settings):
    settings.OASIS_RATE_LIMITS = {"contact": {"ip": (100, 600), "account": (2, 600)}}
    assert [contact(client, workspace, "carla@customer.test", f"10.0.0.{i}").status_code for i in range(4)] == [
        200,
        200,
        429,
        429,
    ]
    assert Ticket.objects.count() == 2
    assert [(slug, data["limit"]) for slug, data in events("contact.throttled")] == [(workspace.slug, "account")]


def start(client, workspace, email, ip):
    body = json.dumps({"name": "Carla", "email": email})
    return client.post(api(workspace, "sessions"), data=body, content_type="application/json", REMOTE_ADDR=ip)


def test_it_throttles_chat_starts_per_address_and_audits_it(client, workspace, settings):
    settings.OASIS_RATE_LIMITS = {"chat_start": {"ip": (100, 60), "workspace": (100, 60), "account": (2, 600)}}
    statuses = [start(client, workspace, "carla@customer.test", f"10.0.0.{i}").status_code for i in range(4)]
    assert statuses == [201, 201, 429, 429]
    refused = start(client, workspace, "carla@customer.test", "10.0.0.9")
    assert refused.json()["error"] == "rate_limited" and refused["Access-Control-Allow-Origin"] == "*"
    assert ChatSession.objects.count() == 2
    assert [(slug, data["limit"]) for slug, data in events("chat.start_throttled")] == [(workspace.slug, "account")]
    assert start(client, workspace, "dana@customer.test", "10.0.0.9").status_code == 201
