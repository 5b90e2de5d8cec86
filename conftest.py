"""Shared fixtures: one workspace with an agent and a manager, and an outsider elsewhere."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from audit.services import Actor
from helpdesk.models import Role, Ticket, Workspace
from helpdesk.services import membership_add, ticket_create, workspace_create

PASSWORD = "correct horse battery staple"  # noqa: S105


def make_user(email: str) -> Any:
    return get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)


@pytest.fixture
def workspace(db: None) -> Workspace:
    return workspace_create(name="Acme Outfitters", slug="acme", actor=Actor.system("test"))


@pytest.fixture
def other_workspace(db: None) -> Workspace:
    return workspace_create(name="Globex", slug="globex", actor=Actor.system("test"))


@pytest.fixture
def agent(workspace: Workspace) -> Any:
    user = make_user("alice.agent@acme.test")
    membership_add(workspace=workspace, user=user, role=Role.AGENT, actor=Actor.system("test"))
    return user


@pytest.fixture
def manager(workspace: Workspace) -> Any:
    user = make_user("mona.manager@acme.test")
    membership_add(workspace=workspace, user=user, role=Role.MANAGER, actor=Actor.system("test"))
    return user


@pytest.fixture
def outsider(other_workspace: Workspace) -> Any:
    user = make_user("oscar.outsider@globex.test")
    membership_add(workspace=other_workspace, user=user, role=Role.ADMIN, actor=Actor.system("test"))
    return user


@pytest.fixture
def ticket(workspace: Workspace) -> Ticket:
    return ticket_create(
        workspace=workspace,
        channel="email",
        customer_email="carla@customer.test",
        customer_name="Carla Customer",
        subject="Where is my order?",
        body="Hi, my order A1001 has not arrived yet. Can you check?",
        email_message_id="<first@customer.test>",
    )


@pytest.fixture(autouse=True)
def audit_anchor_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each test anchors audit chain heads in its own file (audit/anchor.py), never in var/."""
    path = tmp_path / "audit-anchors.jsonl"
    monkeypatch.setenv("OASIS_AUDIT_ANCHOR_PATH", str(path))
    return path


@pytest.fixture(autouse=True)
def rate_limit_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """One rate-limit clock reading per test: windows are fixed on the wall clock, and a burst of
    sign-ins that takes seconds on a loaded machine could otherwise straddle two windows and never
    reach its limit. Tests that need time to pass give `now` to the counting functions."""
    from types import SimpleNamespace

    from helpdesk.channels import ratelimit

    frozen = time.time()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: frozen))
    return frozen


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's Chromium: Playwright never downloads a browser of its own here.
    return {
        **browser_type_launch_args,
        "headless": True,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def thread_wakeups_stopped(django_db_setup: None) -> Any:
    """The widget's long-poll listener holds a connection to the test database: close it
    before the database is dropped (this fixture tears down before `django_db_setup`)."""
    yield
    from helpdesk.channels.wakeups import WAKEUPS

    WAKEUPS.stop()
