"""The vector half of a search outside a transaction: one round trip, the same passages."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ai.index import active_space
from ai.search import embed_query, search_vector_ids
from ai.tests.test_index import helpcenter  # noqa: F401 (the fixture)


@pytest.mark.django_db(transaction=True)
def test_it_searches_vectors_in_one_round_trip_with_the_same_result(helpcenter, workspace):  # noqa: F811
    space = active_space(workspace.pk)
    assert space is not None
    vector = embed_query(space, "when will my package arrive")
    with CaptureQueriesContext(connection) as queries:
        fast = search_vector_ids(space=space, vector=vector, limit=5)
    assert len(queries.captured_queries) == 1
    with transaction.atomic():
        slow = search_vector_ids(space=space, vector=vector, limit=5)
    assert fast and fast == slow
    # The search settings were local to the statements' own transaction.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')")
        assert cursor.fetchone() == ("40", "off")
