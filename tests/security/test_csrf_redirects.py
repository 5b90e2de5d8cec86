"""CSRF and open redirects.

CSRF: every URL of the site (from the resolver, admin and API included) gets a POST without a
token from a signed-in member of the workspace it points at, who could otherwise do it: it
must be refused with 403 and change nothing. The few views that take no cookie at all (the
chat widget's API, the inbound-email webhook) are listed with the credential they use instead,
and a new exempt view fails the test until it is listed.

Open redirects: every parameter that picks where to go next (login, admin login, logout, the
kill switch) refuses addresses elsewhere, however they are spelled.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from django.test import Client

from conftest import PASSWORD
from tests.security.routes import FILLERS, PUBLIC_FILLERS, all_routes
from tests.security.sweep import form_for
from tests.security.world import Tenant, build_full_tenant, changed_models, snapshot

pytestmark = pytest.mark.django_db

# Views that read no cookie, so a forged cross-site POST carries nothing to abuse; each names
# what authenticates it instead.
CSRF_EXEMPT = {
    "chat/api/<slug:workspace_slug>/sessions/": "the widget's API: no cookies, a session header",
    "chat/api/<slug:workspace_slug>/messages/": "the widget's API: no cookies, a session header",
    "chat/api/<slug:workspace_slug>/feedback/": "the widget's API: no cookies, a session header",
    "inbound/email/<slug:workspace_slug>/": "the mail relay's webhook: the workspace's inbound secret",
    "api/v1/^.*/$": "answers 404 to everything",
}

EXTERNAL_TARGETS = [
    "//evil.test",
    "//evil.test/inbox/",
    "https://evil.test",
    "http://evil.test/inbox/",
    "https:evil.test",
    "https:/evil.test",
    "///evil.test",
    "/\\evil.test",
    "\\\\evil.test",
    "/\\/evil.test",
    " //evil.test",
    "\t//evil.test",
    "//evil.test%2F%2E%2E",
    "https://testserver@evil.test/",
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.fixture
def world(db) -> Tenant:
    return build_full_tenant(slug="home", text=lambda label: f"Home {label}", domain="home.test")


def is_local(location: str) -> bool:
    """Where a browser would go stays on this site: a path, not //host, /\\host or a scheme."""
    parts = urlsplit(location)
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and "\\" not in location
        and not parts.scheme
        and not parts.netloc
    )


def signed_in(world: Tenant) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["admin"])
    return client


def test_it_refuses_a_post_without_a_csrf_token_everywhere(world):
    client = signed_in(world)
    fillers = {**FILLERS, **PUBLIC_FILLERS}
    refused, exempt, problems = 0, set(), []
    before = snapshot(world.workspace)
    for route in all_routes():
        view_exempt = getattr(route.callback, "csrf_exempt", False) and not route.is_api
        if view_exempt:
            exempt.add(route.template)
            continue
        url = route.url(world, fillers)
        response = client.post(url, form_for(world))
        if response.status_code != 403:
            problems.append(f"POST {url} without a CSRF token answered {response.status_code}")
        refused += 1
        after = snapshot(world.workspace)
        if changed := changed_models(before, after):
            problems.append(f"POST {url} without a CSRF token changed {', '.join(changed)}")
            before = after
    assert problems == []
    assert exempt == set(CSRF_EXEMPT)
    assert refused >= 200


def test_it_takes_a_post_with_the_token_on_the_same_views(world):
    # The control: the same client, with the token, gets past CSRF (so the 403s above are CSRF's).
    client = signed_in(world)
    client.get("/inbox/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/inbox/tickets/{world.ticket.pk}/note/", {"note-body": "with a token", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert world.ticket.messages.filter(body="with a token").exists()


def test_it_refuses_to_send_anyone_elsewhere_after_login(agent, manager, settings):
    # 68 sign-ins: a fast hasher and room under the sign-in throttle (whose limits
    # tests/test_edge_throttle.py proves) keep the test about redirects.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OASIS_RATE_LIMITS = {"login": {"ip": (100, 300), "account": (100, 300)}}
    for user in (agent, manager):
        user.set_password(PASSWORD)
        user.is_staff = True
        user.save()
    sent_to = []
    for target in EXTERNAL_TARGETS:
        for login_url, user in (("/accounts/login/", agent), ("/admin/login/", manager)):
            credentials = {"username": user.email, "password": PASSWORD}
            sent_to.append(Client().post(f"{login_url}?next={quote(target)}", credentials)["Location"])
            sent_to.append(Client().post(login_url, {**credentials, "next": target})["Location"])
    assert [location for location in sent_to if not is_local(location)] == []
    assert len(sent_to) == 4 * len(EXTERNAL_TARGETS)


def test_it_refuses_to_send_anyone_elsewhere_after_logout(agent):
    client = Client()
    sent_to = []
    for target in EXTERNAL_TARGETS:
        client.force_login(agent)
        response = client.post("/accounts/logout/", {"next": target})
        assert response.status_code == 302
        sent_to.append(response["Location"])
    assert [location for location in sent_to if not is_local(location)] == []


def test_it_refuses_to_send_a_manager_elsewhere_from_the_kill_switch(manager):
    client = Client()
    client.force_login(manager)
    sent_to = [
        client.post("/reports/kill-switch/", {"action": "resume", "next": target})["Location"]
        for target in EXTERNAL_TARGETS
    ]
    assert set(sent_to) == {"/inbox/"}


def test_it_follows_a_next_on_this_site(agent, manager):
    # The control: the same parameters are honoured when they stay here.
    credentials = {"username": agent.email, "password": PASSWORD}
    assert Client().post("/accounts/login/?next=/trust/", credentials)["Location"] == "/trust/"
    client = Client()
    client.force_login(manager)
    response = client.post("/reports/kill-switch/", {"action": "resume", "next": "/reports/?days=7"})
    assert response["Location"] == "/reports/?days=7"
    client.force_login(agent)
    assert client.post("/accounts/logout/", {"next": "/help/acme/"})["Location"] == "/help/acme/"
