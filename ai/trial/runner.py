"""The shadow trial: import a help center, orders and tickets, run the Agent on each ticket
without sending, executing or billing anything, and write the report.

What "shadow" means here (and what the tests prove):
- everything is imported into a sandbox workspace of the trial's own (ai.trial.sandbox) with the
  live workspace's thresholds, approval rules, allow-list and shop policy copied in: the live
  workspace's help center, customers, orders, inbox and reports are never touched;
- each ticket gets an AgentRun of kind "trial": the pipeline runs with those thresholds and
  approval rules, with the Agent mode on for the decision only, and with every built-in tool
  checked as if enabled (nothing runs in a trial), so the report shows what enabling a tool the
  workspace has not enabled yet would do;
- a trial run never applies anything: no reply (so no email), no ActionRequest, no ticket type
  or decision written to the ticket, write tools only `simulated` (or `pending_approval` where
  an approval rule matches), so no Outcome can ever be billed;
- the tickets come from the shop's own helpdesk export, a trusted source: each is recorded as
  verified for its customer (method `trial_import`), so the tools look orders up as they would
  for a proven customer;
- trial tickets carry the external_id prefix "trial:" so the real Agent never picks them up, and
  each one is closed right after its run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ai import index
from ai.agent.pipeline import TRIAL_EXTERNAL_PREFIX, execute_run
from ai.models import AgentRun, RunStatus, TrialItem, TrialRun, TrialStatus
from ai.tools.policy import policy_clock
from ai.trial.inputs import InputError, TicketInput, parse_datetime_text, read_orders, read_tickets
from ai.trial.report import build_report
from ai.trial.sandbox import trial_sandbox_create
from audit.services import Actor
from helpdesk.helpcenter_crawl.sync import source_connect, sync_queue, sync_run
from helpdesk.helpcenter_import import import_helpcenter
from helpdesk.models import (
    MessageKind,
    SourceKind,
    SyncStatus,
    TicketStatus,
    VerificationMethod,
    Workspace,
)
from helpdesk.services import ticket_close, ticket_create
from helpdesk.services_identity import identity_verify
from helpdesk.shop import orders_load

logger = logging.getLogger(__name__)

ACTOR = Actor.system("trial")
SAMPLE_SEED = 9  # the same file and --sample always pick the same tickets
REVIEW_SIZE = 20  # the drafts a reviewer reads ("read 20 real drafts")
REVIEW_SEED = 20


@dataclass(frozen=True)
class TrialParams:
    helpcenter: str
    tickets: str
    orders: str = ""
    now: str = ""
    sample: int | None = None
    # A folder of files uploaded for this trial alone (the page), removed once it has run.
    uploads: str = ""
    # The tickets file's format (helpdesk.ticket_import.FORMATS, or "auto"), a CSV's column
    # mapping and, for a mailbox, the shop's own addresses (their messages are its agents' replies).
    tickets_format: str = "auto"
    csv_mapping: dict[str, str] | None = None
    support_addresses: tuple[str, ...] = ()
    # A help center by URL instead of files: crawled into the sandbox when the trial runs.
    helpcenter_url: str = ""
    helpcenter_kind: str = "auto"
    helpcenter_locale: str = ""
    page_cap: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "support_addresses": list(self.support_addresses)}


def trial_validate(params: dict[str, Any]) -> None:
    """Refuse a bad clock or sample before anything runs."""
    if params.get("now"):
        parse_datetime_text(params["now"], name="--now")
    if params.get("sample") is not None and params["sample"] < 1:
        raise InputError("--sample must be at least 1")


def trial_create(
    *, workspace: Workspace, params: TrialParams, user_id: int | None = None, status: str = TrialStatus.QUEUED
) -> TrialRun:
    """A trial, queued to run (or, for the guided page, being set up step by step)."""
    trial_validate(params.as_json())
    return TrialRun.objects.create(workspace=workspace, params=params.as_json(), created_by_id=user_id, status=status)


def trial_enqueue(*, trial: TrialRun) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("ai.trial.runner.trial_task", trial.pk, task_name=f"trial-{trial.pk}"))


def trial_task(trial_id: int) -> str:
    """django-q2 entry point: tasks take ids."""
    return str(trial_execute(trial_id=trial_id).status)


def sample_tickets(tickets: list[TicketInput], sample: int | None) -> list[TicketInput]:
    if sample is None or sample >= len(tickets):
        return tickets
    chosen = sorted(random.Random(SAMPLE_SEED).sample(range(len(tickets)), sample))
    return [tickets[i] for i in chosen]


def review_positions(count: int, size: int = REVIEW_SIZE) -> set[int]:
    """Which of `count` tickets (0-based, file order) the reviewer reads: a fixed random sample."""
    if count <= size:
        return set(range(count))
    return set(random.Random(REVIEW_SEED).sample(range(count), size))


def trial_execute(*, trial_id: int) -> TrialRun:
    """Run one trial to the end (the command calls it inline, the page through django-q2)."""
    claimed = TrialRun.objects.filter(pk=trial_id, status=TrialStatus.QUEUED).update(status=TrialStatus.RUNNING)
    trial = TrialRun.objects.select_related("workspace").get(pk=trial_id)
    if not claimed:
        return trial  # already run (a retried task) or running elsewhere
    try:
        _execute(trial)
    except InputError as exc:
        _finish(trial, TrialStatus.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("trial %s failed", trial_id)
        _finish(trial, TrialStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    finally:
        if trial.params.get("uploads"):
            # The report keeps what the trial found; the uploaded inputs (up to the upload cap
            # each time) are not kept on disk after the run, whether it succeeded or failed.
            shutil.rmtree(trial.params["uploads"], ignore_errors=True)
    trial.refresh_from_db()
    return trial


def _finish(trial: TrialRun, status: str, *, error: str = "", report: dict[str, Any] | None = None) -> None:
    TrialRun.objects.filter(pk=trial.pk).update(
        status=status, error=error[:4000], report=report or {}, finished_at=timezone.now()
    )


def _stage(trial: TrialRun, text: str) -> None:
    TrialRun.objects.filter(pk=trial.pk).update(stage=text[:200])


def _execute(trial: TrialRun) -> None:
    params = trial.params
    now = parse_datetime_text(params["now"], name="--now") if params.get("now") else None
    _stage(trial, "reading the tickets")
    tickets, input_errors = read_tickets(
        Path(params["tickets"]),
        fmt=params.get("tickets_format") or "auto",
        csv_mapping=params.get("csv_mapping"),
        support_addresses=params.get("support_addresses") or (),
    )
    if not tickets:
        raise InputError("no usable ticket: " + ("; ".join(input_errors[:10]) or "the file is empty"))
    orders = (
        read_orders(Path(params["orders"]), default_currency=trial.workspace.currency) if params.get("orders") else None
    )
    chosen = sample_tickets(tickets, params.get("sample"))
    TrialRun.objects.filter(pk=trial.pk).update(total=len(chosen), progress=0)
    workspace = trial_sandbox_create(trial=trial)

    helpcenter, changed = _import_helpcenter(trial, workspace)
    loaded = orders_load(workspace=workspace, data=orders, actor=ACTOR) if orders is not None else None
    # The reviewer's drafts run first: the review opens as soon as they are done, while the rest
    # of the tickets (for the rates and the cost) are still running.
    review = review_positions(len(chosen))
    first = review_first_articles(workspace, [chosen[i].body for i in sorted(review)], changed)
    # The trial searches the help center right away: it is indexed now, not in the background;
    # a large one in two parts, the articles the review's tickets need first (see the function).
    _index(trial, first)
    _warm_up(workspace)
    order = sorted(range(len(chosen)), key=lambda i: (i not in review, i))
    rest = [a for a in changed if a not in set(first)]
    with policy_clock(now):
        for done, at in enumerate(order, start=1):
            if rest and at not in review:
                _index(trial, rest)
                rest = []
            _stage(trial, f"drafting: {done} of {len(chosen)} tickets")
            _run_one(trial, workspace, chosen[at], at + 1, in_review=at in review)
            TrialRun.objects.filter(pk=trial.pk).update(progress=F("progress") + 1)
    if rest:
        _index(trial, rest)  # a trial of the review's tickets alone still leaves a whole index
    _stage(trial, "writing the report")

    context = {
        "input_errors": input_errors,
        "tickets_in_file": len(tickets),
        "ticket_dates": [t.created_at.isoformat() for t in tickets if t.created_at is not None],
        "helpcenter": helpcenter,
        "orders": ({"created": loaded.created, "updated": loaded.updated, "items": loaded.items} if loaded else None),
        "sandbox": workspace.slug,
        "now": now.isoformat() if now else None,
    }
    report = build_report(trial=trial, context=context)
    _finish(trial, TrialStatus.DONE, report=report)


# Up to this many articles are indexed before any draft; a larger help center is indexed in two
# parts. Embedding is what a large help center waits on (the local model does ~80 passages/s on
# two idle cores, far fewer on a busy box).
INDEX_ALL_FIRST = 150
ARTICLES_PER_REVIEW_TICKET = 8


def review_first_articles(workspace: Workspace, questions: list[str], article_ids: list[int]) -> list[int]:
    """The articles to index before the review's drafts: all of a small help center; of a large
    one, the best full-text matches of each review ticket's words over the articles' text. Both
    halves of the drafts' hybrid search (vector and full text) then rank these candidates, the
    ones a whole index would most likely rank first for those tickets; the rest is indexed before
    the other tickets run."""
    if len(article_ids) <= INDEX_ALL_FIRST:
        return list(article_ids)
    chosen: dict[int, None] = {}
    sql = """
        SELECT a.id FROM helpdesk_article a,
        CAST(replace(plainto_tsquery('english', %s)::text, ' & ', ' | ') AS tsquery) q
        WHERE a.workspace_id = %s AND a.id = ANY(%s)
          AND to_tsvector('english', a.title || ' ' || a.body) @@ q
        ORDER BY ts_rank(to_tsvector('english', a.title || ' ' || a.body), q) DESC, a.id
        LIMIT %s
    """
    with connection.cursor() as cursor:
        for question in questions:
            if not question.strip():
                continue
            cursor.execute(sql, [question[:2000], workspace.pk, list(article_ids), ARTICLES_PER_REVIEW_TICKET])
            chosen.update(dict.fromkeys(row[0] for row in cursor.fetchall()))
    return list(chosen) or list(article_ids)


def _index(trial: TrialRun, article_ids: list[int]) -> None:
    _stage(trial, f"indexing the help center: {len(article_ids)} articles")
    index.index_articles(
        article_ids=article_ids,
        progress=lambda done, total: _stage(trial, f"indexing the help center: {done} of {total} articles"),
    )


def _import_helpcenter(trial: TrialRun, workspace: Workspace) -> tuple[dict[str, Any], list[int]]:
    """The trial's help center into its sandbox, from files or crawled from its URL: (the report's
    help-center section, the ids of the articles to index)."""
    params = trial.params
    if params.get("helpcenter_url"):
        source = source_connect(
            workspace=workspace,
            url=params["helpcenter_url"],
            actor=ACTOR,
            kind=params.get("helpcenter_kind") or SourceKind.AUTO,
            locale=params.get("helpcenter_locale") or "",
            page_cap=params.get("page_cap") or settings.OASIS_CRAWL_MAX_PAGES,
            resync_hours=0,  # a trial's sandbox is read once
        )
        queued = sync_queue(source=source, actor=ACTOR)
        _stage(trial, "help center: connecting")
        sync = sync_run(
            sync_id=queued.pk,
            actor=ACTOR,
            schedule_index=False,
            progress=lambda done, total: _stage(trial, f"help center: {done} of {total} pages"),
        )
        if sync.status != SyncStatus.DONE or not sync.report.get("changed_article_ids"):
            raise InputError(f"help center {source.url}: {sync.error or 'no article could be imported'}")
        report = {k: v for k, v in sync.report.items() if k != "changed_article_ids"}
        return {"url": source.url, **report}, list(sync.report["changed_article_ids"])
    _stage(trial, "importing the help center")
    imported = import_helpcenter(workspace=workspace, path=params["helpcenter"], actor=ACTOR, schedule_index=False)
    if imported.failed and not (imported.created or imported.updated or imported.unchanged):
        raise InputError("help center: nothing imported: " + "; ".join(f"{o}: {r}" for o, r in imported.failed[:10]))
    return imported.counts() | {"failures": [f"{o}: {r}" for o, r in imported.failed[:50]]}, imported.changed_ids


def _warm_up(workspace: Workspace) -> None:
    """Load the local models once before the first ticket, so its time budget is not spent on that."""
    from ai.agent.triage import triage
    from ai.search import search

    triage("Where is my order?", workspace_id=workspace.pk)
    search(workspace=workspace, query="Where is my order?", k=1)


def _run_one(trial: TrialRun, workspace: Workspace, item: TicketInput, position: int, *, in_review: bool) -> None:
    ticket = ticket_create(
        workspace=workspace,
        channel=item.channel,
        customer_email=item.customer_email,
        customer_name=item.customer_name,
        subject=item.subject,
        body=item.body,
        actor=ACTOR,
        external_id=f"{TRIAL_EXTERNAL_PREFIX}{item.external_id}",
        created_at=item.created_at,
    )
    identity_verify(
        ticket=ticket,
        method=VerificationMethod.TRIAL_IMPORT,
        actor=ACTOR,
        evidence={"trial": trial.pk, "external_id": item.external_id},
    )
    message = ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("created_at", "pk").first()
    run = AgentRun.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        trigger_message=message,
        kind="trial",
        status=RunStatus.RUNNING,
    )
    TrialItem.objects.create(
        trial=trial,
        ticket=ticket,
        run=run,
        external_id=item.external_id,
        position=position,
        agent_reply=item.agent_reply,
        in_review=in_review,
    )
    execute_run(run=run, message=message, shadow=True)
    ticket.refresh_from_db()
    if ticket.status != TicketStatus.CLOSED:
        ticket_close(ticket=ticket, actor=ACTOR, reason=f"trial {trial.pk}: shadow run only")


def trial_now(trial: TrialRun) -> dt.datetime | None:
    value = (trial.params or {}).get("now")
    return parse_datetime_text(value, name="now") if value else None
