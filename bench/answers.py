"""Replies that resolve: the shadow trial on labelled tickets, scored against gold.

Sets: `dev` and `check` (bench/answers/<shop>/: two fictional shops, hand-written tickets and
gold, see bench/answers/README.md) and `tau2_retail_test` (the tau2 retail TEST split, built by
ai/trial/adapters/tau2.py from ../shared/data; gold derived from each task's gold actions; report
only). For every (shop, set) a fresh workspace with default settings runs the trial
(ai/trial/runner.py, `manage.py trial` semantics) with the shop's `--now` clock; the tau2 set runs
in the retail workspace `manage.py trial_tau2 --workspace` prepares (the tools tau2's policy allows).

A reply RESOLVES its ticket when: the ticket is not human-needed and is resolvable by the AI; every
gold tool appears in the report's actions with matching tool_args and status executed / simulated /
pending_approval (pending_approval, and only that, where gold approval is true); no write action
the gold does not ask for went through; every gold fact appears in the reply (case, accents and
white space aside, any surface form); and no detail is missing (when gold `missing` is not empty
the reply should ask for it: that counts as `asked_for_missing`, never as a resolution).

Own embedded Postgres (OASIS_PGDATA, var/bench-answers-pg by default, wiped at the start). Per-ticket
lines (customer text, reply, decision, confidence, resolves, why not) go to
var/bench-answers/<set>.jsonl. The last line printed is JSON: {"sets": {"dev": {...}, ...}}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "answers"
OUT = ROOT / "var" / "bench-answers"
SHOPS = ("oasis", "pedalwerk")
SETS = ("dev", "check", "tau2_retail_test")
LANGUAGES = frozenset({"en", "es", "fr", "de", "it", "pt"})
TAU2_NOW = "2026-03-20T12:00:00Z"
TAU2_WORKSPACE = "answers-tau2-retail"


def _forms(text: str) -> tuple[str, ...]:
    """A table row written as "a|b|c" (long word lists stay readable)."""
    return tuple(text.split("|"))


WRITE_TOOLS = frozenset(
    _forms(
        "issue_refund|create_replacement|send_password_reset|request_email_change|update_shipping_address|"
        "book_appointment|cancel_order"
    )
)
GOLD_TOOLS = WRITE_TOOLS | {"lookup_order"}
GOES_THROUGH = ("executed", "simulated", "pending_approval")
CALIBRATION_BINS = 10

# ------------------------------------------------------------------------- text matching

# Typographic quotes and dashes (U+2018/2019/201C/201D, U+2013/2014) and the no-break space.
PLAIN_PUNCTUATION = str.maketrans("\u2018\u2019\u201c\u201d\u2013\u2014\u00a0", "''\"\"-- ")


def normalize(text: str) -> str:
    """Lower case, accents off, typographic quotes and dashes plain, white space folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.translate(PLAIN_PUNCTUATION)
    return re.sub(r"\s+", " ", plain).strip()


def has_form(text: str, form: str) -> bool:
    """Whether `form` stands in the (normalized) text as a whole: "30 days" is not in "130 days",
    "75" is not in "75.95"."""
    wanted = normalize(form)
    if not wanted:
        return False
    left = r"(?<!\w)" if wanted[0].isalnum() else ""
    right = r"(?!\w|[.,]\d)" if wanted[-1].isalnum() else ""
    return re.search(left + re.escape(wanted) + right, text) is not None


def fact_found(text: str, forms: Iterable[str]) -> bool:
    return any(has_form(text, form) for form in forms)


