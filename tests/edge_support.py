"""Clients shared by the edge tests: a signed-in manager, a superuser, a workspace API token."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.services import Actor
from conftest import PASSWORD, make_user
from helpdesk.api_tokens import api_token_create


@pytest.fixture
def manager_client(client: Any, manager: Any) -> Any:
    assert client.login(username=manager.email, password=PASSWORD)
    return client


@pytest.fixture
def superuser_client(client: Any, db: None) -> Any:
    user = make_user("root@oasis.test")
    user.is_staff = user.is_superuser = True
    user.save()
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def token_client(workspace: Any, agent: Any) -> APIClient:
    _token, key = api_token_create(workspace=workspace, user=agent, name="edge", actor=Actor.system("test"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
