"""The local provider's drafts: per-type templates around quoted passages and tool facts.

Nothing in a local draft is invented: greetings, openers and closings carry no facts, the
body quotes help-center sentences (cited [n]) and states tool results field by field.
Greetings and openers follow the customer's language; quoted sentences stay in the
article's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ai.agent.grounding import embed, split_sentences
from ai.providers.chat_base import ChatDraft, ChatRequest

GREETINGS = {
    "en": ("Hi {name},", "Hello,"),
    "es": ("Hola {name}:", "Hola:"),
    "fr": ("Bonjour {name},", "Bonjour,"),
    "de": ("Hallo {name},", "Hallo,"),
    "it": ("Ciao {name},", "Ciao,"),
    "pt": ("Olá {name},", "Olá,"),
    "nl": ("Hallo {name},", "Hallo,"),
}
CLOSINGS = {
    "en": "Best regards,\n{team}",
    "es": "Un saludo,\n{team}",
    "fr": "Cordialement,\n{team}",
    "de": "Viele Grüße,\n{team}",
    "it": "Cordiali saluti,\n{team}",
    "pt": "Atenciosamente,\n{team}",
    "nl": "Met vriendelijke groet,\n{team}",
}
TEAM = {"en": "{name} support", "es": "Soporte de {name}", "fr": "Support {name}", "de": "{name} Support"}
OPENERS: dict[str, dict[str, str]] = {
    "order_status": {
        "en": "Thanks for asking about your order. Here is what I can tell you:",
        "es": "Gracias por preguntar por su pedido. Esto es lo que puedo decirle:",
        "fr": "Merci pour votre question sur votre commande. Voici ce que je peux vous dire :",
        "de": "Danke für Ihre Frage zu Ihrer Bestellung. Folgendes kann ich Ihnen sagen:",
    },
    "refund": {
        "en": "Thanks for getting in touch about a refund.",
        "es": "Gracias por escribirnos sobre el reembolso.",
        "fr": "Merci de nous avoir contactés au sujet d'un remboursement.",
        "de": "Danke für Ihre Nachricht zur Rückerstattung.",
    },
    "replacement": {
        "en": "I'm sorry your order didn't arrive as it should.",
        "es": "Lamentamos que su pedido no llegara en buen estado.",
        "fr": "Nous sommes désolés que votre commande ne soit pas arrivée comme prévu.",
        "de": "Es tut uns leid, dass Ihre Bestellung nicht einwandfrei angekommen ist.",
    },
    "password_reset": {
        "en": "Sorry about the trouble signing in.",
        "es": "Sentimos los problemas para iniciar sesión.",
        "fr": "Désolés pour ce problème de connexion.",
        "de": "Entschuldigen Sie die Probleme bei der Anmeldung.",
    },
    "product_question": {
        "en": "Thanks for your question.",
        "es": "Gracias por su pregunta.",
        "fr": "Merci pour votre question.",
        "de": "Danke für Ihre Frage.",
    },
    "account_change": {
        "en": "Thanks for letting us know about the change.",
        "es": "Gracias por avisarnos del cambio.",
        "fr": "Merci de nous avoir informés de ce changement.",
        "de": "Danke, dass Sie uns über die Änderung informieren.",
    },
    "scheduling": {
        "en": "Thanks for reaching out about your appointment.",
        "es": "Gracias por escribirnos sobre su cita.",
        "fr": "Merci pour votre message concernant votre rendez-vous.",
        "de": "Danke für Ihre Nachricht zu Ihrem Termin.",
    },
    "other": {
        "en": "Thanks for your message.",
        "es": "Gracias por su mensaje.",
        "fr": "Merci pour votre message.",
        "de": "Danke für Ihre Nachricht.",
    },
}
HUMAN_OPENER = {
    "en": "Thanks for your message. A member of our team will look into this personally.",
    "es": "Gracias por su mensaje. Una persona de nuestro equipo revisará su caso personalmente.",
    "fr": "Merci pour votre message. Un membre de notre équipe va examiner votre demande personnellement.",
    "de": "Danke für Ihre Nachricht. Ein Mitglied unseres Teams kümmert sich persönlich darum.",
}
SOURCES_INTRO = {
    "en": "From our help center:",
    "es": "De nuestro centro de ayuda:",
    "fr": "Extrait de notre centre d'aide :",
    "de": "Aus unserem Hilfe-Center:",
}
FIELD_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "order": "Order",
        "status": "status",
        "carrier": "carrier",
        "tracking_number": "tracking number",
        "shipped_at": "shipped",
        "delivered_at": "delivered",
        "placed_at": "placed",
        "total": "total",
    },
    "es": {
        "order": "Pedido",
        "status": "estado",
        "carrier": "transportista",
        "tracking_number": "número de seguimiento",
        "shipped_at": "enviado",
        "delivered_at": "entregado",
        "placed_at": "realizado",
        "total": "total",
    },
    "fr": {
        "order": "Commande",
        "status": "statut",
        "carrier": "transporteur",
        "tracking_number": "numéro de suivi",
        "shipped_at": "expédiée",
        "delivered_at": "livrée",
        "placed_at": "passée",
        "total": "total",
    },
    "de": {
        "order": "Bestellung",
        "status": "Status",
        "carrier": "Versanddienst",
        "tracking_number": "Sendungsnummer",
        "shipped_at": "versandt",
        "delivered_at": "zugestellt",
        "placed_at": "aufgegeben",
        "total": "Summe",
    },
}
ACTION_DONE = {
    "en": "I have taken care of this: {label} ({details}).",
    "es": "Ya lo he gestionado: {label} ({details}).",
    "fr": "C'est fait : {label} ({details}).",
    "de": "Ich habe das erledigt: {label} ({details}).",
}
TOOL_LABELS = {
    "issue_refund": {"en": "refund", "es": "reembolso", "fr": "remboursement", "de": "Rückerstattung"},
    "create_replacement": {"en": "replacement", "es": "reemplazo", "fr": "remplacement", "de": "Ersatz"},
    "send_password_reset": {
        "en": "password reset link sent",
        "es": "enlace para restablecer la contraseña enviado",
        "fr": "lien de réinitialisation envoyé",
        "de": "Link zum Zurücksetzen gesendet",
    },
    "request_email_change": {
        "en": "email change requested",
        "es": "cambio de correo solicitado",
        "fr": "changement d'e-mail demandé",
        "de": "E-Mail-Änderung angefordert",
    },
    "cancel_order": {
        "en": "order cancelled",
        "es": "pedido cancelado",
        "fr": "commande annulée",
        "de": "Bestellung storniert",
    },
    "update_shipping_address": {
        "en": "shipping address updated",
        "es": "dirección de envío actualizada",
        "fr": "adresse de livraison mise à jour",
        "de": "Lieferadresse aktualisiert",
    },
    "book_appointment": {
        "en": "appointment booked",
        "es": "cita reservada",
        "fr": "rendez-vous réservé",
        "de": "Termin gebucht",
    },
}
ORDER_FIELDS = ["status", "carrier", "tracking_number", "placed_at", "shipped_at", "delivered_at", "total"]
# A quoted sentence must be at least this similar to the question to be worth quoting.
MIN_QUOTE_COSINE = 0.3
MAX_QUOTES = 3
FACT_TYPES = {"order_status", "refund", "replacement", "account_change"}
HUMAN_TYPES = {"troubleshooting", "policy_exception", "sensitive_data", "legal", "complaint"}


def _lang(table: dict[str, Any], language: str) -> str:
    return language if language in table else "en"


def _scalar(value: Any) -> str:
    text = str(value)
    if "T" in text and len(text) >= 19 and text[4] == "-":
        return text[:10]  # an ISO timestamp: the date is what a customer needs
    return text


def _order_facts(order: dict[str, Any], language: str) -> str:
    labels = FIELD_LABELS[_lang(FIELD_LABELS, language)]
    parts = []
    for key in ORDER_FIELDS:
        value = order.get(key)
        if value in (None, "", []):
            continue
        if key == "total" and order.get("currency"):
            value = f"{_scalar(value)} {order['currency']}"
        parts.append(f"{labels[key]} {_scalar(value)}")
    number = order.get("number") or order.get("order_number") or order.get("order") or ""
    return f"{labels['order']} {number}: " + ", ".join(parts) + "." if parts else ""


def tool_fact_sentences(result: dict[str, Any], language: str) -> list[str]:
    """What a tool result states, one sentence per order (or per call for other tools)."""
    tool = str(result.get("tool", ""))
    status = result.get("status")
    payload = result.get("result") or {}
    if status in ("executed", "simulated") and isinstance(payload, dict):
        orders: list[Any] = []
        if isinstance(payload.get("order"), dict):
            orders = [payload["order"]]
        elif isinstance(payload.get("orders"), list):
            orders = [o for o in payload["orders"] if isinstance(o, dict)][:3]
        elif "status" in payload and any(isinstance(payload.get(k), str) for k in ("number", "order_number", "order")):
            orders = [payload]
        sentences = [s for s in (_order_facts(o, language) for o in orders) if s]
        if sentences:
            return sentences
    if status == "held" and tool in TOOL_LABELS:
        lang = _lang(ACTION_DONE, language)
        args = result.get("args") or {}
        details = ", ".join(
            f"{k.replace('_', ' ')} {_scalar(v)}" for k, v in args.items() if not isinstance(v, dict | list)
        )
        return [ACTION_DONE[lang].format(label=TOOL_LABELS[tool][lang], details=details or tool)]
    return []


@dataclass
class Quote:
    passage_n: int
    sentence: str
    score: float


def pick_quotes(query: str, passages: list[dict[str, Any]]) -> list[Quote]:
    """The help-center sentences closest to the question, best passages first."""
    candidates: list[tuple[int, str]] = []
    for p in passages[:3]:
        for sentence in split_sentences(str(p["text"]), min_words=4)[:12]:
            candidates.append((int(p["n"]), sentence))
    if not candidates or not query.strip():
        return []
    vectors = embed([query] + [s for _, s in candidates])
    sims = vectors[1:] @ vectors[0]
    order = np.argsort(-sims)
    chosen: list[Quote] = []
    per_passage: dict[int, int] = {}
    for i in order:
        n, sentence = candidates[int(i)]
        score = float(sims[int(i)])
        if score < MIN_QUOTE_COSINE or len(chosen) >= MAX_QUOTES:
            break
        if per_passage.get(n, 0) >= 2 or any(q.sentence == sentence for q in chosen):
            continue
        per_passage[n] = per_passage.get(n, 0) + 1
        chosen.append(Quote(n, sentence, score))
    # Reading order: by passage rank, then as the article says it.
    position = {s: i for i, (_, s) in enumerate(candidates)}
    return sorted(chosen, key=lambda q: (q.passage_n, position[q.sentence]))


def compose_local(request: ChatRequest, tool_results: list[dict[str, Any]]) -> ChatDraft:
    language = request.language
    greet_lang = _lang(GREETINGS, language)
    first_name = (request.customer_name or "").split(" ")[0].strip()
    greeting = GREETINGS[greet_lang][0].format(name=first_name) if first_name else GREETINGS[greet_lang][1]
    human = request.ticket_type in HUMAN_TYPES
    table = HUMAN_OPENER if human else OPENERS.get(request.ticket_type, OPENERS["other"])
    opener_lang = _lang(table, language)
    opener = table[opener_lang]
    facts = [s for r in tool_results for s in tool_fact_sentences(r, language)]
    quotes = [] if human else pick_quotes(request.text, request.passages)
    lines = [greeting, "", opener]
    if facts:
        lines += ["", *facts]
    if quotes:
        lines += ["", SOURCES_INTRO[_lang(SOURCES_INTRO, language)]]
        lines += [f"{q.sentence} [{q.passage_n}]" for q in quotes]
    team = TEAM[_lang(TEAM, language)].format(name=request.workspace_name)
    lines += ["", CLOSINGS[greet_lang].format(team=team)]
    citations = sorted({q.passage_n for q in quotes})
    # The local self-check: does the draft hold an answer at all, and how close is it?
    check = 1.0
    if not quotes and not facts:
        check = 0.2
    elif quotes and quotes[0].score < 0.5 and max(q.score for q in quotes) < 0.5:
        check *= 0.8
    if request.ticket_type in FACT_TYPES and not facts:
        check *= 0.75
    if opener_lang != language:
        check *= 0.85
    if any(r.get("status") in ("refused", "failed") for r in tool_results):
        check *= 0.6
    if human:
        check = min(check, 0.3)
    return ChatDraft(
        reply="\n".join(lines).strip(),
        citations=citations,
        self_check=round(check, 4),
        sentences=facts + [q.sentence for q in quotes],
    )