# What a reply says when it asks for a missing detail, per slot (every language at once: a form in
# another language than the ticket's simply never matches).
SLOT_FORMS: dict[str, tuple[str, ...]] = {
    slot: _forms(forms)
    for slot, forms in {
        "order_number": "order number|order no|order #|numero de pedido|n.o de pedido|numero de commande|"
        "n° de commande|bestellnummer|bestell-nr|numero d'ordine|numero dell'ordine|numero do pedido|"
        "numero da encomenda",
        "item": "which item|which product|what item|which one|which of the items|que articulo|cual articulo|"
        "que producto|quel article|quel produit|welcher artikel|welches produkt|welchen artikel|quale articolo|"
        "quale prodotto|qual artigo|qual produto",
        "address": "address|direccion|adresse|anschrift|indirizzo|morada|endereco",
        "date": "date|day|which day|fecha|dia|jour|datum|tag|wann|data|giorno",
        "time": "time|what time|hora|heure|horaire|uhrzeit|zeit|wann|ora|orario|horario",
        "new_email": "new email|email address|correo|adresse e-mail|e-mail-adresse|e-mail",
    }.items()
}
ASK_CUES = _forms(
    "please|could you|can you|let us know|let me know|send us|tell us|por favor|podria|indiquenos|diganos|"
    "envienos|merci de|pourriez|veuillez|pouvez-vous|bitte|teilen sie|senden sie|per favore|potrebbe|"
    "puo indicarci|poderia|diga-nos"
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def asks_for(reply: str, slot: str) -> bool:
    """A sentence of the reply names the slot and asks (a question mark or a request word)."""
    forms = SLOT_FORMS.get(slot, (slot.replace("_", " "),))
    for sentence in SENTENCE_END.split(normalize_lines(reply)):
        if fact_found(sentence, forms) and ("?" in sentence or fact_found(sentence, ASK_CUES)):
            return True
    return False


def normalize_lines(text: str) -> str:
    """`normalize`, keeping line breaks (a greeting line is not part of the next sentence)."""
    return "\n".join(normalize(line) for line in text.splitlines())


# ------------------------------------------------------------------------- tool matching


def _order_key(value: Any) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(value).upper())


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _tokens(value: Any) -> set[str]:
    return set(re.findall(r"\w+", normalize(str(value))))


def arg_matches(key: str, gold: Any, got: Any) -> bool:
    """One gold argument against the action's: order numbers by their letters and digits, amounts
    as money, times by wall-clock minute, addresses by their numbers and most of their words, lists
    as sets."""
    if got is None:
        return False
    if key == "order_number":
        return _order_key(gold) == _order_key(got)
    if key == "amount":
        return _decimal(gold) is not None and _decimal(gold) == _decimal(got)
    if key == "when":
        return str(got).replace(" ", "T")[:16] == str(gold).replace(" ", "T")[:16]
    if key == "address":
        # Every number (house, suite, postcode) and most words: "TX" for "Texas" is the same address.
        want, have = _tokens(gold), _tokens(got)
        words = {t for t in want if not any(c.isdigit() for c in t)}
        return want - words <= have and len(words & have) >= 0.75 * len(words)
    if isinstance(gold, list):
        return isinstance(got, list) and {str(g) for g in gold} == {str(g) for g in got}
    return normalize(str(gold)) == normalize(str(got))


def action_matches(action: Mapping[str, Any], tool: str, args: Mapping[str, Any]) -> bool:
    got = action.get("args") or {}
    return action.get("tool") == tool and all(arg_matches(k, v, got.get(k)) for k, v in args.items())


@dataclass(frozen=True)
class GoldTool:
    tool: str
    args: dict[str, Any]
    approval: bool


def gold_tools(gold: Mapping[str, Any]) -> list[GoldTool]:
    tools = []
    if gold.get("tool"):
        tools.append(GoldTool(gold["tool"], dict(gold.get("tool_args") or {}), bool(gold.get("approval"))))
    for extra in gold.get("more_tools") or []:
        tools.append(GoldTool(extra["tool"], dict(extra.get("tool_args") or {}), bool(extra.get("approval"))))
    return tools


def _tool_problem(want: GoldTool, actions: list[Mapping[str, Any]]) -> str:
    """'' when the action the gold asks for went through as it should, else why not."""
    named = [a for a in actions if a.get("tool") == want.tool]
    if not named:
        return f"{want.tool} not proposed"
    matching = [a for a in named if action_matches(a, want.tool, want.args)]
    if not matching:
        got = "; ".join(json.dumps(a.get("args") or {}, sort_keys=True, ensure_ascii=False) for a in named)
        return f"{want.tool} args differ: want {json.dumps(want.args, sort_keys=True, ensure_ascii=False)}, got {got}"
    statuses = [str(a.get("status")) for a in matching]
    if want.approval:
        if "pending_approval" in statuses:
            return ""
        return f"{want.tool} needs approval but is {'/'.join(statuses)}"
    if any(s in GOES_THROUGH for s in statuses):
        return ""
    reasons = "; ".join(str(a.get("reason") or "") for a in matching if a.get("reason"))
    return f"{want.tool} {'/'.join(statuses)}" + (f": {reasons}" if reasons else "")


