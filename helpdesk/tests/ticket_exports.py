"""Small exports in each helpdesk's own shape, for the ticket importer tests (written to tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ZENDESK: dict[str, Any] = {
    "tickets": [
        {
            "id": 101,
            "subject": "Where is my order?",
            "status": "solved",
            "created_at": "2026-03-01T09:00:00Z",
            "requester_id": 1,
            "via": {"channel": "email", "source": {"from": {"address": "rita@customer.test", "name": "Rita"}}},
            "comments": [
                {
                    "author_id": 1,
                    "body": "Hi, my order B2002 has not arrived.",
                    "public": True,
                    "created_at": "2026-03-01T09:00:00Z",
                },
                {"author_id": 9, "body": "Customer is a VIP.", "public": False, "created_at": "2026-03-01T09:05:00Z"},
                {
                    "author_id": 9,
                    "html_body": "<p>It ships <b>today</b> with DHL.</p>",
                    "public": True,
                    "created_at": "2026-03-01T10:00:00Z",
                },
                {"author_id": 1, "body": "Thanks!", "public": True, "created_at": "2026-03-01T11:00:00Z"},
            ],
        },
        {
            "id": 102,
            "subject": "Refund",
            "status": "open",
            "created_at": "2026-03-02T09:00:00Z",
            "requester_id": 2,
            "via": {"channel": "web"},
            "description": "Please refund order B2003, the scarf was not what I expected.",
        },
        {"id": 103, "subject": "No requester", "requester_id": 77, "description": "Who am I?"},
    ],
    "users": [
        {"id": 1, "email": "rita@customer.test", "name": "Rita Refund", "role": "end-user"},
        {"id": 2, "email": "rob@customer.test", "name": "Rob Return", "role": "end-user"},
        {"id": 9, "email": "agent@shop.test", "name": "Ann Agent", "role": "agent"},
    ],
}

FRESHDESK: list[dict[str, Any]] = [
    {
        "id": 7,
        "subject": "Cannot sign in",
        "description": "<div>I forgot my password.</div>",
        "description_text": "I forgot my password.",
        "status": 2,
        "source": 7,
        "created_at": "2026-03-03T08:00:00Z",
        "requester": {"email": "pat@customer.test", "name": "Pat Password"},
        "conversations": [
            {
                "body_text": "Use the Forgot password link.",
                "incoming": False,
                "private": False,
                "created_at": "2026-03-03T08:10:00Z",
            },
            {
                "body_text": "internal: check logs",
                "incoming": False,
                "private": True,
                "created_at": "2026-03-03T08:09:00Z",
            },
        ],
    },
    {"id": 8, "subject": "Bad", "description_text": "hello", "requester": {"email": "not-an-email"}},
]

HELPSCOUT: dict[str, Any] = {
    "_embedded": {
        "conversations": [
            {
                "id": 555,
                "number": 12,
                "subject": "Exchange the boots",
                "status": "active",
                "createdAt": "2026-03-04T12:00:00Z",
                "source": {"type": "chat"},
                "primaryCustomer": {"email": "lee@customer.test", "first": "Lee", "last": "Legal"},
                "_embedded": {
                    "threads": [
                        {
                            "type": "reply",
                            "body": "<p>Sure, which size?</p>",
                            "createdAt": "2026-03-04T12:30:00Z",
                            "createdBy": {"type": "user"},
                        },
                        {
                            "type": "note",
                            "body": "size chart?",
                            "createdAt": "2026-03-04T12:20:00Z",
                            "createdBy": {"type": "user"},
                        },
                        {
                            "type": "customer",
                            "body": "Can I exchange my boots for a bigger size?",
                            "createdAt": "2026-03-04T12:00:00Z",
                            "createdBy": {"type": "customer"},
                        },
                    ]
                },
            }
        ]
    },
    "page": {"size": 50, "totalElements": 1},
}

CSV = """Ticket ID;Requester email;Requester name;Description;Created;Source;Answer
T-1;ann@customer.test;Ann;"Where is order A1, please?";2026-03-05;Email;It left yesterday.
T-2;not-an-email;Bob;Hello;2026-03-05;Chat;
T-3;cat@customer.test;Cat;"Can I pay by invoice?";2026-03-06;Web form;
"""

MBOX = """From rita@customer.test Mon Mar  9 10:00:00 2026
From: Rita Refund <rita@customer.test>
To: help@shop.test
Subject: Damaged jacket
Message-ID: <m1@customer.test>
Date: Mon, 09 Mar 2026 10:00:00 +0000

My jacket arrived torn. Can you replace it?

From help@shop.test Mon Mar  9 11:00:00 2026
From: Shop Help <help@shop.test>
To: rita@customer.test
Subject: Re: Damaged jacket
Message-ID: <m2@shop.test>
In-Reply-To: <m1@customer.test>
References: <m1@customer.test>
Date: Mon, 09 Mar 2026 11:00:00 +0000

Sorry! A new one is on its way.

From sam@customer.test Tue Mar 10 09:00:00 2026
From: Sam <sam@customer.test>
Subject: Opening hours
Message-ID: <m3@customer.test>
Date: Tue, 10 Mar 2026 09:00:00 +0000

When are you open on Sunday?

From nobody Tue Mar 10 09:30:00 2026
Subject: no sender
Message-ID: <m4@x.test>

Who sent this?
"""


def write(folder: Path, name: str, content: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path
