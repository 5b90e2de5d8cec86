"""Property-based fuzzing of the inbound-email parser and the public endpoints (Hypothesis).

Whatever arrives, the answer is never a server error: accepted input is a 2xx/3xx, rejected
input a 4xx that says why. Derandomized (the same inputs on every run) and without an example
database, so CI is stable; each test counts the inputs it sent and the counts add up to at
least MIN_TOTAL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai.tests.agent_support import helpcenter  # noqa: F401 (fixture: searches run over indexed articles)
from helpdesk.channels.email_in import EmailRejected, parse_email
from helpdesk.channels.identity import portal_token
from helpdesk.tests.channels_support import api, start_visitor
from oasis.hygiene import has_bad_chars

pytest_plugins = ["tests.edge_support"]
MIN_TOTAL = 2000
EXAMPLES = {
    "parser": 900,
    "webhook": 120,
    "widget_start": 150,
    "widget_message": 120,
    "contact": 80,
    "search": 100,
    "portal": 100,
    "login": 120,
    "signup": 100,
    "audit_export": 120,
    "api": 170,
}


def fuzz(name: str) -> Callable[[Any], Any]:
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Text with what breaks things mixed in: NUL, lone surrogates, controls, markup, huge numbers.
NASTY = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "\r\n", "<script>", "'", '"', "%00", "../", "=?", "?=", "9" * 30]
)
TEXT = st.lists(st.one_of(st.text(max_size=20), NASTY, st.characters(categories=["Cs"])), max_size=12).map("".join)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
# Dates of the right shape, possible or not (Feb 30, month 13, hour 25).
DATE_SHAPED = st.builds(
    lambda y, m, d, h: f"{y:04d}-{m:02d}-{d:02d}" + (f"T{h:02d}:00:00" if h is not None else ""),
    st.integers(0, 9999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.none() | st.integers(0, 99),
)
DEEP_JSON = st.integers(min_value=1, max_value=5000).map(lambda n: "[" * n + "]" * n)


def wire(text: str) -> bytes:
    # What a client can put on the wire for this text: a lone surrogate becomes invalid UTF-8.
    return text.encode("utf-8", "surrogatepass")


def body(value: Any) -> bytes:
    return wire(value) if isinstance(value, str) else json.dumps(value).encode()


def query(**params: str) -> str:
    return urlencode({key: wire(value) for key, value in params.items()})


FORM = "application/x-www-form-urlencoded"


def answered(response: Any, counter: dict[str, int], name: str) -> None:
    """The property every endpoint keeps: no 5xx, and a refusal carries a message."""
    counter[name] = counter.get(name, 0) + 1
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code < 500, (response.status_code, content[:300])
    if response.status_code >= 400:
        assert content.strip(), f"{response.status_code} without a message"


@pytest.fixture
def open_limits(settings: Any) -> None:
    # The fuzzer is one client at one address: the limits have their own tests.
    big = {"ip": (10**9, 60), "workspace": (10**9, 60), "account": (10**9, 60)}
    scopes = ("chat_start", "chat_message", "chat_poll", "contact", "suggest", "portal", "portal_post", "login")
    settings.OASIS_RATE_LIMITS = dict.fromkeys((*scopes, "signup"), big)
    # Sign-in and sign-up hash passwords on every try; the fuzzer is about input, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def check_count(counts: dict[str, int], name: str) -> None:
    print(f"fuzz {name}: {counts.get(name, 0)} inputs, 0 server errors")
    assert counts.get(name, 0) >= EXAMPLES[name]


def test_it_plans_at_least_2000_inputs_across_the_fuzz_tests() -> None:
    assert sum(EXAMPLES.values()) >= MIN_TOTAL


# ------------------------------------------------------------------------- the parser

CHARSETS = st.sampled_from(["utf-8", "utf-7", "latin-1", "unicode-escape", "utf-16", "x-bogus", "", "\xff"])
ENCODED_WORD = st.builds(
    lambda charset, enc, payload: f"=?{charset}?{enc}?{payload}?=".encode("utf-8", "surrogateescape"),
    CHARSETS,
    st.sampled_from(["q", "b", "Q", "x"]),
    st.text(alphabet="=+/-_AZaz09\x00%", max_size=16),
)
HEADER_VALUE = st.one_of(st.binary(max_size=60), ENCODED_WORD, TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
# A mail the webhook files when it can: a real sender and text, hostile headers around them.
FILEABLE_EMAIL = st.builds(
    lambda subject, msgid, reply, text: b"\r\n".join(
        [
            b"From: Dana <dana@buyer.test>",
            b"Subject: " + subject,
            b"Message-ID: " + msgid,
            b"In-Reply-To: " + reply,
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            b"Where is my order? " + text,
        ]
    ),
    HEADER_VALUE,
    HEADER_VALUE,
    HEADER_VALUE,
    st.binary(max_size=100),
)
RAW_EMAIL = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda sender, subject, msgid, reply, ctype, text: b"\r\n".join(
            [
                b"From: " + sender,
                b"To: acme@oasis.localhost",
                b"Subject: " + subject,
                b"Message-ID: " + msgid,
                b"In-Reply-To: " + reply,
                b"Content-Type: " + ctype,
                b"",
                text,
            ]
        ),
        st.one_of(st.just(b"Dana <dana@buyer.test>"), HEADER_VALUE),
        HEADER_VALUE,
        HEADER_VALUE,
        HEADER_VALUE,
        st.sampled_from([b"text/plain; charset=utf-8", b"text/html; charset=x-bogus", b"multipart/mixed", b"\x00"]),
        st.binary(max_size=200),
    ),
)


def test_it_parses_any_bytes_or_rejects_them_with_a_reason():
    counts: dict[str, int] = {}

    @fuzz("parser")
    @given(raw=RAW_EMAIL)
    def run(raw):
        counts["parser"] = counts.get("parser", 0) + 1
        try:
            parsed = parse_email(raw)
        except EmailRejected as rejected:
            assert str(rejected)
            return
        for text in (parsed.from_email, parsed.from_name, parsed.subject, parsed.body, parsed.message_id):
            assert not has_bad_chars(text)

    run()
    check_count(counts, "parser")


def test_it_files_or_refuses_any_mail_posted_to_the_webhook(workspace):
    counts: dict[str, int] = {}

    @fuzz("webhook")
    @given(raw=st.one_of(FILEABLE_EMAIL, RAW_EMAIL))
    def run(raw):
        client = Client()
        headers = {"X-Oasis-Inbound-Secret": workspace.inbound_secret}
        answered(
            client.post("/inbound/email/acme/", data=raw, content_type="message/rfc822", headers=headers),
            counts,
            "webhook",
        )

    run()
    check_count(counts, "webhook")


# ---------------------------------------------------------------------- chat widget


def test_it_answers_any_chat_start(workspace, open_limits):
    counts: dict[str, int] = {}

    @fuzz("widget_start")
    @given(payload=st.one_of(JSON_VALUE, st.fixed_dictionaries({"name": TEXT, "email": TEXT}), DEEP_JSON, TEXT))
    def run(payload):
        response = Client().post(api(workspace, "sessions"), data=body(payload), content_type="application/json")
        answered(response, counts, "widget_start")

    run()
    check_count(counts, "widget_start")


def test_it_answers_any_chat_message_or_poll(workspace, open_limits, widget_token):
    counts: dict[str, int] = {}

    @fuzz("widget_message")
    @given(
        payload=st.one_of(JSON_VALUE, st.fixed_dictionaries({"client_id": TEXT, "body": TEXT}), DEEP_JSON),
        text=TEXT,
    )
    def run(payload, text):
        client = Client()
        url = api(workspace, "messages")
        answered(
            client.post(url, data=body(payload), content_type="application/json", HTTP_X_OASIS_SESSION=widget_token),
            counts,
            "widget_message",
        )
        poll = f"{url}?{query(after=text, v=text)}"
        answered(client.get(poll, HTTP_X_OASIS_SESSION=widget_token), {}, "poll")

    run()
    check_count(counts, "widget_message")


@pytest.fixture
def widget_token(workspace, settings):
    return start_visitor(Client(), workspace)


# ------------------------------------------------------------------ help center, portal


def test_it_answers_any_contact_form(workspace, helpcenter, open_limits):  # noqa: F811
    counts: dict[str, int] = {}

    @fuzz("contact")
    @given(form=st.fixed_dictionaries({"name": TEXT, "email": TEXT, "subject": TEXT, "message": TEXT}))
    def run(form):
        answered(Client().post(f"/help/{workspace.slug}/contact/", query(**form), content_type=FORM), counts, "contact")

    run()
    check_count(counts, "contact")


def test_it_answers_any_help_center_search(workspace, helpcenter):  # noqa: F811
    counts: dict[str, int] = {}

    @fuzz("search")
    @given(text=TEXT)
    def run(text):
        answered(Client().get(f"/help/{workspace.slug}/?{query(q=text)}"), counts, "search")

    run()
    check_count(counts, "search")


def test_it_answers_any_portal_link_or_reply(ticket, open_limits):
    counts: dict[str, int] = {}

    @fuzz("portal")
    @given(token=TEXT, reply=TEXT)
    def run(token, reply):
        client = Client()
        answered(client.get(f"/portal/{quote(wire(token), safe='')}x/"), counts, "portal")
        link = f"/portal/{portal_token(ticket.pk)}/"
        answered(client.post(link, query(body=reply), content_type=FORM), {}, "portal_post")

    run()
    check_count(counts, "portal")


# ------------------------------------------------------------------ sign-in and sign-up


def test_it_answers_any_sign_in(agent, open_limits):
    counts: dict[str, int] = {}

    @fuzz("login")
    @given(username=TEXT, password=TEXT)
    def run(username, password):
        response = Client().post("/accounts/login/", query(username=username, password=password), content_type=FORM)
        answered(response, counts, "login")

    run()
    check_count(counts, "login")


def test_it_answers_any_sign_up(db, open_limits):
    counts: dict[str, int] = {}

    @fuzz("signup")
    @given(form=st.fixed_dictionaries({"workspace_name": TEXT, "email": TEXT, "password": TEXT}))
    def run(form):
        answered(Client().post("/signup/", query(**form), content_type=FORM), counts, "signup")

    run()
    check_count(counts, "signup")


# --------------------------------------------------------------- audit export and API


def test_it_answers_any_export_range(manager_client):
    counts: dict[str, int] = {}

    @fuzz("audit_export")
    @given(since=st.one_of(TEXT, DATE_SHAPED), until=st.one_of(TEXT, DATE_SHAPED, st.datetimes().map(str)))
    def run(since, until):
        export = f"/audit/export.jsonl?{query(since=since, until=until)}"
        answered(manager_client.get(export), counts, "audit_export")

    run()
    check_count(counts, "audit_export")


def test_it_answers_any_api_request(token_client, ticket):
    counts: dict[str, int] = {}

    @fuzz("api")
    @given(
        payload=st.one_of(
            JSON_VALUE,
            DEEP_JSON,
            st.fixed_dictionaries({"customer_email": TEXT, "subject": TEXT, "body": TEXT}, optional={"channel": TEXT}),
        ),
        text=TEXT,
    )
    def run(payload, text):
        answered(
            token_client.post("/api/v1/tickets/", data=body(payload), content_type="application/json"), counts, "api"
        )
        answered(token_client.get(f"/api/v1/tickets/?{query(workspace=text, cursor=text)}"), {}, "api_list")
        answered(
            token_client.post(
                f"/api/v1/tickets/{ticket.pk}/messages/", data=body(payload), content_type="application/json"
            ),
            {},
            "api_message",
        )

    run()
    check_count(counts, "api")