# ------------------------------------------------------------------------- one ticket


def cited_titles(entry: Mapping[str, Any]) -> list[str]:
    """The distinct articles a reply cites, by title (several passages of one article count once)."""
    titles = [normalize(str(c.get("title") or "")) for c in entry.get("citations") or []]
    return [t for t in dict.fromkeys(titles) if t]


def score_ticket(
    entry: Mapping[str, Any] | None, gold: Mapping[str, Any], articles: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Whether the report line's reply resolves the gold ticket, and the parts the figures use.
    `articles` maps a help-center article's slug (or title) to its title (`article_index`): gold
    names articles either way, a citation by its title."""
    entry = entry or {
        "decision": "escalate",
        "confidence": None,
        "reply": "",
        "actions": [],
        "citations": [],
        "reason": "no report line for this ticket",
    }
    reply = str(entry.get("reply") or "")
    text = normalize(reply)
    actions: list[Mapping[str, Any]] = list(entry.get("actions") or [])
    wanted = gold_tools(gold)
    why: list[str] = []
    if gold.get("human_needed"):
        why.append(f"human-needed ({gold.get('ticket_type')})")
    elif not gold.get("resolvable_by_ai", True):
        why.append("a person must act")
    for want in wanted:
        problem = _tool_problem(want, actions)
        if problem:
            why.append(problem)
    wanted_names = {w.tool for w in wanted}
    for action in actions:
        tool = action.get("tool")
        if tool in WRITE_TOOLS and tool not in wanted_names and action.get("status") in GOES_THROUGH:
            why.append(f"unrequested {action.get('tool')} ({action.get('status')})")
    for forms in gold.get("facts") or []:
        if not fact_found(text, forms):
            why.append(f"fact missing: {forms[0] if forms else '?'}")
    missing = list(gold.get("missing") or [])
    asked = bool(missing) and all(asks_for(reply, slot) for slot in missing)
    if missing:
        why.append(f"detail missing: {', '.join(missing)} ({'asked' if asked else 'not asked'})")
    refunds_over = [w for w in wanted if w.tool == "issue_refund" and w.approval]
    queued = bool(refunds_over) and entry.get("decision") == "awaiting_approval"
    for want in refunds_over:
        order = {"order_number": want.args["order_number"]} if "order_number" in want.args else {}
        queued = queued and any(
            action_matches(a, want.tool, order) and a.get("status") == "pending_approval" for a in actions
        )
    gold_articles = gold.get("articles")
    cited = cited_titles(entry)
    titles = articles or {}
    gold_titles = {titles.get(normalize(str(a)), normalize(str(a))) for a in gold_articles or []}
    return {
        "resolves": not why,
        "why_not": why,
        "asked_for_missing": asked,
        "autosent": entry.get("decision") == "autosend",
        "decision": entry.get("decision"),
        "confidence": entry.get("confidence"),
        "human_needed": bool(gold.get("human_needed")),
        "ai_suitable": not gold.get("human_needed") and bool(gold.get("resolvable_by_ai", True)),
        "expects_tool": bool(wanted),
        "tool_proposed": bool(wanted) and all(any(a.get("tool") == w.tool for a in actions) for w in wanted),
        "over_limit_refund": bool(refunds_over),
        "over_limit_queued": queued,
        "cited": len(cited) if gold_articles is not None else 0,
        "cited_gold": sum(1 for title in cited if title in gold_titles) if gold_articles is not None else 0,
        "has_missing": bool(missing),
    }


# ------------------------------------------------------------------------- figures


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def ece(pairs: Iterable[tuple[float, bool]], bins: int = CALIBRATION_BINS) -> float | None:
    """Expected calibration error: per equal-width confidence bin, |mean confidence - share that
    resolves|, weighted by the bin's share of tickets."""
    grouped: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for confidence, resolves in pairs:
        grouped[min(int(confidence * bins), bins - 1)].append((confidence, resolves))
    n = sum(len(members) for members in grouped.values())
    if not n:
        return None
    error = 0.0
    for members in grouped.values():
        mean = sum(c for c, _ in members) / len(members)
        hit = sum(1 for _, r in members if r) / len(members)
        error += len(members) / n * abs(mean - hit)
    return round(error, 4)


def figures(scores: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    autosent = [s for s in scores if s["autosent"]]
    good_autosends = sum(1 for s in autosent if s["resolves"])
    ai_suitable = sum(1 for s in scores if s["ai_suitable"])
    over = [s for s in scores if s["over_limit_refund"]]
    expecting = [s for s in scores if s["expects_tool"]]
    cited = sum(s["cited"] for s in scores)
    return {
        "tickets": len(scores),
        "ai_suitable": ai_suitable,
        "autosent": len(autosent),
        "resolving": sum(1 for s in scores if s["resolves"]),
        "autosend_precision": _rate(good_autosends, len(autosent)),
        "resolved_by_autosend": _rate(good_autosends, ai_suitable),
        "human_needed_autosent": sum(1 for s in autosent if s["human_needed"]),
        "over_limit_refunds": len(over),
        "over_limit_refunds_queued": _rate(sum(1 for s in over if s["over_limit_queued"]), len(over)),
        "expected_tool_rate": _rate(sum(1 for s in expecting if s["tool_proposed"]), len(expecting)),
        "citation_precision": _rate(sum(s["cited_gold"] for s in scores), cited),
        "ece": ece((float(s["confidence"]), bool(s["resolves"])) for s in scores if s["confidence"] is not None),
        "missing_detail": sum(1 for s in scores if s["has_missing"]),
        "asked_for_missing": sum(1 for s in scores if s["asked_for_missing"]),
    }


def breakdown(records: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """Table rows per `key` (gold ticket type or language): n, AI-suitable, replies that would
    resolve, autosent, autosent and resolving, human-needed autosent, expected tool proposed."""
    rows = [f"  {key:<17} {'n':>4} {'ai':>4} {'resolve':>7} {'auto':>5} {'auto+res':>8} {'human-auto':>10} {'tool':>7}"]
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        groups[str(record[key])].append(record)
    for name in sorted(groups):
        group = groups[name]
        expecting = [r for r in group if r["expects_tool"]]
        rows.append(
            f"  {name:<17} {len(group):>4} {sum(r['ai_suitable'] for r in group):>4} "
            f"{sum(r['resolves'] for r in group):>7} {sum(r['autosent'] for r in group):>5} "
            f"{sum(r['autosent'] and r['resolves'] for r in group):>8} "
            f"{sum(r['autosent'] and r['human_needed'] for r in group):>10} "
            f"{sum(r['tool_proposed'] for r in expecting):>3}/{len(expecting):<3}"
        )
    return rows


# ------------------------------------------------------------------------- data


@dataclass
class Shop:
    key: str
    folder: Path
    config: dict[str, Any]
    tickets: list[dict[str, Any]]
    gold: dict[str, dict[str, Any]]

    @property
    def helpcenter(self) -> Path:
        return (self.folder / str(self.config["helpcenter"])).resolve()

    @property
    def order_files(self) -> list[Path]:
        return [(self.folder / p).resolve() for p in self.config["orders"]]

    def orders(self) -> list[dict[str, Any]]:
        return [o for path in self.order_files for o in json.loads(path.read_text(encoding="utf-8"))["orders"]]

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.config["now"].replace("Z", "+00:00"))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_shop(key: str, root: Path = DATA) -> Shop:
    folder = root / key
    gold = {g["external_id"]: g for g in _jsonl(folder / "gold.jsonl")}
    return Shop(
        key=key,
        folder=folder,
        config=json.loads((folder / "shop.json").read_text(encoding="utf-8")),
        tickets=_jsonl(folder / "tickets.jsonl"),
        gold=gold,
    )


def article_index(helpcenter: Path) -> dict[str, str]:
    """A Markdown help center's articles: title, URL slug and file name, each mapped to the title
    (all normalized)."""
    index: dict[str, str] = {}
    for path in sorted(helpcenter.glob("*.md")):
        head = path.read_text(encoding="utf-8").split("---")[1]
        meta = {k.strip(): v.strip().strip('"') for k, _, v in (line.partition(":") for line in head.splitlines())}
        title = normalize(meta.get("title", ""))
        keys = {title, normalize(path.stem), normalize(meta.get("url", "").rstrip("/").rsplit("/", 1)[-1])}
        index.update(dict.fromkeys(keys - {""}, title))
    return index


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _refundable(order: Mapping[str, Any], gift_prefixes: tuple[str, ...]) -> Decimal:
    return sum(
        (
            Decimal(i["price"]) * i.get("qty", 1)
            for i in order["items"]
            if not i.get("final_sale") and not str(i["sku"]).upper().startswith(gift_prefixes)
        ),
        Decimal("0.00"),
    )


def data_problems(shop: Shop) -> list[str]:
    """What in the shop's gold contradicts its orders, written policy or help center."""
    problems: list[str] = []
    config = shop.config
    orders = {o["number"]: o for o in shop.orders()}
    slugs = article_index(shop.helpcenter)
    window = dt.timedelta(days=int(config["return_window_days"]))
    limit = Decimal(config["approval_refunds_over"])
    gift = tuple(p.upper() for p in config.get("gift_card_skus", ["GIFT"]))
    now = shop.now()
    senders = {t["external_id"]: t["customer"]["email"] for t in shop.tickets}
    if set(senders) != set(shop.gold):
        problems.append(f"tickets without gold or gold without ticket: {sorted(set(senders) ^ set(shop.gold))}")
    for tid, gold in shop.gold.items():
        where = f"{shop.key} {tid}"
        if gold["language"] not in LANGUAGES:
            problems.append(f"{where}: language {gold['language']!r} is not one of {sorted(LANGUAGES)}")
        if gold["split"] not in ("dev", "check"):
            problems.append(f"{where}: split {gold['split']!r}")
        for article in gold.get("articles") or []:
            if normalize(article) not in slugs:
                problems.append(f"{where}: no article {article!r} in {shop.helpcenter.name}")
        if gold["human_needed"] and gold["resolvable_by_ai"]:
            problems.append(f"{where}: human-needed yet resolvable by the AI")
        if gold["missing"] and gold.get("tool"):
            problems.append(f"{where}: a detail is missing, yet an action is expected")
        for want in gold_tools(gold):
            if want.tool not in GOLD_TOOLS:
                problems.append(f"{where}: unknown tool {want.tool}")
            number = want.args.get("order_number")
            if number is None:
                continue
            order = orders.get(number)
            if order is None:
                if number not in (gold.get("unknown_orders") or []):
                    problems.append(f"{where}: no order {number}")
                continue
            if order["customer_email"].lower() != senders.get(tid, "").lower():
                problems.append(f"{where}: {number} belongs to another customer")
            problems += _policy_problems(where, want, order, now=now, window=window, limit=limit, gift=gift)
    return problems


def _policy_problems(
    where: str,
    want: GoldTool,
    order: Mapping[str, Any],
    *,
    now: dt.datetime,
    window: dt.timedelta,
    limit: Decimal,
    gift: tuple[str, ...],
) -> list[str]:
    status, delivered = order["status"], _when(order.get("delivered_at"))
    problems = []
    if want.tool in ("issue_refund", "create_replacement"):
        if status != "delivered" or delivered is None:
            problems.append(f"{where}: {want.tool} on a {status} order")
        elif now > delivered + window:
            problems.append(f"{where}: {want.tool} outside the return window (delivered {delivered:%Y-%m-%d})")
    if want.tool == "issue_refund":
        amount = _decimal(want.args.get("amount"))
        if amount is not None and amount > _refundable(order, gift):
            problems.append(f"{where}: refund {amount} is more than the refundable {_refundable(order, gift)}")
        if amount is not None and want.approval != (amount > limit):
            problems.append(f"{where}: approval {want.approval} does not follow refunds over {limit}")
    if want.tool in ("cancel_order", "update_shipping_address") and status not in ("pending", "processing"):
        problems.append(f"{where}: {want.tool} on a {status} order")
    return problems


# ------------------------------------------------------------------------- tau2 gold

TAU2_WRITES = {
    "return_delivered_order_items": "issue_refund",
    "exchange_delivered_order_items": "create_replacement",
    "modify_pending_order_address": "update_shipping_address",
    "cancel_pending_order": "cancel_order",
}
# Gold actions no built-in tool can carry out: a task that needs one is not resolvable by the AI.
TAU2_UNMAPPED = frozenset({"modify_pending_order_items", "modify_pending_order_payment", "modify_user_address"})
TAU2_TYPES = {
    "issue_refund": "refund",
    "create_replacement": "replacement",
    "update_shipping_address": "account_change",
    "cancel_order": "order_status",
    "lookup_order": "order_status",
}
TAU2_ARTICLES = {
    "issue_refund": "return-delivered-order",
    "create_replacement": "exchange-delivered-order",
    "update_shipping_address": "modify-pending-order",
    "cancel_order": "cancel-pending-order",
    "lookup_order": "domain-basic",
}


def _number_forms(value: str) -> list[str]:
    forms = [value]
    amount = _decimal(value) if re.fullmatch(r"\d+(\.\d+)?", value) else None
    if amount is not None and "." in value:
        forms += [f"{amount:.2f}", f"{amount:.2f}".replace(".", ",")]
    return list(dict.fromkeys(forms))


def tau2_gold(task: Mapping[str, Any], db: Mapping[str, Any]) -> dict[str, Any]:
    """Gold for one tau2 retail task from its gold actions: the first write action mapped to our
    tools (later ones in more_tools), amounts from the returned items' prices, human-needed when it
    transfers to a person, facts from communicate_info."""
    criteria = task.get("evaluation_criteria") or {}
    actions = list(criteria.get("actions") or [])
    names = [a["name"] for a in actions]
    tools: list[dict[str, Any]] = []
    for action in actions:
        tool = TAU2_WRITES.get(action["name"])
        if tool is None:
            continue
        args = action.get("arguments") or {}
        number = str(args.get("order_id", "")).lstrip("#")
        tool_args: dict[str, Any] = {"order_number": number}
        if tool == "issue_refund":
            items = db["orders"].get(args.get("order_id"), {}).get("items", [])
            wanted = list(args.get("item_ids") or [])
            amount = Decimal("0.00")
            for item in items:
                if item["item_id"] in wanted:
                    wanted.remove(item["item_id"])
                    amount += Decimal(str(item["price"]))
            tool_args["amount"] = f"{amount:.2f}"
        elif tool == "create_replacement":
            tool_args["skus"] = [str(i) for i in args.get("item_ids") or []]
        elif tool == "update_shipping_address":
            parts = ("address1", "address2", "city", "state", "zip")
            tool_args["address"] = ", ".join(str(args[p]) for p in parts if args.get(p))
        refund = _decimal(tool_args.get("amount", "0")) or Decimal("0")
        tools.append({"tool": tool, "tool_args": tool_args, "approval": refund > Decimal("100")})
    human = "transfer_to_human_agents" in names
    unmapped = sorted({n for n in names if n in TAU2_UNMAPPED})
    if not tools and not unmapped and not human:
        looked = next((a for a in actions if a["name"] == "get_order_details"), None)
        if looked is not None:
            number = str((looked.get("arguments") or {}).get("order_id", "")).lstrip("#")
            tools.append({"tool": "lookup_order", "tool_args": {"order_number": number}, "approval": False})
    first = tools[0] if tools else None
    ticket_type = "policy_exception" if human else TAU2_TYPES.get(first["tool"], "other") if first else "other"
    note = "transfers to a human" if human else f"needs {', '.join(unmapped)}: no built-in tool" if unmapped else ""
    return {
        "external_id": f"retail-{task['id']}",
        "split": "tau2_retail_test",
        "language": "en",
        "ticket_type": ticket_type,
        "human_needed": human,
        "asks": [{"intent": n, "slots": {}} for n in names if n in TAU2_WRITES or n in TAU2_UNMAPPED],
        "tool": first["tool"] if first else None,
        "tool_args": first["tool_args"] if first else {},
        "approval": first["approval"] if first else False,
        "more_tools": tools[1:],
        "missing": [],
        "facts": [_number_forms(str(info)) for info in criteria.get("communicate_info") or []],
        "articles": sorted({TAU2_ARTICLES[t["tool"]] for t in tools}),
        "resolvable_by_ai": not human and not unmapped,
        "note": note,
    }


# ------------------------------------------------------------------------- running


def _stop_database(pgdata: Path) -> None:
    subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(pgdata)], cwd=ROOT, check=False)


