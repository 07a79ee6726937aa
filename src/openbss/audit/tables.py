import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from openbss.db.metadata import created_at, id_column, metadata, uuid_ref

audit_record = sa.Table(
    "audit_record",
    metadata,
    id_column(),
    created_at(),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("entity_type", sa.Text, nullable=False),
    uuid_ref("entity_id", index=True),
    sa.Column("before", JSONB),
    sa.Column("after", JSONB),
)
