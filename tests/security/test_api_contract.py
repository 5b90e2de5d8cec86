"""What schemathesis found in the API, each pinned by its own test.

The schema promised one thing and the endpoints did another (an envelope documented as a bare
list, 201 documented as 200, no error codes at all, whitespace accepted as a body, a reject
note documented as optional); addresses under /api/v1/ that match no endpoint answered with
the site's HTML pages; a blank search was refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ai.tests.tools_support import held_refund, make_order, verified
from audit.services import Actor
from helpdesk.api_tokens import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict[str, Any]:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def api(workspace, manager) -> Client:
    _token, key = api_token_create(workspace=workspace, user=manager, name="contract", actor=Actor.system("t"))
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def operation(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return schema["paths"][path][method]  # type: ignore[no-any-return]


def response_schema(schema: dict[str, Any], method: str, path: str, code: str) -> dict[str, Any]:
    body = operation(schema, method, path)["responses"][code]["content"]["application/json"]["schema"]
    if "$ref" in body:
        return schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]  # type: ignore[no-any-return]
    return body  # type: ignore[no-any-return]


def test_it_documents_the_envelopes_the_lists_answer_with(schema, api, ticket):
    actions = response_schema(schema, "get", "/api/v1/actions/", "200")
    assert actions["type"] == "object" and "results" in actions["properties"]
    assert set(api.get("/api/v1/actions/").json()) == {"results"}
    tools = response_schema(schema, "get", "/api/v1/tools/", "200")
    assert set(tools["properties"]) == {"workspace", "currency", "tools"} == set(api.get("/api/v1/tools/").json())


def test_it_documents_created_as_201(schema):
    assert "201" in operation(schema, "post", "/api/v1/tickets/{ticket_id}/copilot/")["responses"]
    assert "201" in operation(schema, "post", "/api/v1/tickets/{ticket_id}/copilot/feedback/")["responses"]


def test_it_documents_the_refusals_of_every_operation(schema):
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/schema/":
            continue
        for method, op in methods.items():
            missing = {"400", "401", "403", "404"} - set(op["responses"])
            assert not missing, f"{method.upper()} {path} does not document {missing}"


def test_it_documents_ids_as_digits_only(schema):
    parameters = operation(schema, "get", "/api/v1/tickets/{ticket_id}/")["parameters"]
    ticket_id = next(p for p in parameters if p["name"] == "ticket_id")
    assert ticket_id["schema"] == {"type": "integer", "minimum": 0}


def test_it_documents_that_a_body_needs_more_than_whitespace(schema, api, ticket):
    body = schema["components"]["schemas"]["MessageCreate"]["properties"]["body"]
    assert body["pattern"] == r"\S" and body["minLength"] == 1
    response = api.post(f"/api/v1/tickets/{ticket.pk}/messages/", {"kind": "note", "body": "   "})
    assert response.status_code == 400


def test_it_documents_and_requires_the_reject_note(schema, api, workspace, ticket):
    make_order(workspace, "A1002", total="250.00")
    reject = schema["components"]["schemas"]["RejectInput"]
    assert reject["required"] == ["note"]
    # The refund is held for approval only once the sender is proven (by the relay's DKIM pass).
    action = held_refund(verified(ticket), amount="150.00", order="A1002")
    response = api.post(f"/api/v1/actions/{action.pk}/reject/", {}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"note": ["Say why the request is rejected."]}
    action.refresh_from_db()
    assert action.status == "pending"


def test_it_searches_nothing_for_a_blank_query(api, ticket):
    response = api.get("/api/v1/tickets/", {"q": "  "})
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [ticket.pk]


@pytest.mark.parametrize("path", ["/api/v1/tickets/abc/", "/api/v1/tickets/-1/messages/", "/api/v1/nothing/"])
def test_it_answers_addresses_that_match_no_endpoint_in_json(api, path):
    for response in (api.get(path), Client(enforce_csrf_checks=True).post(path, {"x": "1"})):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}


def test_it_still_adds_the_slash_to_an_endpoint_without_it(api):
    assert api.get("/api/v1/tickets").status_code == 301


def test_it_documents_the_calculator_query_and_answer(schema, workspace, manager):
    _token, key = api_token_create(workspace=workspace, user=manager, name="calc", actor=Actor.system("t"))
    calculator = operation(schema, "get", "/billing/api/calculator/")
    names = {p["name"]: p["schema"] for p in calculator["parameters"]}
    assert names["tickets"] == {"type": "integer", "minimum": 0, "maximum": 10_000_000}
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/billing/api/calculator/").json()
    prices = response_schema(schema, "get", "/billing/api/calculator/", "200")["properties"]
    assert set(prices) == set(answer)