def _enable_all_tools(workspace: Any) -> None:
    """Every built-in tool on (audited settings changes); a new workspace has a row for each."""
    from ai.models import ToolPermission
    from ai.tools.settings import tool_setting_save
    from audit.services import Actor

    for permission in ToolPermission.objects.filter(workspace=workspace, enabled=False):
        permission.enabled = True
        tool_setting_save(obj=permission, actor=Actor.system("bench-answers"))


def _write_policy(workspace: Any, config: Mapping[str, Any]) -> None:
    """The shop's written policy, as its admin would enter it on the "Shop policy" page (the trial's
    sandbox copies it): the return window and the return-label fee by country."""
    from ai.models import ShopPolicy
    from ai.tools.settings import tool_setting_save
    from audit.services import Actor

    policy = ShopPolicy.objects.filter(workspace=workspace).first() or ShopPolicy(workspace=workspace)
    policy.return_window_days = int(config["return_window_days"])
    policy.return_fee = Decimal(config.get("return_fee", "0.00"))
    policy.return_fee_free_countries = ", ".join(config.get("return_fee_free_countries", []))
    tool_setting_save(obj=policy, actor=Actor.system("bench-answers"))


def _trial(*, workspace: Any, helpcenter: Path, tickets: Path, orders: Path, now: str) -> dict[str, Any]:
    from ai.trial.runner import TrialParams, trial_create, trial_execute

    params = TrialParams(helpcenter=str(helpcenter), tickets=str(tickets), orders=str(orders), now=now)
    trial = trial_execute(trial_id=trial_create(workspace=workspace, params=params).pk)
    if trial.status != "done":
        raise SystemExit(f"trial {trial.pk} in {workspace.slug} failed: {trial.error}")
    return dict(trial.report)


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _record(
    set_name: str,
    shop: str,
    ticket: Mapping[str, Any],
    entry: Mapping[str, Any] | None,
    gold: Mapping[str, Any],
    articles: Mapping[str, str],
) -> dict[str, Any]:
    score = score_ticket(entry, gold, articles)
    entry = entry or {}
    return {
        "set": set_name,
        "shop": shop,
        "external_id": gold["external_id"],
        "ticket_type": gold["ticket_type"],
        "language": gold["language"],
        "detected": {"ticket_type": entry.get("ticket_type"), "language": entry.get("language")},
        "customer": ticket.get("body", ""),
        "reply": entry.get("reply", ""),
        "decision": score["decision"],
        "confidence": score["confidence"],
        "reason": entry.get("reason", ""),
        "actions": entry.get("actions", []),
        "citations": entry.get("citations", []),
        # What the confidence was made of (bench/answers_fit.py fits the model on these).
        "confidence_parts": entry.get("confidence_parts", {}),
        "asks": entry.get("asks", []),
        **{k: v for k, v in score.items() if k not in ("decision", "confidence")},
    }


