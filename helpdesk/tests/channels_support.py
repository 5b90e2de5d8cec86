"""Helpers shared by the channel tests."""

from __future__ import annotations

import json
import time

from helpdesk.channels.identity import identity_token_sign, widget_secret


def api(workspace, name):
    return f"/chat/api/{workspace.slug}/{name}/"


def start(client, workspace, **body):
    return client.post(api(workspace, "sessions"), data=json.dumps(body), content_type="application/json")


def start_visitor(client, workspace, email="carla@customer.test", name="Carla Customer"):
    response = start(client, workspace, email=email, name=name)
    assert response.status_code == 201, response.content
    return response.json()["session_token"]


def start_signed(client, workspace, email="carla@customer.test", name="Carla Customer", exp=None):
    token = identity_token_sign(secret=widget_secret(workspace), email=email, name=name, exp=exp)
    response = start(client, workspace, identity_token=token)
    assert response.status_code == 201, response.content
    return response.json()["session_token"]


def post(client, workspace, token, body, client_id="c-1"):
    return client.post(
        api(workspace, "messages"),
        data=json.dumps({"client_id": client_id, "body": body}),
        content_type="application/json",
        HTTP_X_OASIS_SESSION=token,
    )


def poll(client, workspace, token, after=0):
    return client.get(api(workspace, "messages") + f"?after={after}", HTTP_X_OASIS_SESSION=token)


def future(seconds=3600):
    return int(time.time()) + seconds
