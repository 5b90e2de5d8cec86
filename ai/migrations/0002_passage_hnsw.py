"""HNSW index (cosine) over the 384-dimension vectors of the offline model.

The embedding column is untyped so spaces of other sizes share the table; an index needs a
fixed size, hence the cast and the partial predicate. Queries must use the same expression:
`embedding::vector(384) <=> %s::vector(384)` with `dims = 384` (see ai/search.py).
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX passage_embedding_hnsw_384 ON ai_passage "
    "USING hnsw ((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64) "
    "WHERE dims = 384"
)


class Migration(migrations.Migration):
    dependencies = [("ai", "0001_knowledge_index")]

    operations = [migrations.RunSQL(CREATE, "DROP INDEX IF EXISTS passage_embedding_hnsw_384")]