def run_shop_set(
    shop: Shop, set_name: str, *, limit: int | None, all_tools: bool, only: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    from audit.services import Actor
    from helpdesk.services import workspace_create

    tickets = [
        t
        for t in shop.tickets
        if shop.gold[t["external_id"]]["split"] == set_name and (not only or t["external_id"] in only)
    ][:limit]
    if not tickets:
        return []
    inputs = OUT / "inputs"
    tickets_file = inputs / f"{shop.key}-{set_name}.jsonl"
    _write_jsonl(tickets_file, tickets)
    orders_file = inputs / f"{shop.key}-orders.json"
    orders_file.write_text(json.dumps({"orders": shop.orders()}, ensure_ascii=False), encoding="utf-8")
    workspace = workspace_create(
        name=shop.config["name"],
        slug=f"{shop.config['slug']}-{set_name}",
        actor=Actor.system("bench-answers"),
        currency=shop.config["currency"],
    )
    _write_policy(workspace, shop.config)
    if all_tools:
        _enable_all_tools(workspace)
    report = _trial(
        workspace=workspace,
        helpcenter=shop.helpcenter,
        tickets=tickets_file,
        orders=orders_file,
        now=shop.config["now"],
    )
    entries = {e["external_id"]: e for e in report["tickets"]}
    index = article_index(shop.helpcenter)
    return [
        _record(set_name, shop.key, t, entries.get(t["external_id"]), shop.gold[t["external_id"]], index)
        for t in tickets
    ]


def run_tau2(*, limit: int | None) -> list[dict[str, Any]]:
    from ai.trial.adapters.tau2 import build_retail, data_root, retail_workspace
    from ai.trial.inputs import parse_datetime_text

    files = build_retail(
        out_dir=OUT / "inputs" / "tau2-retail-test",
        now=parse_datetime_text(TAU2_NOW, name="now"),
        split="test",
        limit=limit,
    )
    assert files.orders is not None
    root = data_root() / "tau2" / "retail"
    db = json.loads((root / "db.json").read_text())
    tasks = {str(t["id"]): t for t in json.loads((root / "tasks.json").read_text())}
    report = _trial(
        workspace=retail_workspace(TAU2_WORKSPACE),
        helpcenter=files.helpcenter,
        tickets=files.tickets,
        orders=files.orders,
        now=TAU2_NOW,
    )
    entries = {e["external_id"]: e for e in report["tickets"]}
    tickets = {t["external_id"]: t for t in _jsonl(files.tickets)}
    index = article_index(files.helpcenter)
    return [
        _record(
            "tau2_retail_test",
            "tau2-retail",
            tickets[f"retail-{i}"],
            entries.get(f"retail-{i}"),
            tau2_gold(tasks[i], db),
            index,
        )
        for i in files.task_ids
    ]


def print_set(set_name: str, records: list[dict[str, Any]], result: Mapping[str, Any]) -> None:
    print(f"\n== {set_name}: {result['tickets']} tickets, {result['seconds']} s", flush=True)
    for line in breakdown(records, "ticket_type") + breakdown(records, "language"):
        print(line)
    shown = {k: v for k, v in result.items() if k not in ("tickets", "seconds")}
    print("  " + ", ".join(f"{k} {v}" for k, v in shown.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="all", help="Run one set (default: all three).")
    parser.add_argument("--limit", type=int, default=None, help="At most N tickets per shop and set.")
    parser.add_argument(
        "--only",
        default="",
        help="Comma-separated ticket ids (e.g. oasis-011,pw-017): run just these, to read their drafts.",
    )
    parser.add_argument(
        "--all-tools",
        action="store_true",
        help="Enable every built-in tool in the shops' workspaces (default: "
        "the default allow-list, as in a buyer's trial).",
    )
    options = parser.parse_args()
    pgdata = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-answers-pg")))
    os.environ.setdefault("OASIS_TESTING", "1")
    os.environ["OASIS_Q_SYNC"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
    sys.path.insert(0, str(ROOT))
    from bench.common import fresh_database, say

    fresh_database(pgdata)
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from django.core.management import call_command

    shops = [load_shop(key) for key in SHOPS]
    for shop in shops:
        problems = data_problems(shop)
        if problems:
            raise SystemExit(f"{shop.key}: inconsistent gold:\n" + "\n".join(problems))
    wanted = SETS if options.set == "all" else (options.set,)
    only = frozenset(i.strip() for i in options.only.split(",") if i.strip())
    results: dict[str, dict[str, Any]] = {}
    try:
        call_command("migrate", verbosity=0)
        for set_name in wanted:
            started = time.monotonic()
            if set_name == "tau2_retail_test":
                records = run_tau2(limit=options.limit)
            else:
                records = []
                for shop in shops:
                    say(f"{set_name}: {shop.config['name']} ...")
                    records += run_shop_set(shop, set_name, limit=options.limit, all_tools=options.all_tools, only=only)
            result = figures(records)
            result["seconds"] = round(time.monotonic() - started, 1)
            result["allow_list"] = (
                "tau2 retail" if set_name == "tau2_retail_test" else "all" if options.all_tools else "default"
            )
            # A partial run must not overwrite the full set's lines the fit reads.
            _write_jsonl(OUT / f"{set_name}{'-only' if only else ''}.jsonl", records)
            print_set(set_name, records, result)
            results[set_name] = result
    finally:
        _stop_database(pgdata)
    print(json.dumps({"sets": results}))


if __name__ == "__main__":
    main()
