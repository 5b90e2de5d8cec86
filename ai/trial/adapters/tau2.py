"""Trial inputs from the public tau2-bench data (read from ../shared/data, never copied in).

retail: policy.md split along its "## " headings into help-center Markdown articles (front
matter title/url); db.json orders in the DESIGN.md orders format (tau2 has no dates: placed,
shipped and delivered dates are made up deterministically from the order id, relative to
--now, delivered orders within the 30-day window as tau2's policy lets them be returned);
tasks as tickets: reason_for_call + known_info, turned from "you" into the customer's "I",
sent from the email of the db.json user the customer identifies in what they know (an email, or
name + zip code, as tau2's policy authenticates), never from the gold actions.
banking_knowledge: documents as help-center articles, tasks' instructions as tickets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.text import slugify

RETAIL_URL = "https://retail.tau2.example/help/"
BANK_URL = "https://bank.tau2.example/help/"
STATUS = {"pending": "pending", "processed": "shipped", "delivered": "delivered", "cancelled": "cancelled"}


def data_root() -> Path:
    return Path(settings.BASE_DIR).parent / "shared" / "data"


@dataclass(frozen=True)
class TrialFiles:
    helpcenter: Path
    tickets: Path
    orders: Path | None
    task_ids: list[str]


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- retail


def policy_articles(policy: str) -> list[tuple[str, str]]:
    """(title, markdown body) per "## " section; the text before the first one is the overview."""
    articles: list[tuple[str, str]] = []
    title, lines = "Retail policy overview", list[str]()
    for line in policy.splitlines():
        if line.startswith("## "):
            if any(x.strip() for x in lines):
                articles.append((title, "\n".join(lines).strip()))
            title, lines = line[3:].strip(), []
        elif line.startswith("# ") and not articles and not lines:
            continue
        else:
            lines.append(line)
    if any(x.strip() for x in lines):
        articles.append((title, "\n".join(lines).strip()))
    return articles


def write_articles(articles: list[tuple[str, str]], folder: Path, base_url: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    for i, (title, body) in enumerate(articles, start=1):
        slug = slugify(title)[:60] or f"article-{i}"
        safe_title = title.replace('"', "'")
        (folder / f"{i:03d}-{slug}.md").write_text(
            f'---\ntitle: "{safe_title}"\nurl: {base_url}{slug}\n---\n{body}\n', encoding="utf-8"
        )


def order_dates(order_id: str, status: str, now: dt.datetime) -> dict[str, str | None]:
    h = _h(order_id)
    if status == "delivered":
        delivered = now - dt.timedelta(days=1 + h % 20, hours=h % 12)
        shipped = delivered - dt.timedelta(days=2 + h % 3)
        placed = shipped - dt.timedelta(days=1)
        return {"placed_at": _iso(placed), "shipped_at": _iso(shipped), "delivered_at": _iso(delivered)}
    if status == "processed":
        shipped = now - dt.timedelta(days=1 + h % 3)
        return {"placed_at": _iso(shipped - dt.timedelta(days=1)), "shipped_at": _iso(shipped), "delivered_at": None}
    if status == "cancelled":
        return {"placed_at": _iso(now - dt.timedelta(days=5 + h % 30)), "shipped_at": None, "delivered_at": None}
    return {"placed_at": _iso(now - dt.timedelta(hours=2 + h % 60)), "shipped_at": None, "delivered_at": None}


def retail_order(order: dict[str, Any], users: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    items = [
        {
            "sku": str(item["item_id"]),
            "name": str(item["name"]),
            "size": str((item.get("options") or {}).get("size", ""))[:32],
            "qty": 1,
            "price": f"{Decimal(str(item['price'])):.2f}",
            "final_sale": False,
        }
        for item in order.get("items", [])
    ]
    tracking = next((t for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])), "")
    address = order.get("address") or {}
    return {
        "number": order["order_id"].lstrip("#"),
        "customer_email": users[order["user_id"]]["email"],
        "status": STATUS.get(order["status"], "pending"),
        **order_dates(order["order_id"], order["status"], now),
        "carrier": "UPS" if tracking else "",
        "tracking_number": str(tracking),
        "currency": "USD",
        "total": str(sum((Decimal(str(i["price"])) for i in items), Decimal("0.00"))),
        "shipping_address": ", ".join(
            str(address.get(k, ""))
            for k in ("address1", "address2", "city", "state", "zip", "country")
            if address.get(k)
        ),
        "items": items,
    }


_SWAPS = [
    (r"\byou name\b", "my name"),  # a typo in many tau2 tasks ("You name is ...")
    (r"\byou are\b", "I am"),
    (r"\byou were\b", "I was"),
    (r"\byou've\b", "I've"),
    (r"\byou'd\b", "I'd"),
    (r"\byou'll\b", "I'll"),
    (r"\byou're\b", "I'm"),
    (r"\byourself\b", "myself"),
    (r"\byours\b", "mine"),
    (r"\byour\b", "my"),
]
# "you" before a verb or an adverb is the subject ("the laptop you just bought" -> "I just bought").
_YOU_VERB = re.compile(
    r"\byou(?=\s+(?:have|had|has|was|will|would|can|could|should|may|might|must|do|does|did|don't|didn't|"
    r"cannot|can't|just|also|only|still|recently|already|now|then|really|want|wanted|need|needed|ordered|"
    r"bought|received|placed|made|got|think|know|remember|forgot|prefer|like|live|lived|moved|paid|used|own|"
    r"go|went|become|change|decide|say|mention|ask|agree|insist|realize|wonder|purchased)\b)",
    re.I,
)
_SUBJECT_YOU = re.compile(
    r"(^|[.!?;:]\s+|\b(?:and|but|if|that|when|because|so|as|since|unless|though)\s+|,\s+)you\b", re.I
)


def _keep_case(repl: str) -> Callable[[re.Match[str]], str]:
    def swap(match: re.Match[str]) -> str:
        return repl if match.group(0)[0].islower() or repl[0] == "I" else repl.capitalize()

    return swap


def first_person(text: str) -> str:
    """tau2 instructions speak to the simulated user ("You received your order"): the customer
    writes "I received my order"."""
    for pattern, repl in _SWAPS:
        text = re.sub(pattern, _keep_case(repl), text, flags=re.I)
    text = _SUBJECT_YOU.sub(lambda m: f"{m.group(1)}I", text)
    text = _YOU_VERB.sub("I", text)
    text = re.sub(r"\byou\b", "me", text, flags=re.I)
    return re.sub(r"(^|[.!?]\s+)my\b", lambda m: f"{m.group(1)}My", text)


ZIP_RE = re.compile(r"\b\d{5}\b")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _mentions(text: str, word: str) -> bool:
    return bool(word) and re.search(rf"(?<![\w.]){re.escape(word)}(?![\w@])", text, re.I) is not None


def known_user(task: dict[str, Any], db: dict[str, Any]) -> str | None:
    """Who wrote, from what the customer knows and would write (tau2's policy authenticates a
    customer by email, or by name + zip code): an email of theirs, else a zip code and their
    first and last name (or their user id, which spells both). Never from the gold actions: a real
    ticket carries only what the customer typed. None when nothing identifies one user."""
    instructions = task["user_scenario"]["instructions"]
    known = str(instructions.get("known_info") or "")
    said = f"{known}\n{instructions.get('reason_for_call') or ''}"
    users = db["users"]
    by_email = {str(u["email"]).lower(): uid for uid, u in users.items()}
    for text in (known, said):
        for email in EMAIL_RE.findall(text):
            if email.lower().rstrip(".") in by_email:
                return str(by_email[email.lower().rstrip(".")])
    for text in (known, said):
        zips = set(ZIP_RE.findall(text))
        found = [
            str(uid)
            for uid, u in users.items()
            if str(u["address"].get("zip")) in zips
            and (
                _mentions(text, str(uid))
                or (_mentions(text, u["name"]["first_name"]) and _mentions(text, u["name"]["last_name"]))
            )
        ]
        if len(found) == 1:
            return found[0]
    return None


def retail_ticket(task: dict[str, Any], db: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    instructions = task["user_scenario"]["instructions"]
    body = "\n\n".join(
        first_person(str(instructions.get(k) or "").strip())
        for k in ("reason_for_call", "known_info")
        if instructions.get(k)
    )
    user_id = known_user(task, db)
    user = db["users"].get(user_id) if user_id else None
    email = user["email"] if user else f"task-{task['id']}@customer.example"
    name = f"{user['name']['first_name']} {user['name']['last_name']}" if user else ""
    created = now - dt.timedelta(hours=1 + _h(str(task["id"])) % 24 * 7)
    return {
        "external_id": f"retail-{task['id']}",
        "channel": "email",
        "subject": "",
        "body": body,
        "customer": {"email": email, "name": name},
        "created_at": _iso(created),
    }


def build_retail(*, out_dir: Path, now: dt.datetime, split: str | None = None, limit: int | None = None) -> TrialFiles:
    root = data_root() / "tau2" / "retail"
    db = json.loads((root / "db.json").read_text())
    tasks = json.loads((root / "tasks.json").read_text())
    if split:
        wanted = set(json.loads((root / "split_tasks.json").read_text())[split])
        tasks = [t for t in tasks if str(t["id"]) in wanted]
    if limit:
        tasks = tasks[:limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_articles(policy_articles((root / "policy.md").read_text()), out_dir / "helpcenter", RETAIL_URL)
    tickets = [retail_ticket(t, db, now) for t in tasks]
    (out_dir / "tickets.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tickets))
    emails = {t["customer"]["email"] for t in tickets}
    orders = [
        retail_order(o, db["users"], now) for o in db["orders"].values() if db["users"][o["user_id"]]["email"] in emails
    ]
    (out_dir / "orders.json").write_text(json.dumps({"orders": orders}, indent=1))
    return TrialFiles(
        out_dir / "helpcenter", out_dir / "tickets.jsonl", out_dir / "orders.json", [str(t["id"]) for t in tasks]
    )


# -------------------------------------------------------------------- banking_knowledge

_ROLEPLAY = re.compile(
    r"[^.\n]*(playing the role|on the line with|never respond as|only provide additional details|"
    r"don't dump|customer service representative agent|you have access to a tool)[^.\n]*\.?",
    re.I,
)


def build_banking(*, out_dir: Path, now: dt.datetime, limit: int | None = None) -> TrialFiles:
    root = data_root() / "tau2" / "banking_knowledge"
    docs = sorted((root / "documents").glob("*.json"))
    articles = []
    for path in docs:
        doc = json.loads(path.read_text())
        articles.append((str(doc.get("title") or path.stem), str(doc.get("content") or "")))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_articles([a for a in articles if a[1].strip()], out_dir / "helpcenter", BANK_URL)
    tasks = json.loads((root / "tasks.json").read_text())
    if limit:
        tasks = tasks[:limit]
    tickets = []
    for task in tasks:
        instructions = task["user_scenario"]["instructions"]
        text = instructions if isinstance(instructions, str) else json.dumps(instructions)
        body = first_person(re.sub(r"\n{3,}", "\n\n", _ROLEPLAY.sub("", text)).strip())
        tickets.append(
            {
                "external_id": f"bank-{task['id']}",
                "channel": "email",
                "subject": "",
                "body": body[:8000],
                "customer": {"email": f"{slugify(str(task['id']))}@bank-customer.example", "name": ""},
                "created_at": _iso(now - dt.timedelta(hours=1 + _h(str(task["id"])) % 24 * 7)),
            }
        )
    (out_dir / "tickets.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tickets))
    return TrialFiles(out_dir / "helpcenter", out_dir / "tickets.jsonl", None, [str(t["id"]) for t in tasks])


RETAIL_TOOLS = (
    "lookup_order",
    "issue_refund",
    "create_replacement",
    "update_shipping_address",
    "cancel_order",
    "escalate_to_human",
)


def retail_workspace(slug: str) -> Any:
    """The workspace a tau2 retail trial runs in: the retail policy lets the agent look up,
    return, exchange, change addresses and cancel pending orders, so those tools are on
    (audited settings changes).
    The default approval rule (refunds over 100.00) stays; the mode stays Copilot."""
    from ai.models import ToolPermission
    from ai.tools.settings import tool_setting_save
    from audit.services import Actor
    from helpdesk.models import Workspace
    from helpdesk.services import workspace_create

    actor = Actor.system("trial-tau2")
    workspace = Workspace.objects.filter(slug=slug).first() or workspace_create(
        name=f"tau2 {slug}", slug=slug, actor=actor
    )
    for tool in RETAIL_TOOLS:
        # A workspace made before a tool existed has no row for it yet (deny by default).
        permission = ToolPermission.objects.filter(workspace=workspace, tool=tool).first() or ToolPermission(
            workspace=workspace, tool=tool, enabled=False
        )
        if not permission.enabled:
            permission.enabled = True
            tool_setting_save(obj=permission, actor=actor)
    return workspace
