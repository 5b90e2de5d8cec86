from __future__ import annotations

from ai.admin_controls import AgentPauseAdmin, AlertSettingsAdmin
from helpdesk import access
from helpdesk.admin import ManagedSettingsAdmin
from helpdesk.admin_helpcenter import HelpCenterSourceAdmin
from helpdesk.models import Membership, Role


def test_it_reads_who_manages_from_the_one_manager_role_set(monkeypatch):
    assert [r for r in Role.values if Membership(role=r).can_manage] == [Role.MANAGER, Role.ADMIN]
    monkeypatch.setattr(access, "MANAGER_ROLES", (Role.FINANCE,))
    assert [r for r in Role.values if Membership(role=r).can_manage] == [Role.FINANCE]


def test_it_gives_the_back_office_the_one_manager_role_set():
    for admin_class in (ManagedSettingsAdmin, HelpCenterSourceAdmin, AgentPauseAdmin, AlertSettingsAdmin):
        assert admin_class.edit_roles is access.MANAGER_ROLES, admin_class
