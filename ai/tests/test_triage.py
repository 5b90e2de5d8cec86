from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command

from ai.agent import softmax
from ai.agent.language import detect_language
from ai.agent.sentiment import sentiment
from ai.agent.triage import model_for, model_path, triage
from audit.redaction import iban_valid, luhn_valid, redact
from audit.services import Actor
from helpdesk.services import ticket_create, ticket_resolve, ticket_set_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my parcel? The tracking hasn't changed in days.", "order_status"),
        ("I sent the shoes back last week, when will I get my money back?", "refund"),
        ("The mug arrived smashed to pieces, please send another one.", "replacement"),
        ("I can't sign in, the reset email never comes.", "password_reset"),
        ("Is the wool sweater machine washable?", "product_question"),
        ("Please update the shipping address on my account, I moved.", "account_change"),
        ("Can I move my fitting appointment to Thursday?", "scheduling"),
        ("Je n'ai toujours pas reçu ma commande, où est-elle ?", "order_status"),
    ],
)
def test_it_classifies_unseen_messages(text, expected):
    result = triage(text)
    assert result.ticket_type == expected, result.scores
    assert 0 < result.type_confidence <= 1


@pytest.mark.parametrize(
    ("text", "ticket_type", "rule"),
    [
        ("If this isn't fixed I'm calling my attorney.", "legal", "legal threat"),
        ("I have filed a chargeback with my bank.", "legal", "chargeback"),
        ("Under GDPR, delete all my personal data.", "legal", "data-protection request"),
        ("Let me talk to a real person please.", "complaint", "asks for a human"),
        ("My card is 4111-1111-1111-1111, use it.", "sensitive_data", "sensitive data: card"),
    ],
)
def test_rules_force_human_needed_types(text, ticket_type, rule):
    result = triage(text)
    assert (result.ticket_type, result.rule, result.type_confidence) == (ticket_type, rule, 1.0)


def test_it_redacts_cards_ids_ibans_credentials_and_health_terms():
    text = (
        "Card 4111 1111 1111 1111, SSN 123-45-6789, IBAN DE89 3704 0044 0532 0130 00, "
        "password: hunter22, key sk-abcdefghijklmnop1234, I was diagnosed with diabetes."
    )
    result = redact(text)
    assert result.kinds == ["card", "credential", "health", "iban", "national_id"]
    for secret in ("4111", "123-45-6789", "DE89", "hunter22", "sk-abcdef", "diabetes"):
        assert secret not in result.text
    assert "[REDACTED CARD]" in result.text and "[REDACTED IBAN]" in result.text


def test_it_does_not_redact_ordinary_numbers_and_words():
    text = "Order A1001 for 2 items, tracking 1Z999AA10123456784, please reset my password, it is not working."
    assert redact(text).text == text
    assert not luhn_valid("4111111111111112") and luhn_valid("4111111111111111")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB83 WEST 1234 5698 7654 32")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hi, where is my order? Thanks", "en"),
        ("Hola, ¿dónde está mi pedido? Gracias", "es"),
        ("Bonjour, je n'ai pas reçu ma commande, merci", "fr"),
        ("Hallo, meine Bestellung ist noch nicht angekommen, danke", "de"),
        ("Ciao, il mio ordine non è arrivato, grazie", "it"),
        ("Hallo, mijn bestelling is niet aangekomen, bedankt", "nl"),
    ],
)
def test_it_detects_the_language(text, language):
    assert detect_language(text) == language


def test_it_reads_sentiment():
    assert sentiment("This is unacceptable, worst service ever!!")[0] == "negative"
    assert sentiment("Thanks, great help, I love it")[0] == "positive"
    assert sentiment("Where is my order?")[0] == "neutral"


def test_softmax_probabilities_are_calibrated_by_a_fitted_temperature():
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (60, 5)) + 1.5, rng.normal(0, 1, (60, 5)) - 1.5])
    y = ["a"] * 60 + ["b"] * 60
    model = softmax.fit_calibrated(x, y, epochs=200)
    probs = model.predict_proba(x)
    accuracy = float(np.mean([model.labels[i] == t for i, t in zip(probs.argmax(1), y, strict=True)]))
    assert accuracy > 0.95 and model.temperature > 0
    assert softmax.macro_f1(["a", "b", "a"], ["a", "b", "b"]) == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_train_triage_learns_the_workspaces_own_tickets(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_TRIAGE_DIR", str(tmp_path))
    phrase = "the flux capacitor on my hoverboard is humming"
    assert triage(phrase, workspace_id=workspace.pk).ticket_type != "scheduling"
    actor = Actor.system("test")
    for i in range(12):
        ticket = ticket_create(
            workspace=workspace, channel="email", customer_email=f"c{i}@x.test", subject="", body=f"{phrase} {i}"
        )
        ticket_set_type(ticket=ticket, ticket_type="scheduling", actor=actor)
        ticket_resolve(ticket=ticket, actor=actor)
    call_command("train_triage", workspace="acme")
    assert model_path(workspace.pk).is_file()
    assert "scheduling" in model_for(workspace.pk).labels
    assert triage(phrase, workspace_id=workspace.pk).ticket_type == "scheduling"


def test_the_seed_model_is_trained_once_per_machine_and_a_bad_file_is_retrained(tmp_path, monkeypatch):
    from ai.agent import triage as triage_mod

    monkeypatch.setenv("OASIS_TRIAGE_DIR", str(tmp_path))
    triage_mod.seed_model.cache_clear()
    try:
        trained = triage_mod.seed_model()
        (saved,) = tmp_path.glob("seed-*.npz")
        triage_mod.seed_model.cache_clear()
        loaded = triage_mod.seed_model()
        assert loaded is not trained and loaded.labels == trained.labels
        assert np.array_equal(loaded.weights, trained.weights) and loaded.temperature == trained.temperature

        saved.write_bytes(b"half a file")
        triage_mod.seed_model.cache_clear()
        retrained = triage_mod.seed_model()
        assert np.allclose(retrained.weights, trained.weights)
        with np.load(saved) as data:  # the bad file was replaced by a good one
            assert list(data["labels"]) == trained.labels
        assert [p.name for p in tmp_path.iterdir()] == [saved.name]  # no temporary files left
    finally:
        triage_mod.seed_model.cache_clear()
