"""The tenancy sweep, generated from the URL resolver (admin and API included).

Workspace A holds one object of every kind, its texts all canaries; workspace B holds a member
of every role (all staff), a staff user of no workspace, and nobody. Every URL that takes an
object is filled with A's object and requested by each of them (GET and POST, CSRF handled by
the test client, API endpoints also with B's own keys): it must be refused, show nothing of A
and change nothing of A. URLs without an object are requested too and must show nothing of A.
"""

from __future__ import annotations

import pytest

from tests.security.routes import PUBLIC, all_routes, plan_problems, swept_routes
from tests.security.sweep import Sweeper, canary
from tests.security.world import B_ROLES, build_full_tenant, build_people_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world_a(db):
    return build_full_tenant(slug="alpha", text=canary, domain="alpha.test")


@pytest.fixture
def world_b(db):
    return build_people_tenant(slug="bravo", domain="bravo.test")


def test_it_knows_how_to_fill_every_url_of_the_site(world_a):
    assert plan_problems(world_a) == []
    routes = all_routes()
    assert len(swept_routes()) == len(routes) - len(PUBLIC)
    # Admin and API are in the walk, not just the app's own pages.
    assert any(r.template.startswith("admin/helpdesk/ticket/") for r in routes)
    assert any(r.template.startswith("api/v1/tickets/") for r in routes)


def test_it_fails_when_a_url_has_a_parameter_it_cannot_fill(settings):
    settings.ROOT_URLCONF = "tests.security.urls_unknown_param"
    problems = plan_problems()
    assert problems == [
        "gadgets/<int:gadget_id>/: no filler for gadget_id; add it to FILLERS in tests/security/routes.py "
        "(or, for a public page, to PUBLIC with the reason)"
    ]


@pytest.mark.parametrize("role", B_ROLES)
def test_it_never_shows_or_changes_workspace_a_for_workspace_b(role, world_a, world_b):
    sweeper = Sweeper(a=world_a, b=world_b, role=role)
    problems = sweeper.run(swept_routes())
    assert problems == [], "\n".join(problems)
    assert sweeper.requests >= 2 * len(swept_routes())
