from __future__ import annotations

from decimal import Decimal

import pytest

from billing.tests.conftest import ai_reply, new_ticket
from conftest import PASSWORD

VALID = {"tickets": "1000", "resolution_rate": "40", "attempts_per_ticket": "1.5", "seats": "5", "seat_price": "29"}


@pytest.fixture
def logged_in(client, agent, plan):
    assert client.login(username=agent.username, password=PASSWORD)
    return client


def test_it_compares_the_three_models_with_a_chart(logged_in):
    response = logged_in.get("/billing/calculator/", VALID)
    assert response.status_code == 200
    html = response.content.decode()
    # 1000 tickets x 40 % x 0.50 = 200.00; 1500 attempts x 0.10 = 150.00; 5 x 29 = 145.00
    assert 'data-model="per_outcome"><strong>200.00 USD' in html
    assert 'data-model="per_attempt">150.00 USD' in html
    assert 'data-model="per_seat">145.00 USD' in html
    assert html.count("<polyline") == 3 and "<svg" in html


def test_it_prefills_from_the_last_30_days(logged_in, workspace):
    for n in range(4):
        ticket = new_ticket(workspace, n)
        if n < 2:
            ai_reply(ticket)
    response = logged_in.get("/billing/calculator/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["tickets"] == 4
    assert form.initial["resolution_rate"] == "50.00"
    assert form.initial["attempts_per_ticket"] == "0.50"
    assert response.context["from_history"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tickets", "-5"),
        ("tickets", "999999999999"),
        ("resolution_rate", "120"),
        ("attempts_per_ticket", "-1"),
        ("seats", "abc"),
        ("seat_price", "1e9"),
    ],
)
def test_it_gives_field_errors_for_bad_input(logged_in, field, value):
    response = logged_in.get("/billing/calculator/", {**VALID, field: value})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    api = logged_in.get("/billing/api/calculator/", {**VALID, field: value})
    assert api.status_code == 400
    assert field in api.json()["errors"]


def test_the_api_returns_the_same_numbers(logged_in):
    data = logged_in.get("/billing/api/calculator/", VALID).json()
    assert data["monthly"] == {"per_seat": "145.00", "per_attempt": "150.00", "per_outcome": "200.00"}
    assert data["outcomes"] == 400 and data["currency"] == "USD"
    assert Decimal(data["prices"]["per_outcome"]) == Decimal("0.50")


def test_it_needs_a_login(client):
    assert client.get("/billing/calculator/").status_code == 302
    assert client.get("/billing/api/calculator/").status_code in (401, 403)
