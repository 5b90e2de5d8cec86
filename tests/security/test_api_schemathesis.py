"""schemathesis against /api/v1/schema/: generated requests, in process, with a workspace key.

Every operation of the schema gets schema-valid (positive) and schema-breaking (negative)
requests, derandomized and bounded, through the real WSGI application and database. Whatever
is sent: no 5xx, and every answer is documented (status code, content type, headers, body
schema); a schema-valid request is never refused with a 400.

Left out on purpose:
- `negative_data_rejection`: the API is lenient by design where nothing is lost (a blank
  `?status=` or `?workspace=` means "not given", a repeated query parameter takes the last
  value, unknown fields are ignored), which that check counts as accepting invalid data;
- generated text holding NUL bytes or lone surrogates: those are refused at the edge, for
  every endpoint at once, by the input-hygiene middleware (oasis/middleware.py), not here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import negative_data_rejection

from ai.models import ActionRequest, AgentRun
from helpdesk.models import Ticket
from oasis.wsgi import application
from tests.security.world import Tenant, build_full_tenant

pytestmark = pytest.mark.django_db

EXAMPLES = 15  # per operation and mode: about 450 requests in all, well under a minute
EDGE_INPUT = re.compile(r"\\u0000|\x00|\\ud[89a-f][0-9a-f]{2}", re.IGNORECASE)


@pytest.fixture
def in_process_requests():
    """Requests through the WSGI app end with Django closing "old" connections, which would
    close the test's own connection (Django's test client disconnects the same receiver)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db) -> Tenant:
    return build_full_tenant(slug="schema", text=lambda label: f"Schema {label}", domain="schema.test")


def real_ids(world: Tenant) -> dict[str, int]:
    return {
        "ticket_id": world.obj(Ticket).pk,
        "action_id": world.obj(ActionRequest).pk,
        "run": world.obj(AgentRun).pk,
    }


def has_edge_input(case: Any) -> bool:
    parts = [case.path_parameters, case.query, case.headers, case.body]
    return bool(EDGE_INPUT.search(json.dumps(parts, default=str)))


def sweep_operation(operation: Any, mode: GenerationMode, key: str, ids: dict[str, int], sent: Counter[str]) -> str:
    """Run one operation's examples; the failure report, or "" when every answer passed."""
    cases = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, use_real_ids=st.booleans())
    def run(case: Any, use_real_ids: bool) -> None:
        assume(not has_edge_input(case))
        if use_real_ids and mode == GenerationMode.POSITIVE:
            # Half the valid requests name the world's real ticket, action and run, so the
            # endpoints do their work instead of answering 404.
            for name in case.path_parameters or {}:
                case.path_parameters[name] = ids.get(name, case.path_parameters[name])
            if isinstance(case.body, dict) and "run" in case.body:
                case.body["run"] = ids["run"]
        sent[operation.label] += 1
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=[negative_data_rejection])

    try:
        run()
    except FailureGroup as exc:
        return f"{operation.label} ({mode.value}): {exc}"
    return ""


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_it_answers_generated_requests_as_its_schema_says(mode, world, in_process_requests):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"GET /api/v1/tickets/", "POST /api/v1/tickets/{ticket_id}/messages/"} <= labels
    sent: Counter[str] = Counter()
    ids = real_ids(world)
    failures = [sweep_operation(op, mode, world.api_keys["admin"], ids, sent) for op in operations]
    assert [failure for failure in failures if failure] == [], "\n\n".join(failures)
    # Every operation really got requests (few are dropped for NUL or surrogates).
    assert set(sent) == labels
    assert sum(sent.values()) >= len(labels) * EXAMPLES // 2
