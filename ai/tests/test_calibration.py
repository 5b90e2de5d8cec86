from __future__ import annotations

import random

import pytest

from ai.agent.confidence import score
from ai.calibration import apply_map, calibration_refit, fit_isotonic, reliability, reliability_svg
from ai.copilot import draft_feedback_record
from ai.models import AgentRun, CalibrationMap
from ai.schedules import setup_schedules
from audit.models import AuditEvent


def test_pool_adjacent_violators_gives_a_monotone_least_squares_fit():
    points = fit_isotonic([0.1, 0.2, 0.3, 0.4, 0.5], [0, 1, 0, 1, 1])
    values = [p[1] for p in points]
    assert values == sorted(values)
    # 0.2 and 0.3 violate the order and pool to their mean.
    assert apply_map(points, 0.1) == 0.0 and apply_map(points, 0.25) == pytest.approx(0.5)
    assert apply_map(points, 0.45) == 1.0


def test_reliability_bins_and_ece():
    bins, ece = reliability([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 0])
    assert [(b["n"], b["accuracy"]) for b in bins] == [(2, 0.0), (2, 0.5)]
    assert ece == pytest.approx(0.5 * 0.05 + 0.5 * 0.45)
    assert reliability_svg(bins).startswith("<svg") and "<circle" in reliability_svg(bins)


def test_it_refits_from_feedback_and_scores_with_the_map(workspace, ticket, agent):
    rng = random.Random(3)
    for _ in range(40):
        raw = rng.random()
        run = AgentRun.objects.create(workspace=workspace, ticket=ticket, kind="copilot", raw_confidence=raw)
        # Over-confident raw scores: right only about half as often as they claim.
        verdict = "sent_unchanged" if rng.random() < raw / 2 else rng.choice(["edited", "discarded"])
        draft_feedback_record(run=run, user=agent, verdict=verdict, reason="")
    row = calibration_refit(workspace=workspace)
    assert row is not None and row.samples == 40 and 0 <= row.ece <= 1 and row.reliability
    # Every ask covered, its action done, triage and retrieval sure, every detail grounded.
    sure = dict.fromkeys(
        ["covered", "all_covered", "action", "act_done", "question", "triage", "margin", "grounded", "english"], 1.0
    )
    confidence = score(workspace_id=workspace.pk, parts=sure)
    # The feedback says such scores are right about half as often as claimed: the map lowers it.
    assert confidence.raw > 0.9 and confidence.value < 0.75 and confidence.calibration_map == row.pk
    assert AuditEvent.objects.filter(kind="feedback.recorded").count() == 40
    assert AuditEvent.objects.filter(kind="ai.calibrated", data__map=row.pk).exists()


def test_it_waits_for_enough_feedback(workspace, ticket, agent):
    run = AgentRun.objects.create(workspace=workspace, ticket=ticket, kind="copilot", raw_confidence=0.7)
    draft_feedback_record(run=run, user=agent, verdict="approved", reason="")
    assert calibration_refit(workspace=workspace) is None and not CalibrationMap.objects.exists()


def test_the_refit_is_scheduled(db):
    from django_q.models import Schedule

    assert Schedule.objects.filter(name="ai.calibration_refit", func="ai.tasks_agent.calibration_refit_task").exists()
    assert setup_schedules() == 1 and Schedule.objects.filter(name="ai.calibration_refit").count() == 1
