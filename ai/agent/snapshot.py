"""Read several small tables' rows in one round trip, as model instances.

An Agent run reads its workspace's configuration (settings, allow-list, HTTP actions, rules,
pauses, the calibration map) at the step that uses it; each read used to be its own query, and
on a busy box the queries (Python and round trip) cost more than the run's own work. `read_rows`
asks for them in one statement: each table's matching rows come back as one JSON array
(`json_agg` in the given order), built into instances with the fields' own conversions. Nothing
is cached between calls: every run reads the current rows. Meant for small configuration
tables with plain columns (text, numbers, booleans, timestamps, JSON), not vectors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import JSONField, Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Rows:
    """One table's rows: SQL conditions and order over the alias `t`, with their parameters."""

    model: type[Model]
    where: str
    params: Sequence[Any] = ()
    order: str = "t.id"
    limit: int | None = None


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
    parts: Mapping[str, Rows], values: Mapping[str, tuple[str, Sequence[Any]]] | None = None
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Each part's rows (as instances of its model), and each extra SQL value, in one statement."""
    columns: list[str] = []
    params: list[Any] = []
    for part in parts.values():
        table = part.model._meta.db_table
        # The conditions and order are the caller's constant SQL; values are parameters.
        inner = f"SELECT * FROM {connection.ops.quote_name(table)} t WHERE {part.where}"  # noqa: S608
        if part.limit is not None:
            inner += f" ORDER BY {part.order} LIMIT {int(part.limit)}"
        columns.append(f"(SELECT coalesce(json_agg(t ORDER BY {part.order}), '[]')::text FROM ({inner}) t)")  # noqa: S608
        params.extend(part.params)
    extras = values or {}
    for sql, extra_params in extras.values():
        columns.append(f"({sql})")
        params.extend(extra_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    assert row is not None
    rows: dict[str, list[Any]] = {}
    for (name, part), text in zip(parts.items(), row[: len(parts)], strict=True):
        rows[name] = [_instance(part.model, data) for data in json.loads(text, parse_float=Decimal)]
    return rows, dict(zip(extras, row[len(parts) :], strict=True))
