import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from openbss.db.metadata import created_at, metadata

# A replayed POST with the same Idempotency-Key returns the stored response instead of acting twice.
idempotency_key = sa.Table(
    "idempotency_key",
    metadata,
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    created_at(),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response", JSONB, nullable=False),
)
