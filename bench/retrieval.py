"""Retrieval benchmark: `make bench-retrieval` (last line of output is JSON).

1. Quality on tau2 banking_knowledge (698 articles, 97 tasks): recall@5/@10 of each task's
   required documents for full-text only, vector only and hybrid (RRF), p50/p95 latency of
   the production `search()`, and indexing throughput of the local model (passages/s).
2. Scale: 100,000 synthetic passages (clustered random unit vectors, Zipf-distributed words):
   p95 latency of `search()` and HNSW recall@10 against exact search for a few ef_search.

Runs against its own embedded Postgres under var/bench-pg (OASIS_PGDATA overrides) in a
database it drops and re-creates, so it never touches the demo or test data.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATA = Path(os.getenv("OASIS_BENCH_DATA", str(BASE_DIR.parent / "shared" / "data" / "tau2" / "banking_knowledge")))
DB_NAME = "oasis_bench"
SCALE_PASSAGES = int(os.getenv("OASIS_BENCH_SCALE", "100000"))
PASSAGES_PER_ARTICLE = 10
SCALE_QUERIES = 200
EF_SEARCH_VALUES = (40, 100, 200)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup_django() -> None:
    pgdata = Path(os.getenv("OASIS_PGDATA", str(BASE_DIR / "var" / "bench-pg"))).resolve()
    os.environ["OASIS_PGDATA"] = str(pgdata)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
    os.environ.setdefault("OASIS_LOG_LEVEL", "WARNING")
    from oasis.embedded_pg import ensure_running

    host = ensure_running(pgdata)["HOST"]
    import psycopg

    with psycopg.connect(dbname="postgres", user="postgres", host=host, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"postgresql://postgres@/{DB_NAME}?host={host}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def doc_ranking(passage_ids: list[int], doc_of: dict[int, str]) -> list[str]:
    seen: list[str] = []
    for pid in passage_ids:
        doc = doc_of.get(pid)
        if doc is not None and doc not in seen:
            seen.append(doc)
    return seen


def recall(ranking: list[str], required: set[str], k: int) -> float:
    return len(set(ranking[:k]) & required) / len(required)


def quality_run() -> dict[str, Any]:
    from django.db import connection

    from ai import search as search_mod
    from ai.index import active_space, index_articles
    from ai.models import Passage
    from ai.providers.local import load_model
    from audit.services import Actor
    from helpdesk.helpcenter_import import import_helpcenter
    from helpdesk.models import Article
    from helpdesk.services import workspace_create

    workspace = workspace_create(name="Rho Bank", slug="rho-bank", actor=Actor.system("bench"))
    documents = sorted((DATA / "documents").glob("*.json"))
    with tempfile.TemporaryDirectory() as tmp:
        for path in documents:
            doc = json.loads(path.read_text())
            # JSON strings are valid YAML scalars, so titles with colons stay intact.
            front = f"id: {json.dumps(doc['id'])}\ntitle: {json.dumps(doc['title'])}"
            Path(tmp, f"{path.stem}.md").write_text(f"---\n{front}\n---\n{doc['content']}\n")
        report = import_helpcenter(workspace=workspace, path=tmp, actor=Actor.system("bench"), schedule_index=False)
    log(f"imported {report.counts()}")
    load_model()  # loading is a one-off per process, not indexing work
    started = time.perf_counter()
    result = index_articles(article_ids=Article.objects.filter(workspace=workspace).values_list("pk", flat=True))
    index_seconds = time.perf_counter() - started
    passages = Passage.objects.filter(workspace=workspace).count()
    rate = passages / index_seconds
    log(f"indexed {passages} passages in {index_seconds:.1f}s ({rate:.1f}/s), failed {len(result.failed)}")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ai_passage")  # what autovacuum does in production
    search_mod.reset_term_statistics()
    space = active_space(workspace.pk)
    assert space is not None
    doc_of = dict(Passage.objects.filter(workspace=workspace).values_list("pk", "article__external_id"))
    tasks = json.loads((DATA / "tasks.json").read_text())
    depth = 50  # passages per method before collapsing to documents
    methods = ("fts", "fts_or_all", "fts_and", "fts_simple", "vector", "hybrid")
    recalls: dict[str, dict[int, list[float]]] = {m: {5: [], 10: []} for m in methods}
    latencies: list[float] = []
    for task in tasks:
        required = set(task.get("required_documents") or [])
        if not required:
            continue
        query = str(task["user_scenario"]["instructions"])
        rankings = {
            "fts": search_mod.search_fts_ids(space=space, query=query, limit=depth),
            "fts_or_all": search_mod.search_fts_ids(space=space, query=query, limit=depth, mode="or_all"),
            "fts_and": search_mod.search_fts_ids(space=space, query=query, limit=depth, mode="and"),
            "fts_simple": search_mod.search_fts_ids(space=space, query=query, limit=depth, config="simple"),
            "vector": search_mod.search_vector_ids(space=space, query=query, limit=depth),
            "hybrid": [h.passage_id for h in search_mod.search(workspace=workspace, query=query, k=depth)],
        }
        for method, ids in rankings.items():
            ranking = doc_ranking(ids, doc_of)
            for k in (5, 10):
                recalls[method][k].append(recall(ranking, required, k))
        t0 = time.perf_counter()
        search_mod.search(workspace=workspace, query=query, k=5)
        latencies.append((time.perf_counter() - t0) * 1000)
    mean = {m: {k: round(statistics.mean(v), 4) for k, v in per_k.items()} for m, per_k in recalls.items()}
    log(f"recall: {json.dumps(mean)}")
    return {
        "tasks": len(latencies),
        "articles": len(documents),
        "passages": passages,
        "recall": mean,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "index_seconds": round(index_seconds, 1),
        "index_passages_per_s": round(passages / index_seconds, 1),
    }


def scale_run() -> dict[str, Any]:
    import numpy as np
    from django.db import connection, transaction
    from pgvector.psycopg import register_vector

    from ai import search as search_mod
    from ai.index import ensure_active_space
    from audit.services import Actor
    from helpdesk.models import Article
    from helpdesk.services import workspace_create

    rng = np.random.default_rng(42)
    workspace = workspace_create(name="Scale", slug="scale", actor=Actor.system("bench"))
    space = ensure_active_space(workspace)
    n_articles = SCALE_PASSAGES // PASSAGES_PER_ARTICLE
    Article.objects.bulk_create(
        [
            Article(
                workspace=workspace, title=f"Synthetic article {i}", slug=f"synthetic-{i}", body="-", source="bench"
            )
            for i in range(n_articles)
        ],
        batch_size=5000,
    )
    article_ids = list(Article.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True))

    # Clustered vectors: real embeddings have topics; uniform noise in 384-d has no neighbours.
    dims = 384
    centres = rng.standard_normal((SCALE_PASSAGES // 50, dims)).astype(np.float32)
    assignment = rng.integers(0, len(centres), SCALE_PASSAGES)
    vectors = centres[assignment] + 0.8 * rng.standard_normal((SCALE_PASSAGES, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    zipf = 1.0 / np.arange(1, len(vocabulary) + 1)
    zipf /= zipf.sum()
    words = vocabulary[rng.choice(len(vocabulary), size=(SCALE_PASSAGES, 40), p=zipf)]

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS passage_embedding_hnsw_384")
    raw = connection.connection
    register_vector(raw)
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY ai_passage (space_id, workspace_id, article_id, position, heading_path, anchor, text,"
            " content_hash, dims, embedding) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["int8", "int8", "int8", "int4", "varchar", "varchar", "text", "varchar", "int2", "vector"])
        for i in range(SCALE_PASSAGES):
            copy.write_row(
                [space.pk, workspace.pk, article_ids[i // PASSAGES_PER_ARTICLE], i % PASSAGES_PER_ARTICLE,
                 f"Synthetic article {i // PASSAGES_PER_ARTICLE}", "", " ".join(words[i]), f"{i:064d}", dims,
                 vectors[i]]
            )  # fmt: skip
    load_seconds = time.perf_counter() - t0
    log(f"copied {SCALE_PASSAGES} passages in {load_seconds:.1f}s")
    t0 = time.perf_counter()
    create_index = importlib.import_module("ai.migrations.0002_passage_hnsw").CREATE
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        cursor.execute(create_index)
        cursor.execute("ANALYZE ai_passage")
        cursor.execute("ANALYZE helpdesk_article")
    search_mod.reset_term_statistics()
    build_seconds = time.perf_counter() - t0
    log(f"built the HNSW index in {build_seconds:.1f}s")

    # HNSW recall@10 against exact search, queries near (not on) stored vectors.
    picks = rng.integers(0, SCALE_PASSAGES, SCALE_QUERIES)
    queries = vectors[picks] + 0.3 * rng.standard_normal((SCALE_QUERIES, dims)).astype(np.float32) / np.sqrt(dims)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact: list[set[int]] = []
    t0 = time.perf_counter()
    for q in queries:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
            exact.append(set(search_mod.search_vector_ids(space=space, vector=q, limit=10)))
    log(f"exact search: {1000 * (time.perf_counter() - t0) / len(queries):.1f} ms/query")
    by_ef: dict[int, dict[str, float]] = {}
    for ef in EF_SEARCH_VALUES:
        hits, times = 0, []
        for q, truth in zip(queries, exact, strict=True):
            t1 = time.perf_counter()
            found = search_mod.search_vector_ids(space=space, vector=q, limit=10, ef_search=ef)
            times.append((time.perf_counter() - t1) * 1000)
            hits += len(set(found) & truth)
        by_ef[ef] = {"recall_at_10": round(hits / (10 * len(queries)), 4), "p95_ms": round(percentile(times, 95), 2)}
        log(f"ef_search={ef}: {by_ef[ef]}")
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM ai_passage p WHERE p.space_id = %s AND p.dims = 384 "
            "ORDER BY p.embedding::vector(384) <=> %s::vector(384) LIMIT 10",
            [space.pk, "[" + ",".join(str(float(x)) for x in queries[0]) + "]"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    uses_hnsw = "passage_embedding_hnsw_384" in plan

    # End-to-end latency of the production search(): query embedding + HNSW + full text + RRF.
    latencies: list[float] = []
    for _ in range(SCALE_QUERIES):
        text = " ".join(vocabulary[rng.choice(len(vocabulary), size=4, p=zipf)])
        t1 = time.perf_counter()
        search_mod.search(workspace=workspace, query=text, k=5)
        latencies.append((time.perf_counter() - t1) * 1000)
    return {
        "passages": SCALE_PASSAGES,
        "copy_seconds": round(load_seconds, 1),
        "hnsw_build_seconds": round(build_seconds, 1),
        "uses_hnsw": uses_hnsw,
        "hnsw_by_ef_search": by_ef,
        "ef_search_in_use": search_mod.EF_SEARCH,
        "hybrid_p50_ms": round(percentile(latencies, 50), 1),
        "hybrid_p95_ms": round(percentile(latencies, 95), 1),
    }


def search_mod_ef() -> int:
    from ai.search import EF_SEARCH

    return EF_SEARCH


def main() -> None:
    setup_django()
    started = time.perf_counter()
    try:
        quality = quality_run()
        scale = scale_run()
    finally:
        from django.db import connections

        from oasis.embedded_pg import stop

        connections.close_all()
        stop(Path(os.environ["OASIS_PGDATA"]))
    recall_at = {str(k): {m: quality["recall"][m][k] for m in ("fts", "vector", "hybrid")} for k in (5, 10)}
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.processor() or platform.platform()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "quality": quality,
        "scale": scale,
        "seconds": round(time.perf_counter() - started, 1),
        "recall_at_5": recall_at["5"],
        "recall_at_10": recall_at["10"],
        "p50_ms": quality["p50_ms"],
        "p95_ms": quality["p95_ms"],
        "p95_ms_100k": scale["hybrid_p95_ms"],
        "hnsw_recall_at_10": scale["hnsw_by_ef_search"][search_mod_ef()]["recall_at_10"],
        "index_passages_per_s": quality["index_passages_per_s"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
