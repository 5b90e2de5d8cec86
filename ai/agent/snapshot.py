"""Read several small tables' rows in one round trip, as model instances.

An Agent run reads its workspace's configuration (settings, allow-list, HTTP actions, rules,
pauses, the calibration map) at the step that uses it; as separate queries, on a busy box the
reads (Python and round trip) would cost more than the run's own work. `read_rows`
asks for them in one statement: each table's matching rows come back as one JSON array
(`json_agg` in the queryset's order), built into instances with the fields' own conversions. Nothing
is cached between calls: every run reads the current rows. Meant for small configuration
tables with plain columns (text, numbers, booleans, timestamps, JSON), not vectors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import JSONField, Model, QuerySet

M = TypeVar("M", bound=Model)


def _floats(value: Any) -> Any:
    """JSON column values as json.loads gives them (numbers were parsed as Decimal)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value


def _instance(model: type[M], data: dict[str, Any]) -> M:
    fields = model._meta.concrete_fields
    values: list[Any] = []
    for f in fields:
        raw = data[f.column]
        if raw is None:
            values.append(None)
        elif isinstance(f, JSONField):
            values.append(_floats(raw))
        else:
            # Numbers were parsed as Decimal, so a numeric column keeps its exact digits and scale.
            values.append(f.to_python(raw))
    return model.from_db(DEFAULT_DB_ALIAS, [f.attname for f in fields], values)


def instance_from_json(model: type[M], text: str) -> M:
    """A model instance from its row as JSON text (`row_to_json(t)::text`, e.g. from RETURNING)."""
    return _instance(model, json.loads(text, parse_float=Decimal))


def read_rows(
    parts: Mapping[str, QuerySet[Any]], values: Mapping[str, tuple[str, Sequence[Any]]] | None = None
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Each queryset's rows (as instances of its model, in its order), and each extra SQL value,
    in one statement. The querysets are the ones their modules read alone (one definition of
    which rows count); each must select its own model's columns only (no joins in the select)."""
    columns: list[str] = []
    params: list[Any] = []
    for queryset in parts.values():
        sql, part_params = queryset.query.sql_with_params()
        # Aggregated straight from the ordered subquery, so the array keeps the queryset's order.
        columns.append(f"(SELECT coalesce(json_agg(t), '[]')::text FROM ({sql}) t)")  # noqa: S608 (compiled by the ORM)
        params.extend(part_params)
    extras = values or {}
    for sql, extra_params in extras.values():
        columns.append(f"({sql})")
        params.extend(extra_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    assert row is not None
    rows: dict[str, list[Any]] = {}
    for (name, queryset), text in zip(parts.items(), row[: len(parts)], strict=True):
        rows[name] = [_instance(queryset.model, data) for data in json.loads(text, parse_float=Decimal)]
    return rows, dict(zip(extras, row[len(parts) :], strict=True))
