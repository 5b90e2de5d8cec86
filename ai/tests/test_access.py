from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import Http404
from django.test import RequestFactory

from ai.access import action_for_request, action_for_user, actions_for_request, trial_for_user
from ai.models import ActionRequest, TrialRun
from audit.services import Actor
from helpdesk.access import tickets_for_request
from helpdesk.api_tokens import api_token_create
from helpdesk.models import Ticket
from helpdesk.services import ticket_create

ACTOR = Actor.system("test")


def _page_request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    return request


def _api_request(user, token=None):
    # The two attributes the API scope reads: who logged in, and the key if one authenticated.
    return SimpleNamespace(user=user, auth=token, query_params={})


@pytest.fixture
def action(ticket):
    return ActionRequest.objects.create(
        workspace=ticket.workspace, ticket=ticket, tool="issue_refund", amount=Decimal("150.00"), requested_by="ai:x"
    )


def test_it_finds_an_action_of_the_active_workspace_for_its_members_only(action, agent, manager, outsider):
    assert action_for_user(_page_request(agent), action.pk) == action
    assert action_for_user(_page_request(manager), action.pk) == action
    with pytest.raises(Http404):
        action_for_user(_page_request(outsider), action.pk)


def test_it_finds_a_trial_for_managers_of_its_workspace_only(workspace, agent, manager, outsider):
    trial = TrialRun.objects.create(workspace=workspace, params={}, created_by=manager)
    assert trial_for_user(_page_request(manager), trial.pk) == trial
    for user in (agent, outsider):
        with pytest.raises(Http404):
            trial_for_user(_page_request(user), trial.pk)


def test_it_scopes_api_actions_to_the_members_and_keys_workspaces(action, manager, outsider, other_workspace):
    assert list(actions_for_request(_api_request(manager))) == [action]
    assert list(actions_for_request(_api_request(outsider))) == []
    assert list(actions_for_request(_api_request(AnonymousUser()))) == []
    with pytest.raises(Http404):
        action_for_request(_api_request(outsider), action.pk)
    key, _ = api_token_create(workspace=other_workspace, user=outsider, name="k", actor=ACTOR)
    assert list(actions_for_request(_api_request(outsider, key))) == []


def test_it_scopes_api_tickets_to_the_keys_workspace_and_customer(ticket, workspace, manager):
    other = ticket_create(workspace=workspace, channel="api", customer_email="b@x.test", subject="s", body="b")
    key, _ = api_token_create(workspace=workspace, user=manager, name="k", actor=ACTOR)
    assert set(tickets_for_request(_api_request(manager, key))) == {ticket, other}
    customer_key, _ = api_token_create(
        workspace=workspace, user=manager, name="c", actor=ACTOR, customer_email="b@x.test"
    )
    assert list(tickets_for_request(_api_request(manager, customer_key))) == [Ticket.objects.get(pk=other.pk)]
